"""Server-side accounting of one session's audio byte stream across connections (no I/O).

Offsets are session-wide, counted in the bytes the client sent. After a reconnect, a client
re-sends everything after the last acknowledgment *it received*; the server keeps what it
already has and acknowledges the re-sent bytes again, so the stored audio is the client's
stream exactly once, in order.

Where does the client resume? At the end of the last acknowledgment it received. An
acknowledgment confirmed by a pong (see `outbox`) is known to have arrived, and TCP delivers
in order, so the resume point is the last confirmed end or one of the ends sent after it:
those are the candidates. A new connection's first bytes are held (never acknowledged)
until they decide between the candidates: a candidate dies as soon as the re-sent bytes
differ from the stored bytes after it. The decision is made when one candidate is left, or
when every surviving one has been compared over all the stored bytes after it, or at the
latest after `max_hold` bytes, at stop_recording, or when the client closes with 1000.
Held bytes of a connection that drops before the decision are forgotten: they were never
acknowledged, so the client sends them again.

A client may also say where it resumes: a ping with the payload `gladia-resume:<offset>`
before its first audio (our CLI sends it; any other server just answers the ping). Then
there is nothing to guess.

Which surviving candidate (the rule where content cannot tell):
- The newest stored byte is itself a candidate when everything received had been
  acknowledged; it has no bytes to compare, so it always survives and proves nothing.
- A full match over stored bytes is what a re-send produces, and fresh audio does not,
  unless the audio repeats itself. So the oldest surviving candidate whose matched bytes do
  not repeat (not one sample frame over and over, as digital silence or DC, and not equal
  to itself or to the stored bytes one candidate distance earlier, as a tone with a whole
  number of periods per chunk) wins: its match is evidence.
- When no match is evidence (only repetitive audio was compared), content cannot tell, and the
  newest surviving candidate wins, i.e. we assume the acknowledgments arrived, which is what
  happens unless they were lost in flight. If they were, the resumed stream holds that
  stretch of silence twice; the sound itself is never lost or doubled.
- No candidate survives (a client resuming somewhere unexpected): the bytes are kept as new
  audio after the stored ones: a duplicate is better than a loss.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

# Candidates further back than this behind the newest stored byte are not considered; it is
# also the most a new connection's bytes are held before a decision is forced.
MAX_HOLD_BYTES = 8 * 1024 * 1024
# Acknowledgment ends remembered after the last confirmed one (a client that never answers
# pings would otherwise grow this forever).
MAX_CANDIDATES = 1024

RESUME_HINT_PREFIX = b"gladia-resume:"


def parse_resume_hint(payload: bytes) -> int | None:
    """The offset in a `gladia-resume:<offset>` ping payload, or None."""
    if not payload.startswith(RESUME_HINT_PREFIX):
        return None
    digits = payload[len(RESUME_HINT_PREFIX) :]
    if not digits.isdigit() or len(digits) > 18:
        return None
    return int(digits)


@dataclass(frozen=True)
class Received:
    """One chunk placed on the session stream: `[start, end)`, of which `fresh` is new."""

    start: int
    end: int
    fresh: bytes


class AudioIngest:
    def __init__(
        self,
        read_stored: Callable[[int, int], bytes],
        *,
        frame_bytes: int = 1,
        append_only: bool = False,
        max_hold: int = MAX_HOLD_BYTES,
    ) -> None:
        # read_stored(offset, n) returns stored stream bytes [offset, offset + n).
        self._read_stored = read_stored
        self._frame = max(1, frame_bytes)
        # Without acknowledgments a client cannot know what to re-send, so whatever a new
        # connection brings is new audio.
        self._append_only = append_only
        self._max_hold = max_hold
        self.committed = 0  # stream bytes kept, [0, committed)
        self._candidates: list[int] = [0]  # ascending; the first is the last confirmed end
        self._position: int | None = 0  # None while a new connection's bytes are held
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._tail = b""  # stored bytes [tail_start, committed) while deciding
        self._tail_start = 0
        self._alive: dict[int, int] = {}  # candidate → bytes of it verified so far
        self.unmatched_resumes = 0  # resumes that matched no candidate (kept as new audio)
        self.guessed_resumes = 0  # resumes decided by the rule, not by content

    @property
    def deciding(self) -> bool:
        return self._position is None

    def new_connection(self) -> None:
        """A new connection: its bytes are held until they show where they belong."""
        self._held, self._held_bytes = [], 0
        if self._append_only:
            self._position = self.committed
            return
        floor = self.committed - self._max_hold
        candidates = [c for c in self._candidates if c >= floor] or [self.committed]
        self._tail_start = candidates[0]
        self._tail = self._read_stored(self._tail_start, self.committed - self._tail_start)
        self._alive = dict.fromkeys(candidates, 0)
        # Distances between candidates: audio repeating at one of them (a tone with a whole
        # number of periods per chunk) matches at every candidate, so proves nothing.
        self._gaps = sorted({b - a for a, b in itertools.pairwise(candidates)})[:8]
        self._position = None

    def acknowledged(self, end: int) -> None:
        """An acknowledgment ending at `end` was written to the client."""
        if end not in self._candidates:
            self._candidates.append(end)
            self._candidates.sort()
            if len(self._candidates) > MAX_CANDIDATES:
                del self._candidates[1 : len(self._candidates) - MAX_CANDIDATES + 1]

    def confirmed(self, end: int) -> None:
        """The client is known to have received the acknowledgment ending at `end`."""
        self._candidates = [end, *(c for c in self._candidates if c > end)]

    def hint(self, offset: int) -> list[Received]:
        """The client said where its next byte sits; trusted when it is a possible place."""
        if self._position is not None or not 0 <= offset <= self.committed:
            return []
        return self._decide(offset)

    def receive(self, chunk: bytes) -> list[Received]:
        """Place `chunk`; returns the chunks placed now (none while still deciding)."""
        if self._position is not None:
            return [self._place(chunk)]
        if chunk:
            self._held.append(chunk)
            self._compare(chunk)
            self._held_bytes += len(chunk)
        choice = self._choice(forced=self._held_bytes >= self._max_hold)
        return [] if choice is None else self._decide(choice)

    def flush(self) -> list[Received]:
        """Decide now with what was held (stop_recording, or the client closed with 1000)."""
        if self._position is not None:
            return []
        choice = self._choice(forced=True)
        assert choice is not None
        return self._decide(choice)

    def connection_lost(self) -> None:
        """The connection ended. Held bytes were never acknowledged: forget them."""
        if self._position is None:
            self._held, self._held_bytes = [], 0
            self._tail = b""

    # --- deciding ----------------------------------------------------------------------

    def _compare(self, chunk: bytes) -> None:
        at = self._held_bytes  # where `chunk` starts in the held bytes
        for candidate, verified in list(self._alive.items()):
            overlap = self.committed - candidate
            if verified >= overlap:
                continue
            n = min(len(chunk), overlap - at)
            offset = candidate - self._tail_start + at
            if chunk[:n] != self._tail[offset : offset + n]:
                del self._alive[candidate]
            else:
                self._alive[candidate] = at + n

    def _choice(self, *, forced: bool) -> int | None:
        alive = sorted(self._alive)
        if not alive:
            self.unmatched_resumes += 1
            return self.committed
        if len(alive) == 1:
            return alive[0]
        complete = all(self._alive[c] >= self.committed - c for c in alive)
        if not (complete or forced):
            return None
        for candidate in alive[:-1] if alive[-1] == self.committed else alive:
            if not self._repetitive(candidate):
                return candidate  # the oldest one whose match is evidence
        if self._held_bytes:
            self.guessed_resumes += 1
        return alive[-1]

    def _repetitive(self, candidate: int) -> bool:
        """Whether the bytes `candidate` matched could as well be fresh audio: nothing was
        matched, or they are one frame repeated, or they repeat at a candidate distance."""
        at = candidate - self._tail_start
        matched = self._tail[at : at + self._alive[candidate]]
        if not matched or _repeats_every(matched, self._frame):
            return True
        for gap in self._gaps:
            if len(matched) > gap and _repeats_every(matched, gap):
                return True
            if gap <= candidate and self._read_stored(candidate - gap, len(matched)) == matched:
                return True
        return False

    def _decide(self, position: int) -> list[Received]:
        self._position = position
        self._candidates = [position]
        self._alive, self._tail = {}, b""
        held, self._held, self._held_bytes = self._held, [], 0
        return [self._place(chunk) for chunk in held]

    def _place(self, chunk: bytes) -> Received:
        assert self._position is not None
        start = self._position
        end = start + len(chunk)
        self._position = end
        fresh = chunk[max(0, self.committed - start) :] if end > self.committed else b""
        self.committed = max(self.committed, end)
        return Received(start, end, fresh)


def _repeats_every(data: bytes, period: int) -> bool:
    """Whether `data` repeats with `period` bytes (one frame: digital silence, DC)."""
    return len(data) <= period or data[period:] == data[:-period]
