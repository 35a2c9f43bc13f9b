"""The HTTP side of the local server: init, the REST endpoints, and the WebSocket route.

Errors use Gladia's body (`timestamp, path, request_id, statusCode, message`, plus
`validation_errors` on 400). Every endpoint needs `x-gladia-key`; when the server was given
a key, only that key is accepted.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import hdrs, web

from gladia_cli.protocol import init_config
from gladia_cli.protocol.messages import iso_timestamp
from gladia_cli.server.callbacks import CallbackPoster
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.live_session import LiveSession
from gladia_cli.server.transcriber_pool import transcribers_for
from gladia_cli.server.websocket import FAULTS, live_socket

log = logging.getLogger("gladia.server")

POST_SESSION_METADATA_MAX_BYTES = 100 * 1024
STATUSES = ("queued", "processing", "done", "error")

CONFIG: web.AppKey[ServerConfig] = web.AppKey("config", ServerConfig)
SESSIONS: web.AppKey[dict[str, LiveSession]] = web.AppKey("sessions", dict)


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


class LiveApi:
    """Route handlers, sharing the server's state."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.transcribers = transcribers_for(
            config.engine,
            config.script_path,
            config.workers,
            model=config.model,
            decoders=config.decoders,
            fail_after=config.faults.fail_recognition_after,
        )
        # Threads that call the recognisers (or wait on their processes' pipes).
        self.executor = ThreadPoolExecutor(
            max(4, 2 * config.workers), thread_name_prefix="recognizer"
        )
        self.sessions: dict[str, LiveSession] = {}
        self.by_token: dict[str, LiveSession] = {}
        self.init_failures = deque(config.faults.init_failures)
        self.callbacks = CallbackPoster()

    def _authorized(self, request: web.Request) -> bool:
        key = request.headers.get("x-gladia-key", "")
        if not key:
            return False
        return self.config.api_key is None or secrets.compare_digest(key, self.config.api_key)

    def _unauthorized(self, request: web.Request) -> web.Response:
        return gladia_error(request, 401, "gladia key not found")

    def _session(self, request: web.Request) -> LiveSession | None:
        return self.sessions.get(request.match_info["id"])

    async def init(self, request: web.Request) -> web.Response:
        if self.init_failures:
            status = self.init_failures.popleft()
            return gladia_error(request, status, f"injected failure ({status})")
        if not self._authorized(request):
            return self._unauthorized(request)
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
            body = json.loads(await request.read() or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return gladia_error(request, 400, "Bad Request", ["body must be valid JSON"])
        errors = init_config.validate(body, strict=self.config.strict_init)
        if errors:
            return gladia_error(request, 400, "Bad Request", errors)
        problems = init_config.semantic_errors(body)
        if problems:
            return gladia_error(request, 422, "Invalid parameter", problems)
        limit = self.config.max_sessions
        if (
            limit is not None
            and sum(not s.finished.is_set() for s in self.sessions.values()) >= limit
        ):
            return gladia_error(request, 429, f"too many concurrent live sessions (limit {limit})")

        session = LiveSession(
            session_id=str(uuid.uuid4()),
            token=str(uuid.uuid4()),
            request_id=_request_id(),
            config=init_config.with_defaults(body),
            transcribers=self.transcribers,
            server=self.config,
            executor=self.executor,
            on_callback=self.callbacks,
        )
        self.sessions[session.id] = session
        self.by_token[session.token] = session
        scheme = "wss" if request.secure else "ws"
        url = f"{scheme}://{request.host}/v2/live?token={session.token}"
        log.info("session %s: created (%d channel(s))", session.id, session.fmt.channels)
        return web.json_response(
            {"id": session.id, "created_at": session.created_at, "url": url}, status=201
        )

    async def live(self, request: web.Request) -> web.StreamResponse:
        """`GET /v2/live`: the WebSocket when it carries a token and asks to upgrade, else
        the list of sessions."""
        if (
            "token" in request.query
            and request.headers.get(hdrs.UPGRADE, "").lower() == "websocket"
        ):
            return await live_socket(request, self.by_token.get(request.query["token"]))
        return await self.list(request)

    async def list(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized(request)
        try:
            offset = int(request.query.get("offset", "0"))
            limit = int(request.query.get("limit", "20"))
            if offset < 0 or limit < 1:
                raise ValueError
        except ValueError:
            return gladia_error(
                request, 400, "Bad Request", ["offset must be ≥ 0 and limit ≥ 1, both integers"]
            )
        try:
            matching = [s for s in self.sessions.values() if _matches(s, request)]
        except ValueError as exc:
            return gladia_error(request, 400, "Bad Request", [str(exc)])
        matching.sort(key=lambda s: s.created_at, reverse=True)
        page = matching[offset : offset + limit]

        def link(at: int) -> str:
            query = [(k, v) for k, v in request.query.items() if k not in ("offset", "limit")]
            query += [("offset", str(at)), ("limit", str(limit))]
            return f"{request.scheme}://{request.host}{request.path}?{urlencode(query)}"

        has_next = offset + limit < len(matching)
        return web.json_response(
            {
                "first": link(0),
                "current": link(offset),
                "next": link(offset + limit) if has_next else None,
                "items": [s.describe() for s in page],
            }
        )

    async def get(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized(request)
        session = self._session(request)
        if session is None:
            return gladia_error(request, 404, "Not found")
        return web.json_response(session.describe())

    async def delete(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._unauthorized(request)
        session = self._session(request)
        if session is None:
            return gladia_error(request, 404, "Not found")
        if session.status == "processing":
            return gladia_error(request, 403, "session is still processing and cannot be deleted")
        del self.sessions[session.id]
        self.by_token.pop(session.token, None)
        await session.close()
        return web.Response(status=202)

    async def file(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return self._unauthorized(request)
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
        if not self._authorized(request):
            return self._unauthorized(request)
        session = self._session(request)
        if session is None:
            return gladia_error(request, 404, "Not found")
        raw = await request.read()
        if len(raw) > POST_SESSION_METADATA_MAX_BYTES:
            return gladia_error(request, 413, "post_session_metadata is larger than 100 KB")
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            return gladia_error(request, 400, "Bad Request", ["body must be valid JSON"])
        metadata = body.get("post_session_metadata", body) if isinstance(body, dict) else None
        if not isinstance(metadata, dict):
            return gladia_error(
                request, 400, "Bad Request", ["post_session_metadata must be an object"]
            )
        session.post_session_metadata = metadata
        return web.Response(status=204)

    async def shutdown(self, app: web.Application) -> None:
        for session in list(self.sessions.values()):
            await session.close()
        await self.callbacks.close()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.transcribers.close()


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


def _matches(session: LiveSession, request: web.Request) -> bool:
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


def create_app(config: ServerConfig) -> web.Application:
    api = LiveApi(config)
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app[FAULTS] = config.faults
    app[CONFIG] = config
    app[SESSIONS] = api.sessions
    app.router.add_post("/v2/live", api.init)
    app.router.add_get("/v2/live", api.live)
    app.router.add_get("/v2/live/{id}", api.get)
    app.router.add_delete("/v2/live/{id}", api.delete)
    app.router.add_patch("/v2/live/{id}", api.patch)
    app.router.add_get("/v2/live/{id}/file", api.file)
    app.on_shutdown.append(api.shutdown)
    return app
