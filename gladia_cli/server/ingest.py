"""Server-side accounting of one session's audio byte stream across connections (no I/O).

Offsets are session-wide, counted in the bytes the client sent. After a reconnect, a client
re-sends everything after the last acknowledgment *it received*; the server keeps what it
already has and acknowledges the re-sent bytes again, so the stored audio is the client's
stream exactly once, in order.

Where does the client resume? At the last acknowledgment it received. That is the last one
the server sent, unless some were lost with the connection. So the candidates are the
acknowledgment ends sent on the previous connection, newest first, and a candidate is ruled
out when the stored bytes after it differ from what arrives. The newest candidate that
is not ruled out wins.

Exact for a clean drop (every acknowledgment arrived) and for held-back or withheld
acknowledgments (the stored bytes after the last one sent tell where the client is). One
case cannot be told apart: acknowledgments lost in flight while everything received had
been acknowledged. Fresh audio and re-sent audio then both start past what is stored, and
only content could separate them. But periodic audio (a tone, digital silence) makes fresh
audio look re-sent, so trusting content there could drop new audio. In that case the re-sent
bytes are kept a second time: a duplicate is better than a loss.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

# How many acknowledgment ends of the last connection are remembered as resume candidates.
_CANDIDATES = 256


@dataclass(frozen=True)
class Received:
    """One chunk placed on the session stream: `[start, end)`, of which `fresh` is new."""

    start: int
    end: int
    fresh: bytes


class AudioIngest:
    def __init__(
        self, read_stored: Callable[[int, int], bytes], *, append_only: bool = False
    ) -> None:
        # read_stored(offset, n) returns stored stream bytes [offset, offset + n).
        self._read_stored = read_stored
        # Without acknowledgments a client cannot know what to re-send, so whatever a new
        # connection brings is new audio.
        self._append_only = append_only
        self.committed = 0  # stream bytes kept, [0, committed)
        self.last_ack_sent = 0
        self._position = 0  # where the current connection's next byte sits on the stream
        self._ack_ends: deque[int] = deque([0], maxlen=_CANDIDATES)
        self._placing = False  # the first chunk of a connection has not been placed yet

    def new_connection(self) -> None:
        self._placing = True

    def acknowledged(self, end: int) -> None:
        """An acknowledgment ending at `end` was sent to the client."""
        self.last_ack_sent = max(self.last_ack_sent, end)
        self._ack_ends.append(end)

    def receive(self, chunk: bytes) -> Received:
        if self._placing and chunk:
            self._position = self._resume_point(chunk)
            self._placing = False
            self._ack_ends = deque([self._position], maxlen=_CANDIDATES)
        start = self._position
        end = start + len(chunk)
        self._position = end
        fresh = chunk[max(0, self.committed - start) :] if end > self.committed else b""
        self.committed = max(self.committed, end)
        return Received(start, end, fresh)

    def _resume_point(self, chunk: bytes) -> int:
        if self._append_only:
            return self.committed
        for candidate in sorted(set(self._ack_ends), reverse=True):
            overlap = min(len(chunk), self.committed - candidate)
            if overlap <= 0 or self._read_stored(candidate, overlap) == chunk[:overlap]:
                return candidate
        # Every candidate is ruled out: keep it all rather than lose audio.
        return self.committed
