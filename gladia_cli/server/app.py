"""The HTTP side of the local server: init, the REST endpoints, and the WebSocket route.

Errors use Gladia's body (`timestamp, path, request_id, statusCode, message`, plus
`validation_errors` on 400), aiohttp's own ones (413, 404, 405) included. Every endpoint
needs `x-gladia-key`; when the server was given a key, only that key is accepted, and
without one a session is visible only to the key that created it (others get 404). Only
loopback `Host` and `Origin` headers are answered unless more are allowed (host_check).
Bodies are parsed defensively: invalid, too deep (> `MAX_JSON_DEPTH`) or with numbers
Python cannot hold get 400, a body over `MAX_BODY_BYTES` 413.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from gladia_cli.protocol import init_config
from gladia_cli.protocol.closing import SESSION_FINISHED
from gladia_cli.protocol.messages import iso_timestamp
from gladia_cli.server import callback_policy, slow_clients
from gladia_cli.server.addons.runner import AddonRunner
from gladia_cli.server.callbacks import CallbackPoster
from gladia_cli.server.clock import Clock, LoopClock
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.connection_limit import OUT_OF_DESCRIPTORS
from gladia_cli.server.data_dir import DataDir
from gladia_cli.server.host_check import HostPolicy
from gladia_cli.server.live_session import LiveSession
from gladia_cli.server.session_store import Session, SessionStore, owner_of
from gladia_cli.server.stored_session import StoredSession, restore_sessions
from gladia_cli.server.transcriber_pool import transcribers_for, translator_of
from gladia_cli.server.websocket import FAULTS, live_socket

log = logging.getLogger("gladia.server")

POST_SESSION_METADATA_MAX_BYTES = 100 * 1024
MAX_BODY_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 32
STATUSES = ("queued", "processing", "done", "error")
SWEEP_EVERY = 60.0  # seconds between evictions of stale sessions when nobody asks


class BadBody(ValueError):
    """A request body that is not a JSON value we accept."""


class BodyTimeout(Exception):
    """A request body that did not arrive in time (its message is the client's 408)."""


async def read_body(request: web.Request) -> bytes:
    """A small body (at most MAX_BODY_BYTES), within `slow_clients.BODY_SECONDS`: a client
    that drips it must not hold its connection."""
    limit = slow_clients.BODY_SECONDS
    try:
        async with asyncio.timeout(limit):
            return await request.read()
    except TimeoutError:
        raise BodyTimeout(f"the body stalled: not received within {limit:g} s") from None


def parse_json_body(raw: bytes) -> Any:
    """The body as JSON: NaN/Infinity, > 4300-digit numbers and deep nesting are refused
    (each would otherwise be a 500, or a value no JSON encoder can write back)."""

    def refuse_constant(name: str) -> Any:
        raise BadBody(f"{name} is not a valid JSON number")

    try:
        value = json.loads(raw or b"{}", parse_constant=refuse_constant)
    except BadBody:
        raise
    except (ValueError, RecursionError):  # JSONDecodeError, bad UTF-8, huge ints, depth
        raise BadBody("body must be valid JSON") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise BadBody(f"body must not be nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, depth + 1) for child in children)
    return deepest


def _request_id() -> str:
    return "G-" + secrets.token_hex(4)


def gladia_error(
    request: web.Request, status: int, message: str, validation_errors: list[str] | None = None
) -> web.Response:
    body: dict[str, Any] = {
        "timestamp": iso_timestamp(datetime.now(UTC)),
        "path": request.path,
        "request_id": _request_id(),
        "statusCode": status,
        "message": message,
    }
    if validation_errors is not None:
        body["validation_errors"] = validation_errors
    return web.json_response(body, status=status)


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

    def _owner(self, request: web.Request) -> str:
        return owner_of(request.headers.get("x-gladia-key", ""))

    def _session(self, request: web.Request) -> Session | None:
        return self.store.get(request.match_info["id"], self._owner(request))

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
            request_id=_request_id(),
            config=init_config.with_defaults(body),
            transcribers=self.transcribers,
            server=self.config,
            executor=self.executor,
            clock=self.clock,
            owner=self._owner(request),
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
            mine = self.store.visible(self._owner(request))
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


def _parse_moment(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} must be an ISO-8601 date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _metadata_filter(request: web.Request) -> dict[str, str]:
    """`custom_metadata` as a JSON object (Gladia's docs) or `custom_metadata[key]=value`
    pairs (the official SDK); values are compared as strings."""
    wanted: dict[str, str] = {}
    if "custom_metadata" in request.query:
        try:
            parsed = json.loads(request.query["custom_metadata"])
        except json.JSONDecodeError:
            raise ValueError("custom_metadata must be a JSON object") from None
        if not isinstance(parsed, dict):
            raise ValueError("custom_metadata must be a JSON object")
        wanted.update({k: str(v) for k, v in parsed.items()})
    for key, value in request.query.items():
        if key.startswith("custom_metadata[") and key.endswith("]"):
            wanted[key[len("custom_metadata[") : -1]] = value
    return wanted


class Listed(Protocol):
    """What the list endpoints filter and show: a live session or a pre-recorded job."""

    @property
    def status(self) -> str: ...

    @property
    def created_at(self) -> str: ...

    @property
    def config(self) -> dict[str, Any]: ...

    def describe(self) -> dict[str, Any]: ...


def page_bounds(request: web.Request) -> tuple[int, int]:
    """`offset` and `limit` of a list request (ValueError with the message for a 400)."""
    try:
        offset = int(request.query.get("offset", "0"))
        limit = int(request.query.get("limit", "20"))
        if offset < 0 or limit < 1:
            raise ValueError
    except ValueError:
        raise ValueError("offset must be ≥ 0 and limit ≥ 1, both integers") from None
    return offset, limit


def list_page(
    request: web.Request, matching: Sequence[Listed], offset: int, limit: int
) -> web.Response:
    """A page of `matching`, newest first, with absolute `first/current/next` links."""
    ordered = sorted(matching, key=lambda s: s.created_at, reverse=True)
    page = ordered[offset : offset + limit]

    def link(at: int) -> str:
        query = [(k, v) for k, v in request.query.items() if k not in ("offset", "limit")]
        query += [("offset", str(at)), ("limit", str(limit))]
        return f"{request.scheme}://{request.host}{request.path}?{urlencode(query)}"

    has_next = offset + limit < len(ordered)
    return web.json_response(
        {
            "first": link(0),
            "current": link(offset),
            "next": link(offset + limit) if has_next else None,
            "items": [s.describe() for s in page],
        }
    )


def matches(session: Listed, request: web.Request) -> bool:
    query = request.query
    statuses = query.getall("status", [])
    if any(s not in STATUSES for s in statuses):
        raise ValueError(f"status must be one of the following values: {', '.join(STATUSES)}")
    if statuses and session.status not in statuses:
        return False
    created = _parse_moment(session.created_at, "created_at")
    if "date" in query:
        try:
            day = date.fromisoformat(query["date"])
        except ValueError:
            raise ValueError("date must be a date (YYYY-MM-DD)") from None
        if created.date() != day:
            return False
    if "before_date" in query and not created < _parse_moment(query["before_date"], "before_date"):
        return False
    if "after_date" in query and not created > _parse_moment(query["after_date"], "after_date"):
        return False
    metadata = session.config.get("custom_metadata") or {}
    return all(str(metadata.get(k)) == v for k, v in _metadata_filter(request).items())


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
    from gladia_cli.server import prerecorded  # it builds on this module's helpers

    prerecorded.register(app, api)
    app.on_startup.append(api.start)
    app.on_shutdown.append(api.shutdown)
    return app


async def shut_down(runner: web.AppRunner) -> None:
    """Stop a server: sessions and their connections first (1001), then aiohttp."""
    api = runner.app[API]
    await api.shutdown()
    await runner.cleanup()
