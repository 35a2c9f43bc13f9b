"""The server's back-pressure rule: acknowledgments held while recognition is behind."""

from __future__ import annotations

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.live.ack_credit import AckCredit, credit_limit
from gladia_cli.server.live.ingest import MAX_HOLD_BYTES, Received


def chunk(start: int, end: int) -> Received:
    return Received(start, end, b"\0" * (end - start))


def spans(chunks: list[Received]) -> list[tuple[int, int]]:
    """Where the acknowledged chunks sit (an acknowledgment needs no more)."""
    return [(c.start, c.end) for c in chunks]


def test_a_chunk_within_the_limit_of_recognition_is_acknowledged_at_once() -> None:
    credit = AckCredit(limit_bytes=1000)
    assert spans(credit.offer(chunk(0, 600), recognised=0)) == [(0, 600)]
    assert spans(credit.offer(chunk(600, 1000), recognised=0)) == [(600, 1000)]  # at the limit
    assert not credit.holding


def test_chunks_past_the_limit_wait_for_recognition_in_order() -> None:
    credit = AckCredit(limit_bytes=1000)
    assert credit.offer(chunk(0, 1200), recognised=0) == []
    assert credit.offer(chunk(1200, 1300), recognised=100) == []
    assert credit.holding and credit.held_bytes == 1300
    assert spans(credit.progress(recognised=250)) == [(0, 1200)]
    assert credit.progress(recognised=299) == []
    assert spans(credit.progress(recognised=300)) == [(1200, 1300)]
    assert not credit.holding


def test_the_stop_releases_everything_and_a_new_connection_starts_with_nothing_held() -> None:
    credit = AckCredit(limit_bytes=10)
    credit.offer(chunk(0, 100), recognised=0)
    credit.offer(chunk(100, 200), recognised=0)
    assert spans(credit.release_all()) == [(0, 100), (100, 200)]
    credit.offer(chunk(200, 300), recognised=0)
    credit.clear()
    assert not credit.holding and credit.progress(recognised=300) == []


def test_the_limit_is_whole_frames_and_stays_inside_what_a_resume_can_compare() -> None:
    three = AudioFormat(channels=3)  # 6-byte frames, 96 000 bytes a second
    assert credit_limit(1.0, three) == 96_000
    assert credit_limit(1.0001, three) % three.frame_bytes == 0
    assert credit_limit(3600.0, three) <= MAX_HOLD_BYTES // 2
    assert credit_limit(0.0, three) == three.frame_bytes


def test_held_acknowledgments_keep_where_chunks_sit_not_their_bytes() -> None:
    import tracemalloc

    # A client that ignores the window while recognition stays behind: every chunk is held.
    credit = AckCredit(limit_bytes=3200)
    tracemalloc.start()
    try:
        for i in range(100_000):
            credit.offer(chunk(i * 3200, (i + 1) * 3200), recognised=0)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(credit) == 99_999
    assert held < 4_000_000  # 16 bytes a chunk; the chunks themselves were 320 MB
    released = credit.release_all()
    assert spans(released[:2]) == [(3200, 6400), (6400, 9600)]  # the first went at once
    assert all(r.fresh == b"" for r in released)
