"""How many connections the server holds at once, and what a client gets beyond: a 503,
not a server out of file descriptors.

Each connection costs a file descriptor, and so does a recording session's audio or an
upload's file. At the process's limit `accept()` fails: asyncio then logged every failure
with a traceback (39 022 lines in 12 s) and the server stopped answering, even after the
connections were gone. So connections are capped below the limit: half of the descriptors
free at start-up (the other half is for the files those connections open). A connection
beyond the cap is accepted, answered 503 in Gladia's error shape and closed, and the
episode is one line in the log, not one per connection.

`gladia serve` first raises its soft limit to the hard one (up to `SOFT_LIMIT_CEILING`):
Python starts with 1024 on most Linux systems, a few hundred sessions.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gladia_cli.protocol.messages import iso_timestamp

log = logging.getLogger("gladia.server")

SOFT_LIMIT_CEILING = 65536
MIN_CONNECTIONS = 8
# A refused client gets this long to read its 503 (and finish sending its request, which
# is discarded: closing with unread input would reset the connection, 503 included)...
REFUSAL_LINGER_SECONDS = 1.0
# ...if fewer than cap / LINGER_SHARE refused connections linger already: each holds a
# descriptor too; past that, one is closed as soon as its 503 is written.
LINGER_SHARE = 8
# Errors that mean the process (or system) ran out of file descriptors.
OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE})
ACCEPT_FAILURE = "socket.accept() out of system resource"  # asyncio's message
LOG_EVERY = 60.0  # seconds between two log lines about refused or failing connections


def descriptor_limit() -> int | None:
    """The process's soft limit on open files (None where it cannot be read)."""
    try:
        import resource
    except ImportError:  # not POSIX
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


def raise_descriptor_limit() -> None:
    """Soft limit up to the hard one (at most SOFT_LIMIT_CEILING); quietly kept if not allowed."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = SOFT_LIMIT_CEILING if hard == resource.RLIM_INFINITY else min(hard, SOFT_LIMIT_CEILING)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def open_descriptors() -> int:
    """File descriptors the process holds now (Linux; a guess elsewhere)."""
    try:
        return sum(1 for _ in Path("/proc/self/fd").iterdir())
    except OSError:
        return 32


def connection_cap(limit: int | None, in_use: int) -> int | None:
    """Connections to hold at once: half the descriptors left (None: no limit known)."""
    if limit is None:
        return None
    return max(MIN_CONNECTIONS, (limit - in_use) // 2)


def refusal_response(message: str) -> bytes:
    """A whole HTTP/1.1 503 in Gladia's error shape (no request was read: path "/")."""
    body = json.dumps(
        {
            "timestamp": iso_timestamp(datetime.now(UTC)),
            "path": "/",
            "request_id": "G-" + secrets.token_hex(4),
            "statusCode": 503,
            "message": message,
        }
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode() + body


class Refusal(asyncio.Protocol):
    """A connection past the cap: the 503 at once, then closed once the client is done
    sending (or after REFUSAL_LINGER_SECONDS; at once when `linger` is False)."""

    def __init__(self, response: bytes, *, linger: bool, on_closed: Callable[[], None]) -> None:
        self._response = response
        self._linger = linger
        self._on_closed = on_closed

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.write(self._response)
        if not self._linger:
            transport.close()
            return
        if transport.can_write_eof():
            transport.write_eof()
        asyncio.get_running_loop().call_later(REFUSAL_LINGER_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        pass  # the request is not read: the answer is the same whatever it was

    def eof_received(self) -> bool:
        return False  # the transport closes

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_closed()


def accept_backlog(limit: int | None, in_use: int, cap: int | None) -> int:
    """asyncio accepts up to its backlog in one go, before any protocol is made: never more
    than half the descriptors kept free beside the connections (else `accept()` fails)."""
    if limit is None or cap is None:
        return 100  # asyncio's default
    return max(4, min(100, (limit - in_use - cap) // 2))


class ConnectionLimit:
    """The listening socket's protocol factory: aiohttp's request handler while fewer than
    `cap` connections are open (`count()`, plus those made but not yet connected), a
    `Refusal` beyond."""

    def __init__(
        self, factory: Callable[[], asyncio.Protocol], count: Callable[[], int], cap: int | None
    ) -> None:
        self._factory = factory
        self._count = count
        self.cap = cap
        self.refused = 0  # connections refused since the last log line
        self.lingering = 0  # refused connections still open
        self._logged_at: float | None = None
        # Handlers made whose connection_made has not run yet (aiohttp counts a connection
        # only then): a burst of accepts makes many before any is counted.
        self._unsettled = 0

    def __call__(self) -> asyncio.Protocol:
        loop = asyncio.get_running_loop()
        if self.cap is not None and self._count() + self._unsettled >= self.cap:
            self.refused += 1
            now = loop.time()
            if self._logged_at is None or now - self._logged_at >= LOG_EVERY:
                log.warning(
                    "%d connections open, the most this server holds (half the file "
                    "descriptors it had free): new ones get 503 until some close "
                    "(%d refused since the last such line)",
                    self.cap,
                    self.refused,
                )
                self._logged_at = now
                self.refused = 0
            linger = self.lingering < max(1, self.cap // LINGER_SHARE)
            self.lingering += linger
            return Refusal(
                refusal_response(
                    f"the server holds {self.cap} connections, its limit: retry in a moment"
                ),
                linger=linger,
                on_closed=self._closed if linger else _nothing,
            )
        self._unsettled += 1
        # The transport schedules connection_made (call_soon) after this returns; a callback
        # that schedules another runs after it (the loop's ready queue is FIFO). Meanwhile
        # a connection may be counted twice: the cap errs on the side of refusing.
        loop.call_soon(loop.call_soon, self._settled)
        return self._factory()

    def _settled(self) -> None:
        self._unsettled -= 1

    def _closed(self) -> None:
        self.lingering -= 1


def _nothing() -> None:
    pass


class AcceptFailureLog:
    """An event loop exception handler: asyncio's "socket.accept() out of system
    resource" (one per failed accept, each with a traceback, up to 100 per attempt) becomes
    one line a minute; anything else goes to the loop's default handler."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._last: float | None = None
        self.suppressed = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != ACCEPT_FAILURE:
            loop.default_exception_handler(context)
            return
        now = self._now()
        if self._last is not None and now - self._last < LOG_EVERY:
            self.suppressed += 1
            return
        error = context.get("exception")
        reason = error.strerror if isinstance(error, OSError) and error.strerror else "error"
        more = f" ({self.suppressed} more since the last line)" if self.suppressed else ""
        log.error(
            "cannot accept connections: %s; raise the limit (ulimit -n) or close some%s",
            reason.lower(),
            more,
        )
        self._last = now
        self.suppressed = 0
