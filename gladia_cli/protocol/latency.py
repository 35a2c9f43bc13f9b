"""How far behind real time the transcript runs, as a plain object (no I/O; clock injected).

The lag of a transcript is the wall time from sending the audio at its utterance's `end`
to receiving it: for a final, how late the settled words come; for a partial, how late the
words in progress show. The stream is one interleaved byte sequence, so the stream time of
`end` (per-channel time) is the same byte offset whatever the channel:
`end × bytes_per_second` of the session's wire format.

- Send marks: `sent(offset, length, now)` after each audio frame leaves the socket. Only
  bytes beyond the furthest already sent make a mark: a re-send after a reconnect does not
  make the audio newer, so a byte keeps its FIRST send time.
- A transcript whose end lies beyond the last mark (it beat the send hook, which runs after
  the send returns) gets no lag rather than a wrong one, unless within the rounding
  tolerance `END_TOLERANCE_SECONDS`.
- With `--pace max` the audio goes out faster than real time and the lag is still arrival
  minus send of the end audio: it then includes the server's processing backlog.
- Memory is bounded: marks older than `horizon_seconds` of audio behind the newest byte are
  dropped (no transcript refers that far back), and at most `max_marks` are kept; lags go
  into fixed log-spaced histograms (percentiles within `RESOLUTION`), not a growing list.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

RESOLUTION = 0.01  # relative width of a histogram bucket: percentiles within ±0.5 %
_FLOOR = 1e-4  # seconds: lags below this count as this (a loopback can be that fast)
# An utterance may end up to this much past the last byte sent (the server rounds times).
END_TOLERANCE_SECONDS = 0.05


def format_lag(seconds: float) -> str:
    """`0.8 ms`, `42 ms`, `1.25 s`: a lag of a loopback is not zero, just small."""
    if seconds < 0.01:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 1.0:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


class LagHistogram:
    """Lags in log-spaced buckets: constant memory whatever the session's length."""

    def __init__(self, resolution: float = RESOLUTION) -> None:
        self._log_step = math.log1p(resolution)
        self._buckets: dict[int, int] = {}  # at most a few thousand keys (1e-4 s … 1e6 s)
        self.count = 0
        self.minimum = math.inf
        self.maximum = -math.inf
        self.last: float | None = None

    def add(self, lag: float) -> None:
        lag = max(lag, 0.0)
        index = int(math.log(max(lag, _FLOOR) / _FLOOR) / self._log_step)
        self._buckets[index] = self._buckets.get(index, 0) + 1
        self.count += 1
        self.minimum = min(self.minimum, lag)
        self.maximum = max(self.maximum, lag)
        self.last = lag

    def percentile(self, p: float) -> float | None:
        """Nearest rank: the smallest lag with at least p % of the lags at or below it
        (within the resolution; exact at the extremes). None without lags."""
        if not self.count:
            return None
        rank = max(1, math.ceil(p / 100 * self.count))
        if rank == 1:
            return self.minimum
        if rank >= self.count:
            return self.maximum
        seen = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen >= rank:
                middle = _FLOOR * math.exp((index + 0.5) * self._log_step)
                return min(self.maximum, max(self.minimum, middle))
        return self.maximum


@dataclass(frozen=True)
class LagFigures:
    """What the status line and the summary show (seconds; None when unknown)."""

    final_last: float | None = None
    partial_last: float | None = None  # while the newest transcript is a partial
    final_p50: float | None = None
    final_p95: float | None = None
    partial_p50: float | None = None
    partial_p95: float | None = None
    finals: int = 0
    partials: int = 0


class LatencyTracker:
    """Send marks in, transcript arrivals in, lags out. Not thread-safe: the driver that
    calls it from several threads holds a lock (jobs/session_figures.py)."""

    def __init__(
        self,
        bytes_per_second: float,
        *,
        clock: Callable[[], float],
        horizon_seconds: float = 600.0,
        max_marks: int = 20_000,
    ) -> None:
        self._bytes_per_second = bytes_per_second
        self._clock = clock
        self._horizon = int(horizon_seconds * bytes_per_second)
        self._max_marks = max_marks
        # (end offset, first send time) of each frame, in stream order: the frame holding
        # byte b is the first mark whose end offset is > b.
        self._ends: deque[int] = deque()
        self._times: deque[float] = deque()
        self._sent = 0  # the furthest byte sent so far (exclusive)
        self._floor = 0  # where the oldest mark kept starts: older bytes are forgotten
        self.finals = LagHistogram()
        self.partials = LagHistogram()
        # Whether the newest transcript is a partial: once its final came, the partial lag
        # is history, not what the status line shows (it stayed through minutes of silence).
        self._partial_current = False

    @property
    def marks(self) -> int:
        return len(self._ends)

    def sent(self, offset: int, length: int, now: float | None = None) -> None:
        """Audio `[offset, offset + length)` just left the socket."""
        end = offset + length
        when = self._clock() if now is None else now
        if end <= self._sent:
            return  # a re-send: these bytes keep their first send time
        self._sent = end
        self._ends.append(end)
        self._times.append(when)
        oldest = end - self._horizon
        while self._ends and (self._ends[0] <= oldest or len(self._ends) > self._max_marks):
            self._floor = self._ends.popleft()
            self._times.popleft()

    def send_time(self, seconds: float) -> float | None:
        """When the audio at stream time `seconds` (the byte just before it) was first
        sent; None if it was not sent yet or is older than the marks kept."""
        if not math.isfinite(seconds) or seconds < 0:
            return None  # a server's NaN (JSON allows it) would raise in round(), in the receiver
        offset = round(seconds * self._bytes_per_second)
        if offset > self._sent:
            if offset - self._sent > END_TOLERANCE_SECONDS * self._bytes_per_second:
                return None
            offset = self._sent
        byte = max(offset - 1, 0)
        if byte < self._floor:
            return None  # the mark holding that byte was dropped
        index = bisect_left(self._ends, byte + 1)  # the first mark ending past `byte`
        if index >= len(self._ends):
            return None
        return self._times[index]

    def transcript(
        self, end_seconds: float, *, is_final: bool, now: float | None = None
    ) -> float | None:
        """A transcript whose utterance ends at `end_seconds` arrived: its lag, recorded
        (None, and nothing recorded, when the send time of that audio is unknown)."""
        arrived = self._clock() if now is None else now
        sent = self.send_time(end_seconds)
        self._partial_current = not is_final and sent is not None
        if sent is None:
            return None
        lag = max(0.0, arrived - sent)
        (self.finals if is_final else self.partials).add(lag)
        return lag

    def figures(self) -> LagFigures:
        return LagFigures(
            final_last=self.finals.last,
            partial_last=self.partials.last if self._partial_current else None,
            final_p50=self.finals.percentile(50),
            final_p95=self.finals.percentile(95),
            partial_p50=self.partials.percentile(50),
            partial_p95=self.partials.percentile(95),
            finals=self.finals.count,
            partials=self.partials.count,
        )
