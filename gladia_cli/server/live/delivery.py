"""Writing a session's `Outbox` to its current connection, and confirming what arrived.

The outbox (outbox.py) decides what is due and what a pong confirms; this is its driver.
One connection is current at a time: `deliver` writes to it until it is replaced, pinging
for confirmation, and once the session has ended closes it with 1000 when the client
confirmed everything (or after `confirm_timeout` on the clock: it may then reconnect and
get the rest again). When the backlog reaches `MAX_BACKLOG` the connection's reader waits
on `room`, so a client that sends without reading cannot make the server queue without end.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Protocol

from gladia_cli.protocol.closing import INTERNAL_ERROR, NORMAL
from gladia_cli.server.clock import Clock
from gladia_cli.server.live.ingest import AudioIngest
from gladia_cli.server.live.outbox import Outbox, Outgoing, StoredText

log = logging.getLogger("gladia.server")

# Messages waiting to be written before the session stops reading its client: a client
# that sends without reading would otherwise make the server queue acknowledgments (each
# bigger than a tiny chunk) without end. Reading resumes below half of it.
MAX_BACKLOG = 2000
# Seconds a re-delivery waits on a new connection for its first acknowledgment (outbox.py):
# a client re-sending audio is acknowledged within milliseconds; one with nothing to re-send
# gets the re-delivery after this at the latest.
REDELIVERY_HOLD = 1.0


class ClientSocket(Protocol):
    """What a session needs of a WebSocket connection."""

    async def send_text(self, text: str) -> None: ...

    async def send_stored(self, stored: StoredText) -> None:
        """One text frame whose payload is read from a file as it is written."""
        ...

    async def ping(self, payload: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...

    async def wait_closed(self) -> None: ...

    @property
    def answered_close(self) -> bool:
        """The client answered our close frame (so it read everything before it)."""
        ...


class Delivery:
    def __init__(
        self, *, session_id: str, ingest: AudioIngest, clock: Clock, confirm_timeout: float
    ) -> None:
        self._session_id = session_id
        # Told what was written (acknowledged audio) and confirmed (resumable from there).
        self._ingest = ingest
        self._clock = clock
        self._confirm_timeout = confirm_timeout
        self._loop = asyncio.get_running_loop()
        self._outbox = Outbox()
        self._changed = asyncio.Event()
        self.room = asyncio.Event()  # set while the outbox backlog allows reading more
        self.room.set()
        self.connection: ClientSocket | None = None
        self.attached_at = clock.now()
        self.ended_at: float | None = None  # on the clock, once the session's end is queued
        self._delayed: deque[tuple[float, ClientSocket, Outgoing]] = deque()
        self._releaser: asyncio.Task[None] | None = None

    def put(self, item: Outgoing) -> None:
        self._outbox.put(item)
        self._changed.set()

    def put_later(self, due: float, connection: ClientSocket, item: Outgoing) -> None:
        """The ack-delay fault: `item` is queued at `due` (on the clock), if `connection`
        is still the current one then."""
        self._delayed.append((due, connection, item))
        if self._releaser is None:
            self._releaser = self._loop.create_task(self._release())

    async def _release(self) -> None:
        while self._delayed:
            due, connection, item = self._delayed[0]
            await self._clock.sleep_until(due)
            self._delayed.popleft()
            if connection is self.connection:
                self.put(item)
        self._releaser = None

    def attach(self, connection: ClientSocket) -> ClientSocket | None:
        """`connection` is the current one now; returns the one it replaces, if any."""
        previous = self.connection
        if previous is not None:
            self.lost()  # whatever the old one still brings is ignored from now on
        self.connection = connection
        self.attached_at = self._clock.now()
        self._changed.set()
        return previous

    def detach(self, connection: ClientSocket) -> None:
        if connection.answered_close:
            self._outbox.confirm_all()
        self.connection = None
        self.lost()

    def lost(self) -> None:
        """The current connection is gone: what it did not confirm is due again."""
        self.room.set()
        self._outbox.connection_lost()
        self._ingest.connection_lost()
        self._delayed.clear()

    def clear(self) -> None:
        """Nothing more goes to the client (it closed with 1000)."""
        self._outbox.clear()

    def release(self) -> None:
        """No acknowledgment will come (the recording is over, or they are off): a held
        re-delivery goes now."""
        self._outbox.release()
        self._changed.set()

    def end(self) -> None:
        """The session's last message is queued: `deliver` closes once it is confirmed."""
        self.ended_at = self._clock.now()
        self.release()

    def backlogged(self, connection: ClientSocket) -> bool:
        """Whether `connection`'s reader should wait for the outbox to drain."""
        if connection is not self.connection or self._outbox.backlog < MAX_BACKLOG:
            return False
        self.room.clear()
        return True

    def pong(self, connection: ClientSocket, payload: bytes) -> None:
        """A pong on `connection`: what it confirms was delivered."""
        if connection is not self.connection:
            return
        ends = self._outbox.pong(payload)
        if ends:
            self._ingest.confirmed(ends[-1])
        if ends is not None:
            self._changed.set()

    async def deliver(self, connection: ClientSocket) -> None:
        """Write the outbox to `connection` until it is replaced or the session ended."""
        while connection is self.connection:
            self._changed.clear()
            item = self._outbox.next()
            try:
                if item is not None:
                    await _send(connection, item)
                    if connection is not self.connection:
                        return  # replaced meanwhile: the message stays due on the next one
                    self._outbox.written(item)
                    if item.ack_end is not None:
                        self._ingest.acknowledged(item.ack_end)
                    if self._outbox.backlog < MAX_BACKLOG // 2:
                        self.room.set()
                    continue
                payload = self._outbox.ping()
                if payload is not None:
                    await connection.ping(payload)
                    continue
                if self._outbox.holding:
                    hold_until = self.attached_at + REDELIVERY_HOLD
                    if self._clock.now() >= hold_until:
                        self._outbox.release()
                    else:
                        await self._wait_for_change(until=hold_until)
                    continue
            except (ConnectionError, RuntimeError):
                # The connection is broken: wake its reader (it may be waiting for room)
                # so that it notices and the session lets the connection go.
                await connection.close(INTERNAL_ERROR, "write failed")
                return
            if self.ended_at is not None:
                if self._outbox.delivered:
                    await connection.close(NORMAL, "session ended")
                    return
                # From the end, or from this connection when it came after the end.
                confirm_by = max(self.ended_at, self.attached_at) + self._confirm_timeout
                if self._clock.now() >= confirm_by:
                    log.info("session %s: end not confirmed, closing anyway", self._session_id)
                    await connection.close(NORMAL, "session ended")
                    return
                await self._wait_for_change(until=confirm_by)
            else:
                await self._changed.wait()

    async def _wait_for_change(self, until: float) -> None:
        changed = asyncio.ensure_future(self._changed.wait())
        timer = asyncio.ensure_future(self._clock.sleep_until(until))
        try:
            await asyncio.wait({changed, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (changed, timer):
                task.cancel()

    async def flush(self) -> None:
        """Write what is due to the current connection (before a shutdown closes it)."""
        connection = self.connection
        while connection is not None and connection is self.connection:
            item = self._outbox.next()
            if item is None:
                return
            try:
                await _send(connection, item)
            except (ConnectionError, RuntimeError):
                return
            self._outbox.written(item)

    def cancel(self) -> None:
        if self._releaser is not None and not self._releaser.done():
            self._releaser.cancel()


async def _send(connection: ClientSocket, item: Outgoing) -> None:
    if item.stored is not None:
        await connection.send_stored(item.stored)
    else:
        await connection.send_text(item.text)
