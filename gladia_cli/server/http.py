"""The local server's HTTP conventions, shared by its live and pre-recorded routes:
Gladia's error body (`timestamp, path, request_id, statusCode, message`, plus
`validation_errors` on 400), request ids, small JSON bodies read defensively (invalid, too
deep (> `MAX_JSON_DEPTH`) or with numbers Python cannot hold: 400; over `MAX_BODY_BYTES`:
413), and the list endpoints' filters and pages.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from aiohttp import web

from gladia_cli.protocol.messages import iso_timestamp
from gladia_cli.server import slow_clients

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


def request_id() -> str:
    return "G-" + secrets.token_hex(4)


def owner_of(key: str) -> str:
    """Who a session, upload or job belongs to: a digest of the key that created it (never
    the key)."""
    return hashlib.sha256(key.encode()).hexdigest()


def request_owner(request: web.Request) -> str:
    """Whose request it is: its key's owner (`owner_of`), whose sessions, uploads and jobs
    it may see."""
    return owner_of(request.headers.get("x-gladia-key", ""))


def gladia_error(
    request: web.Request, status: int, message: str, validation_errors: list[str] | None = None
) -> web.Response:
    body: dict[str, Any] = {
        "timestamp": iso_timestamp(datetime.now(UTC)),
        "path": request.path,
        "request_id": request_id(),
        "statusCode": status,
        "message": message,
    }
    if validation_errors is not None:
        body["validation_errors"] = validation_errors
    return web.json_response(body, status=status)


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
