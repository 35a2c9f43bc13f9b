"""The HTTP side of the local server: init, the REST endpoints, and the WebSocket route.

Errors use Gladia's body, aiohttp's own ones (413, 404, 405) included; bodies are parsed
defensively (server/http.py: what the pre-recorded routes share). Every endpoint needs
`x-gladia-key`; when the server was given a key, only that key is accepted, and without
one a session is visible only to the key that created it (others get 404). Only loopback
`Host` and `Origin` headers are answered unless more are allowed (host_check).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from gladia_cli.protocol import init_config
from gladia_cli.protocol.closing import SESSION_FINISHED
from gladia_cli.server import callback_policy
from gladia_cli.server.addons.runner import AddonRunner
from gladia_cli.server.clock import Clock, LoopClock
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.connection_limit import OUT_OF_DESCRIPTORS
from gladia_cli.server.data_dir import DataDir
from gladia_cli.server.host_check import HostPolicy
from gladia_cli.server.http import (
    MAX_BODY_BYTES,
    SWEEP_EVERY,
    BadBody,
    BodyTimeout,
    gladia_error,
    list_page,
    matches,
    page_bounds,
    parse_json_body,
    read_body,
    request_id,
    request_owner,
)
from gladia_cli.server.live.callbacks import CallbackPoster
from gladia_cli.server.live.live_session import LiveSession
from gladia_cli.server.live.session_store import Session, SessionStore
from gladia_cli.server.live.stored_session import StoredSession, restore_sessions
from gladia_cli.server.live.websocket import FAULTS, live_socket
from gladia_cli.server.recognition.transcriber_pool import transcribers_for, translator_of

log = logging.getLogger("gladia.server")

POST_SESSION_METADATA_MAX_BYTES = 100 * 1024


class LiveRoutes:
    """Route handlers, sharing the server's state."""

    def __init__(self, config: ServerConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        # The sessions' and jobs' files: removed with the server, or kept in --data-dir
        # (first: a folder in use fails the start before any model is loaded).
        self.data = DataDir.at(Path(config.data_dir)) if config.data_dir else DataDir.temporary()
        self.directory = str(self.data.live)
        self.transcribers = transcribers_for(
            config.engine,
            config.script_path,
            config.workers,
            model=config.model,
            decoders=config.decoders,
            faults=config.faults.recognition,
        )
        # Threads that call the recognisers (or wait on their processes' pipes).
        self.executor = ThreadPoolExecutor(
            max(4, 2 * config.workers), thread_name_prefix="recognizer"
        )
        # The add-ons' own worker threads (models loaded on first use); translation
        # borrows the whisper engine's model when it can translate.
        self.addons = AddonRunner(config.addon_models, translator_of(self.transcribers))
        self.store = SessionStore(
            clock, ttl=config.session_ttl, max_finished=config.max_stored_sessions
        )
        self.sessions = self.store.by_id
        self.init_failures = deque(config.faults.init_failures)
        self.callbacks = CallbackPoster(allow_link_local=config.allow_link_local_callbacks)
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    def authorized(self, request: web.Request) -> bool:
        key = request.headers.get("x-gladia-key", "")
        if not key:
            return False
        return self.config.api_key is None or secrets.compare_digest(key, self.config.api_key)

    def _session(self, request: web.Request) -> Session | None:
        return self.store.get(request.match_info["id"], request_owner(request))

    async def start(self, app: web.Application) -> None:
        if self.data.persistent:
            for stored in restore_sessions(self.data.live, self.clock):
                self.store.add(stored)
        self._sweeper = asyncio.get_running_loop().create_task(
            self.store.sweep_forever(min(SWEEP_EVERY, self.config.session_ttl))
        )

    async def init(self, request: web.Request) -> web.Response:
        if self.init_failures:
            status = self.init_failures.popleft()
            return gladia_error(request, status, f"injected failure ({status})")
        region = request.query.get("region")
        if region is not None and region not in init_config.REGIONS:
            regions = ", ".join(init_config.REGIONS)
            return gladia_error(
                request,
                400,
                "Bad Request",
                [f"region must be one of the following values: {regions}"],
            )
        try:
            body = parse_json_body(await read_body(request))
        except BodyTimeout as exc:
            return gladia_error(request, 408, str(exc))
        except BadBody as exc:
            return gladia_error(request, 400, "Bad Request", [str(exc)])
        errors = init_config.validate(body, strict=self.config.strict_init)
        if not errors and not self.config.allow_link_local_callbacks:
            url = (body.get("callback_config") or {}).get("url")
            problem = callback_policy.url_problem(url) if isinstance(url, str) else None
            if problem:
                errors = [f"callback_config.url {problem}"]
        if errors:
            return gladia_error(request, 400, "Bad Request", errors)
        problems = init_config.semantic_errors(body)
        if problems:
            return gladia_error(request, 422, "Invalid parameter", problems)
        limit = self.config.max_sessions
        self.store.sweep()
        if limit is not None and self.store.active() >= limit:
            return gladia_error(request, 429, f"too many concurrent live sessions (limit {limit})")

        session = LiveSession(
            session_id=str(uuid.uuid4()),
            token=str(uuid.uuid4()),
            request_id=request_id(),
            config=init_config.with_defaults(body),
            transcribers=self.transcribers,
            server=self.config,
            executor=self.executor,
            clock=self.clock,
            owner=request_owner(request),
            store_directory=self.directory,
            durable=self.data.persistent,
            addons=self.addons,
            on_callback=self.callbacks,
        )
        self.store.add(session)
        scheme = "wss" if request.secure else "ws"
        url = f"{scheme}://{request.host}/v2/live?token={session.token}"
        log.info("session %s: created (%d channel(s))", session.id, session.fmt.channels)
        return web.json_response(
            {"id": session.id, "created_at": session.created_at, "url": url}, status=201
        )

    async def live(self, request: web.Request) -> web.StreamResponse:
        """`GET /v2/live`: the WebSocket when it carries a token and asks to upgrade, else
        the list of sessions."""
        if _is_socket_upgrade(request):
            session = self.store.by_token_of(request.query["token"])
            if isinstance(session, StoredSession):
                return await refuse_socket(request, SESSION_FINISHED, _restored_reason(session))
            return await live_socket(request, session, self.clock)
        return await self.list(request)

    async def list(self, request: web.Request) -> web.Response:
        try:
            offset, limit = page_bounds(request)
        except ValueError as exc:
            return gladia_error(request, 400, "Bad Request", [str(exc)])
        try:
            mine = self.store.visible(request_owner(request))
            matching = [s for s in mine if matches(s, request)]
        except ValueError as exc:
            return gladia_error(request, 400, "Bad Request", [str(exc)])
        return list_page(request, matching, offset, limit)

    async def get(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is None:
            return gladia_error(request, 404, "Not found")
        return web.json_response(session.describe())

    async def delete(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is None:
            return gladia_error(request, 404, "Not found")
        if session.status == "processing":
            return gladia_error(request, 403, "session is still processing and cannot be deleted")
        await self.store.remove(session)
        return web.Response(status=202)

    async def file(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        if session is None or session.store.size == 0:
            return gladia_error(request, 404, "Not found")
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{session.id}.wav"',
            }
        )
        await response.prepare(request)
        for block in session.store.iter_wav(session.fmt, skip=session.header_bytes or 0):
            await response.write(block)
        await response.write_eof()
        return response

    async def patch(self, request: web.Request) -> web.Response:
        session = self._session(request)
        if session is None:
            return gladia_error(request, 404, "Not found")
        try:
            raw = await read_body(request)
        except BodyTimeout as exc:
            return gladia_error(request, 408, str(exc))
        if len(raw) > POST_SESSION_METADATA_MAX_BYTES:
            return gladia_error(request, 413, "post_session_metadata is larger than 100 KB")
        try:
            body = parse_json_body(raw)
        except BadBody as exc:
            return gladia_error(request, 400, "Bad Request", [str(exc)])
        metadata = body.get("post_session_metadata", body) if isinstance(body, dict) else None
        if not isinstance(metadata, dict):
            return gladia_error(
                request, 400, "Bad Request", ["post_session_metadata must be an object"]
            )
        session.post_session_metadata = metadata
        return web.Response(status=204)

    async def shutdown(self, app: web.Application | None = None) -> None:
        """Live connections get what is due, then 1001; every session and file goes.

        Runs before aiohttp's own shutdown (see `shut_down`): that one stops reading every
        connection first, so no client's close reply would arrive.
        """
        if self._closed:
            return
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        sessions = list(self.sessions.values())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(s.flush_outbox() for s in sessions), return_exceptions=True),
                timeout=1.0,
            )
        await self.store.close_all(keep_files=self.data.persistent)
        await self.callbacks.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.addons.close()
        self.transcribers.close()
        self.data.close()


