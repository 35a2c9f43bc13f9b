"""The client's resume buffer: every byte sent and not yet acknowledged, nothing more.

Byte offsets are session-wide, as the server's acknowledgments are (`byte_range` is
half-open: `[start, end)`). After a reconnect the client re-sends `unacknowledged()`.
Appends and trims are amortised O(1): the buffer is a deque of the chunks as they were
sent, and a trim drops whole chunks and slices at most one (unlike the official SDK, whose
`bytes +=` re-copies the whole backlog on every send).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator


class ResumeBuffer:
    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._start = 0  # session offset of the first byte held
        self._end = 0  # session offset after the last byte appended
        self.peak_bytes = 0

    @property
    def acknowledged(self) -> int:
        """Session offset up to which the server confirmed receipt."""
        return self._start

    @property
    def sent(self) -> int:
        """Session offset after the last byte handed to the buffer."""
        return self._end

    @property
    def pending_bytes(self) -> int:
        return self._end - self._start

    def append(self, chunk: bytes) -> int:
        """Keep `chunk` until it is acknowledged; returns its session offset."""
        offset = self._end
        if chunk:
            self._chunks.append(bytes(chunk))
            self._end += len(chunk)
            self.peak_bytes = max(self.peak_bytes, self._end - self._start)
        return offset

    def acknowledge(self, end: int) -> int:
        """Drop everything before session offset `end`; returns how many bytes were freed.

        Stale or repeated acknowledgments free nothing; an acknowledgment beyond what was
        sent is clamped (a confused server must not make us forget unsent audio).
        """
        end = min(end, self._end)
        freed = 0
        while self._chunks and self._start < end:
            head = self._chunks[0]
            take = end - self._start
            if take >= len(head):
                self._chunks.popleft()
                self._start += len(head)
                freed += len(head)
            else:
                self._chunks[0] = head[take:]
                self._start += take
                freed += take
        return freed

    def unacknowledged(self, max_piece: int) -> Iterator[bytes]:
        """The bytes to re-send after a reconnect, in pieces of at most `max_piece` bytes."""
        for chunk in list(self._chunks):
            for i in range(0, len(chunk), max_piece):
                yield chunk[i : i + max_piece]
