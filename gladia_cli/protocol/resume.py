"""The client's resume buffer: every byte sent and not yet acknowledged, nothing more.

Byte offsets are session-wide, as the server's acknowledgments are (`byte_range` is
half-open: `[start, end)`). After a reconnect the client re-sends from `acknowledged`,
reading with `read(offset, size)` as it goes. Appends and trims are amortised O(1): the
memory tier is a list of the chunks as they were appended, a trim drops whole chunks and
slices at most one (unlike the official SDK, whose `bytes +=` re-copies the whole backlog
on every send).

Memory is bounded: past `memory_limit` bytes, appends go to an `Overflow` (the client's is
a temporary file) until everything in it has been acknowledged. Nothing is ever dropped:
an outage, or a server that stopped acknowledging, costs disk, not memory. The overflow is
injected, so the rules are tested with an in-memory one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import Protocol


class Overflow(Protocol):
    """Append-only storage for the bytes past the memory bound."""

    def write(self, data: bytes) -> None: ...

    def read(self, position: int, size: int) -> bytes: ...

    def reset(self) -> None:
        """Forget everything written (all of it was acknowledged)."""
        ...

    def close(self) -> None: ...


class MemoryOverflow:
    """An `Overflow` in memory: for tests, where the bound itself is what is tested."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.resets = 0

    def write(self, data: bytes) -> None:
        self.data += data

    def read(self, position: int, size: int) -> bytes:
        return bytes(self.data[position : position + size])

    def reset(self) -> None:
        self.data.clear()
        self.resets += 1

    def close(self) -> None:
        self.data.clear()


class ResumeBuffer:
    def __init__(
        self,
        *,
        memory_limit: int | None = None,
        overflow: Callable[[], Overflow] | None = None,
    ) -> None:
        self._memory_limit = memory_limit if overflow is not None else None
        self._make_overflow = overflow
        self._overflow: Overflow | None = None
        # The memory tier holds [acknowledged, _memory_end); the overflow [_memory_end, sent).
        self._chunks: list[bytes] = []
        self._starts: list[int] = []  # session offset of each chunk
        self._head = 0  # index of the first chunk still held
        self._start = 0  # session offset of the first byte held (= acknowledged)
        self._end = 0  # session offset after the last byte appended
        self._memory_end = 0
        self._overflow_base = 0  # session offset of the overflow's position 0
        self.peak_bytes = 0
        self.spills = 0  # how many times appends started going to the overflow

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

    @property
    def memory_bytes(self) -> int:
        return max(0, self._memory_end - self._start)

    @property
    def overflow_bytes(self) -> int:
        return self._end - max(self._start, self._memory_end)

    def append(self, chunk: bytes) -> int:
        """Keep `chunk` until it is acknowledged; returns its session offset."""
        offset = self._end
        if not chunk:
            return offset
        spilling = self._end > self._memory_end
        if not spilling and self._memory_limit is not None:
            spilling = self.memory_bytes + len(chunk) > self._memory_limit
            if spilling:
                self.spills += 1
                self._overflow_base = self._end
        if spilling:
            if self._overflow is None:
                assert self._make_overflow is not None
                self._overflow = self._make_overflow()
            self._overflow.write(bytes(chunk))
        else:
            self._chunks.append(bytes(chunk))
            self._starts.append(self._end)
            self._memory_end = self._end + len(chunk)
        self._end += len(chunk)
        self.peak_bytes = max(self.peak_bytes, self._end - self._start)
        return offset

    def acknowledge(self, end: int) -> int:
        """Drop everything before session offset `end`; returns how many bytes were freed.

        Stale or repeated acknowledgments free nothing; an acknowledgment beyond what was
        sent is clamped (a confused server must not make us forget unsent audio).
        """
        end = min(end, self._end)
        if end <= self._start:
            return 0
        freed = end - self._start
        while self._head < len(self._chunks) and self._starts[self._head] < end:
            chunk_end = self._starts[self._head] + len(self._chunks[self._head])
            if chunk_end <= end:
                self._head += 1
            else:
                cut = end - self._starts[self._head]
                self._chunks[self._head] = self._chunks[self._head][cut:]
                self._starts[self._head] = end
                break
        if self._head > 64 and self._head * 2 > len(self._chunks):
            del self._chunks[: self._head]
            del self._starts[: self._head]
            self._head = 0
        self._start = end
        if self._start >= self._memory_end:
            self._memory_end = max(self._memory_end, self._start)
        if self._start == self._end and self._overflow is not None:
            # Everything acknowledged: the overflow is empty again, memory takes appends.
            if self._end > self._overflow_base:
                self._overflow.reset()
            self._overflow_base = self._memory_end = self._end
        return freed

    def read(self, offset: int, size: int) -> bytes:
        """Up to `size` bytes from session offset `offset` (not below `acknowledged`)."""
        offset = max(offset, self._start)
        size = min(size, self._end - offset)
        if size <= 0:
            return b""
        if offset >= self._memory_end:
            assert self._overflow is not None
            return self._overflow.read(offset - self._overflow_base, size)
        size = min(size, self._memory_end - offset)
        index = bisect_right(self._starts, offset, lo=self._head) - 1
        pieces: list[bytes] = []
        while size > 0:
            chunk, start = self._chunks[index], self._starts[index]
            piece = chunk[offset - start : offset - start + size]
            pieces.append(piece)
            offset += len(piece)
            size -= len(piece)
            index += 1
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def unacknowledged(self, max_piece: int) -> Iterator[bytes]:
        """Everything not yet acknowledged, in pieces of at most `max_piece` bytes."""
        offset = self._start
        while offset < self._end:
            piece = self.read(offset, max_piece)
            offset += len(piece)
            yield piece

    def close(self) -> None:
        if self._overflow is not None:
            self._overflow.close()
            self._overflow = None