API: web.AppKey[LiveRoutes] = web.AppKey("api", LiveRoutes)


def _restored_reason(session: StoredSession) -> str:
    if session.interrupted:
        return "the server restarted during the session; what it stored is kept"
    return "session already finished"


async def refuse_socket(request: web.Request, code: int, reason: str) -> web.WebSocketResponse:
    """Upgrade, then close at once with `code` (a WebSocket client reads no HTTP status)."""
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    await ws.close(code=code, message=reason.encode()[:123])
    return ws


def _is_socket_upgrade(request: web.Request) -> bool:
    """`GET /v2/live?token=…` asking for a WebSocket: the token is its credential."""
    return "token" in request.query and request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


def _middlewares(config: ServerConfig, routes: LiveRoutes) -> list[Middleware]:
    hosts = list(config.allowed_hosts)
    if not config.loopback and config.host not in ("0.0.0.0", "::", ""):
        hosts.append(config.host)  # the address the server was bound to
    policy = HostPolicy(tuple(hosts))
    out_of_descriptors = OutOfDescriptors()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not policy.accepts_host(request.headers.get(hdrs.HOST)):
            return gladia_error(request, 403, "host not allowed (see gladia serve --allow-host)")
        if not policy.accepts_origin(request.headers.get(hdrs.ORIGIN)):
            return gladia_error(request, 403, "origin not allowed (see gladia serve --allow-host)")
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            # aiohttp's own errors (413 body too large, 404, 405) in Gladia's shape.
            return gladia_error(request, exc.status, exc.reason)
        except OSError as exc:
            if exc.errno not in OUT_OF_DESCRIPTORS:
                raise
            # A file the request needed could not be opened: the client may retry.
            out_of_descriptors.failed(request.path)
            return gladia_error(request, 503, "the server is out of file descriptors: retry later")
        out_of_descriptors.succeeded()
        return response

    @web.middleware
    async def require_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every route wants `x-gladia-key` but the WebSocket; paths and methods that match
        no route keep their 404 and 405."""
        needs_key = (
            request.match_info.http_exception is None
            and not _is_socket_upgrade(request)
            # An injected init failure answers before the key is read, as a failing proxy.
            and not (routes.init_failures and request.match_info.handler == routes.init)
        )
        if needs_key and not routes.authorized(request):
            return gladia_error(request, 401, "gladia key not found")
        return await handler(request)

    return [guard, require_key]


class OutOfDescriptors:
    """Requests that failed for want of a file descriptor: one log line per episode."""

    def __init__(self) -> None:
        self.failures = 0

    def failed(self, path: str) -> None:
        if not self.failures:
            log.error(
                "out of file descriptors (at %s): requests get 503 until some close; "
                "raise the limit (ulimit -n)",
                path,
            )
        self.failures += 1

    def succeeded(self) -> None:
        if self.failures:
            log.warning("file descriptors available again (%d requests got 503)", self.failures)
            self.failures = 0


def create_app(config: ServerConfig, clock: Clock | None = None) -> web.Application:
    api = LiveRoutes(config, clock or LoopClock())
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=_middlewares(config, api))
    app[FAULTS] = config.faults
    app[API] = api
    app.router.add_post("/v2/live", api.init)
    app.router.add_get("/v2/live", api.live)
    app.router.add_get("/v2/live/{id}", api.get)
    app.router.add_delete("/v2/live/{id}", api.delete)
    app.router.add_patch("/v2/live/{id}", api.patch)
    app.router.add_get("/v2/live/{id}/file", api.file)
    from gladia_cli.server.prerecorded import (
        routes as prerecorded,
    )  # it builds on this module's helpers

    prerecorded.register(app, api)
    app.on_startup.append(api.start)
    app.on_shutdown.append(api.shutdown)
    return app


async def shut_down(runner: web.AppRunner) -> None:
    """Stop a server: sessions and their connections first (1001), then aiohttp."""
    api = runner.app[API]
    await api.shutdown()
    await runner.cleanup()
