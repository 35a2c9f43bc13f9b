"""Connection faults on request (`gladia serve --drop-after-bytes`, `--close-code`…): a
`FaultyConnection` is what the socket driver (websocket.py) is handed for the first
`fault_connections` connections of each session when the server's `Faults` ask for any;
the driver itself has no fault in it.

- drop after N audio bytes: the chunk that crosses the limit is "lost in transit" (neither
  kept nor acknowledged), and the TCP connection ends without a close frame;
- drop after N seconds (the session's clock): the same, in time;
- close with a code after N audio bytes (0: as soon as the connection opens); the chunk
  that reaches the limit is not kept.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from gladia_cli.server.clock import Clock
from gladia_cli.server.config import Faults
from gladia_cli.server.live.websocket import Connect, WebSocketConnection, plain_connection


class FaultyConnection(WebSocketConnection):
    """A connection that suffers `faults` (see the module docstring)."""

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, faults: Faults, clock: Clock
    ) -> None:
        super().__init__(ws, request)
        self.faults = faults
        self._clock = clock
        self._drop_timer: asyncio.Task[None] | None = None

    async def opened(self) -> None:
        faults = self.faults
        if faults.drop_after_seconds is not None:
            deadline = self._clock.now() + faults.drop_after_seconds
            self._drop_timer = asyncio.create_task(self._drop_at(deadline))
        if faults.close_code and faults.close_after_bytes == 0:
            await self.close(faults.close_code, "fault injection")

    async def _drop_at(self, deadline: float) -> None:
        await self._clock.sleep_until(deadline)
        self.drop()

    async def admit(self, chunk: bytes) -> bool:
        await super().admit(chunk)
        faults = self.faults
        if faults.drop_after_bytes is not None and self.received > faults.drop_after_bytes:
            self.drop()  # this chunk is "lost in transit": neither kept nor acknowledged
            return False
        if (
            faults.close_code
            and faults.close_after_bytes
            and self.received >= faults.close_after_bytes
        ):
            await self.close(faults.close_code, "fault injection")
            return False
        return True

    def ended(self) -> None:
        if self._drop_timer is not None:
            self._drop_timer.cancel()


def connections(faults: Faults, clock: Clock) -> Connect:
    """How the socket driver makes each connection: faulty for the first
    `fault_connections` of a session when a connection fault is asked for, else plain."""
    if not faults.any_connection_fault:
        return plain_connection

    def connect(
        ws: web.WebSocketResponse, request: web.Request, before: int
    ) -> WebSocketConnection:
        if before < faults.fault_connections:
            return FaultyConnection(ws, request, faults, clock)
        return WebSocketConnection(ws, request)

    return connect
