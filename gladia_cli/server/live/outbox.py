"""A session's outgoing messages, and which of them the client is known to have (no I/O).

A message written into a connection that then dies may never have reached the client. So
written messages are kept until a WebSocket pong confirms them: the server pings after
writing, and a client answers a ping only after reading every frame written before it (TCP
is in order; websocket-client answers inside `recv`, python-websockets as it reads), so the
pong for a ping proves receipt of everything written before that ping. When a connection
is lost, what it did not confirm is written first on the next one, in order; the client
drops duplicates. Partial transcripts are not re-sent (the final replaces them), nor are
acknowledgments (they belong to the connection that carried the audio: the ingest
acknowledges re-sent audio again).

One ping is in flight at a time, sent when the writer has caught up (or after a long burst),
so pings are paced by the client's reading, with no timer.

Acknowledgments go before any other message due: they are what lets a client trim its
re-send buffer, and what it counts as progress. Queued behind a re-delivery, they starved
a client whose downstream broke every few kilobytes: each new connection re-delivered the
same unconfirmed messages (never confirmed: cut before the ping after them), the
acknowledgments of the re-sent audio never reached it, and it gave up (issue 18: 50 cuts of
the downstream direction, exit 4 after 29 fruitless connections). The client takes
acknowledgments in any order with the other messages. For the same reason a re-delivery
is held (`holding`) until the new connection's first acknowledgment is written: before
it, no acknowledgment exists to go first, and the burst would fill the connection. The
driver releases the hold when none will come (delivery.py).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from pathlib import Path

# Written-but-unconfirmed messages kept per connection. A client that never answers pings
# would otherwise grow this without end; past it the oldest are forgotten (and the client
# would have to reconcile from post_transcript, as with a server that does not re-deliver).
MAX_UNCONFIRMED = 10_000
# A ping also goes out mid-burst once this many frames were written since the last one.
PING_EVERY = 64
PING_PREFIX = b"gl"


class Kind(enum.Enum):
    MESSAGE = "message"  # re-delivered after a lost connection
    PARTIAL = "partial"  # superseded by the final: not re-delivered
    ACK = "ack"  # belongs to its connection: dropped with it


@dataclass(frozen=True)
class StoredText:
    """A message's text kept in a file instead of memory: `length` bytes at `offset`."""

    path: Path
    offset: int
    length: int


@dataclass(frozen=True)
class Outgoing:
    text: str
    kind: Kind = Kind.MESSAGE
    ack_end: int | None = None  # on audio acknowledgments: the end of the range
    # A long session's end messages (6 MB each after 10 h) are written to the session's
    # message log as they are built and sent from there (`text` is then empty): the outbox
    # holds where they are, never their text (issue 18).
    stored: StoredText | None = None


class Outbox:
    def __init__(self, max_unconfirmed: int = MAX_UNCONFIRMED) -> None:
        self._max_unconfirmed = max_unconfirmed
        self._pending: deque[Outgoing] = deque()
        self._acks: deque[Outgoing] = deque()  # written before `_pending`
        self._unconfirmed: deque[tuple[int, Outgoing]] = deque()  # (write index, message)
        self._epoch = 0  # per connection, in ping payloads: a stale pong confirms nothing
        self._written = 0  # frames written on this connection
        self._pinged_at = 0  # `_written` when the last ping went out
        self._ping_seq = 0
        self._in_flight: tuple[bytes, int] | None = None  # (payload, write mark)
        self.forgotten = 0  # unconfirmed messages dropped past the bound
        self.holding = False  # a re-delivery waits for the connection's first ack

    def put(self, message: Outgoing) -> None:
        (self._acks if message.kind is Kind.ACK else self._pending).append(message)

    def next(self) -> Outgoing | None:
        """The next message to write, or None: an acknowledgment first."""
        if self._acks:
            return self._acks[0]
        return self._pending[0] if self._pending and not self.holding else None

    def release(self) -> None:
        """Let a held re-delivery go (no acknowledgment will come first)."""
        self.holding = False

    def written(self, message: Outgoing) -> None:
        """`message` (the one `next` gave) was written into the current connection."""
        if self._acks and self._acks[0] is message:
            self._acks.popleft()
            self.holding = False  # the connection carried an acknowledgment: the rest may go
        elif self._pending and self._pending[0] is message:
            self._pending.popleft()
        self._unconfirmed.append((self._written, message))
        self._written += 1
        if len(self._unconfirmed) > self._max_unconfirmed:
            self._unconfirmed.popleft()
            self.forgotten += 1

    def ping(self) -> bytes | None:
        """The payload of a ping to send now, or None when none is due."""
        if self._in_flight is not None or self._written == self._pinged_at:
            return None
        writing = self._acks or (self._pending and not self.holding)
        if writing and self._written - self._pinged_at < PING_EVERY:
            return None  # still writing: one ping after the burst covers it all
        self._ping_seq += 1
        payload = PING_PREFIX + self._epoch.to_bytes(6, "big") + self._ping_seq.to_bytes(8, "big")
        self._in_flight = (payload, self._written)
        self._pinged_at = self._written
        return payload

    def pong(self, payload: bytes) -> list[int] | None:
        """A pong arrived. Returns the ends of the acknowledgments it confirmed (ascending),
        or None when it answers none of our pings (a stale or unsolicited pong)."""
        if self._in_flight is None or payload != self._in_flight[0]:
            return None
        mark = self._in_flight[1]
        self._in_flight = None
        return self._confirm(mark)

    def confirm_all(self) -> list[int]:
        """The client provably read everything written (it answered our close frame)."""
        return self._confirm(self._written)

    def _confirm(self, mark: int) -> list[int]:
        ends = []
        while self._unconfirmed and self._unconfirmed[0][0] < mark:
            message = self._unconfirmed.popleft()[1]
            if message.ack_end is not None:
                ends.append(message.ack_end)
        return ends

    def connection_lost(self) -> None:
        """The connection ended: what it did not confirm goes first on the next one."""
        again = [m for _, m in self._unconfirmed if m.kind is Kind.MESSAGE]
        self._pending = deque(again + list(self._pending))
        self._acks.clear()
        self.holding = bool(again)
        self._unconfirmed.clear()
        self._epoch += 1
        self._written = self._pinged_at = 0
        self._in_flight = None

    def clear(self) -> None:
        """Nothing more goes to the client (it closed with 1000)."""
        self._pending.clear()
        self._acks.clear()
        self._unconfirmed.clear()
        self.holding = False

    @property
    def backlog(self) -> int:
        """Messages waiting to be written."""
        return len(self._pending) + len(self._acks)

    @property
    def idle(self) -> bool:
        """Nothing left to write."""
        return not self._pending and not self._acks

    @property
    def delivered(self) -> bool:
        """Everything was written and confirmed."""
        return self.idle and not self._unconfirmed
