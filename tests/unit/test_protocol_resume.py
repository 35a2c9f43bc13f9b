"""The client's resume buffer, close-code policy and backoff: plain objects, no sockets."""

from __future__ import annotations

import tracemalloc

from gladia_cli.protocol.closing import is_retryable
from gladia_cli.protocol.resume import ResumeBuffer
from gladia_cli.protocol.retry import Backoff, retry_after


def test_acknowledgments_free_exactly_what_they_cover() -> None:
    buffer = ResumeBuffer()
    assert buffer.append(b"a" * 10) == 0
    assert buffer.append(b"b" * 10) == 10
    assert buffer.append(b"c" * 10) == 20
    assert buffer.acknowledge(15) == 15  # half-open [0, 15): into the second chunk
    assert buffer.acknowledged == 15 and buffer.pending_bytes == 15
    assert b"".join(buffer.unacknowledged(1 << 20)) == b"b" * 5 + b"c" * 10


def test_stale_repeated_and_excessive_acknowledgments() -> None:
    buffer = ResumeBuffer()
    buffer.append(b"x" * 100)
    buffer.acknowledge(60)
    assert buffer.acknowledge(40) == 0  # stale
    assert buffer.acknowledge(60) == 0  # repeated
    assert buffer.acknowledge(10_000) == 40  # beyond what was sent: clamped
    assert buffer.pending_bytes == 0 and buffer.acknowledged == 100


def test_resend_pieces_respect_the_limit_and_keep_order() -> None:
    buffer = ResumeBuffer()
    data = bytes(range(256)) * 40
    for i in range(0, len(data), 1000):
        buffer.append(data[i : i + 1000])
    buffer.acknowledge(1500)
    pieces = list(buffer.unacknowledged(300))
    assert all(len(p) <= 300 for p in pieces)
    assert b"".join(pieces) == data[1500:]


def test_memory_is_bounded_by_the_unacknowledged_window() -> None:
    """Stream 64 MB through the buffer with acks trailing by ~10 chunks: memory stays at the
    window, not the total (the SDK's `bytes +=` buffer would hold it all, copied each time)."""
    buffer = ResumeBuffer()
    chunk = b"\0" * 3200
    tracemalloc.start()
    for i in range(20_000):
        buffer.append(chunk)
        if i >= 10:
            buffer.acknowledge((i - 10) * len(chunk))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert buffer.sent == 20_000 * 3200
    assert buffer.peak_bytes <= 12 * 3200
    assert peak < 1_000_000


def test_close_code_policy() -> None:
    assert not is_retryable(1000)
    assert not is_retryable(4400) and not is_retryable(4499)
    for code in (None, 1001, 1006, 1009, 1011, 1012, 4000, 4500, 3008):
        assert is_retryable(code), code


def test_backoff() -> None:
    backoff = Backoff(base=0.25, factor=2, cap=2, attempts=5)
    assert [backoff.delay(n) for n in range(1, 6)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert backoff.allows(5) and not backoff.allows(6)
    assert retry_after("3", 1.0) == 3.0
    assert retry_after("999", 1.0) == 30.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1.5) == 1.5
    assert retry_after(None, 0.7) == 0.7


def test_reads_cross_from_memory_into_the_overflow_and_back() -> None:
    from gladia_cli.client.spill import TemporaryFileOverflow

    overflow: list[TemporaryFileOverflow] = []

    def make() -> TemporaryFileOverflow:
        overflow.append(TemporaryFileOverflow())
        return overflow[0]

    buffer = ResumeBuffer(memory_limit=1000, overflow=make)
    data = bytes(i % 256 for i in range(5000))
    for start in range(0, 5000, 300):
        buffer.append(data[start : start + 300])
    assert buffer.memory_bytes == 900 and buffer.overflow_bytes == 4100 and buffer.spills == 1
    assert b"".join(buffer.unacknowledged(700)) == data
    assert buffer.read(850, 100) == data[850:900]  # memory only: stops at the boundary
    assert buffer.read(900, 100) == data[900:1000]  # from the file
    buffer.acknowledge(2000)
    assert buffer.memory_bytes == 0 and buffer.read(2000, 10) == data[2000:2010]
    buffer.acknowledge(5000)
    assert buffer.pending_bytes == 0
    buffer.append(b"next")  # everything acknowledged: memory again, the file emptied
    assert buffer.memory_bytes == 4 and buffer.read(5000, 10) == b"next"
    buffer.close()
