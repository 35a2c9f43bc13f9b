"""The live routes: init (`POST /v2/live`), the WebSocket, and the REST view of sessions.

Each session's traffic goes to its `LiveSession` (live_session.py) through the socket
driver (websocket.py). The routes are handed the server's `ServerResources` (the engine,
the folder, the clock: resources.py); app.py lays them on the router with the key check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque

from aiohttp import hdrs, web

from gladia_cli.protocol import init_config
from gladia_cli.protocol.closing import SESSION_FINISHED
from gladia_cli.server import callback_policy
from gladia_cli.server.http import (
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
from gladia_cli.server.live.connection_faults import connections
from gladia_cli.server.live.live_session import LiveSession
from gladia_cli.server.live.session_store import Session, SessionStore
from gladia_cli.server.live.stored_session import StoredSession, restore_sessions
from gladia_cli.server.live.websocket import live_socket
from gladia_cli.server.resources import ServerResources

log = logging.getLogger("gladia.server")

POST_SESSION_METADATA_MAX_BYTES = 100 * 1024


class LiveRoutes:
    """The live route handlers, over the server's shared resources and its sessions."""

    def __init__(self, resources: ServerResources) -> None:
        config, clock = resources.config, resources.clock
        self.resources = resources
        self.config = config
        self.clock = clock
        self.data = resources.data
        self.directory = str(self.data.live)
        self.store = SessionStore(
            clock, ttl=config.session_ttl, max_finished=config.max_stored_sessions
        )
        self.sessions = self.store.by_id
        self.init_failures = deque(config.faults.init_failures)
        self.callbacks = CallbackPoster(allow_link_local=config.allow_link_local_callbacks)
        # Plain connections, or faulty ones when `gladia serve` asks (connection_faults.py).
        self.connect = connections(config.faults, clock)
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False

    def _session(self, request: web.Request) -> Session | None:
        return self.store.get(request.match_info["id"], request_owner(request))

    async def start(self) -> None:
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
            transcribers=self.resources.transcribers,
            server=self.config,
            executor=self.resources.executor,
            clock=self.clock,
            owner=request_owner(request),
            store_directory=self.directory,
            durable=self.data.persistent,
            addons=self.resources.addons,
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
        if is_socket_upgrade(request):
            session = self.store.by_token_of(request.query["token"])
            if isinstance(session, StoredSession):
                return await refuse_socket(request, SESSION_FINISHED, _restored_reason(session))
            return await live_socket(request, session, self.connect)
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

    async def shutdown(self) -> None:
        """Live connections get what is due, then 1001; every session and file goes.

        Runs before aiohttp's own shutdown (app.py's `shut_down`): that one stops reading
        every connection first, so no client's close reply would arrive.
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


def is_socket_upgrade(request: web.Request) -> bool:
    """`GET /v2/live?token=…` asking for a WebSocket: the token is its credential."""
    return "token" in request.query and request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"


# The live routes (method, path, handler), laid on the router by app.py.
ROUTES = (
    ("POST", "/v2/live", LiveRoutes.init),
    ("GET", "/v2/live", LiveRoutes.live),
    ("GET", "/v2/live/{id}", LiveRoutes.get),
    ("DELETE", "/v2/live/{id}", LiveRoutes.delete),
    ("PATCH", "/v2/live/{id}", LiveRoutes.patch),
    ("GET", "/v2/live/{id}/file", LiveRoutes.file),
)
