"""Server-side resume accounting: re-sent audio is kept exactly once."""

from __future__ import annotations

from gladia_cli.server.ingest import AudioIngest


class Stream:
    """Ingest plus the bytes it kept, as the server's store would hold them."""

    def __init__(self, append_only: bool = False) -> None:
        self.stored = bytearray()
        self.ingest = AudioIngest(
            lambda o, n: bytes(self.stored[o : o + n]), append_only=append_only
        )
        self.ingest.new_connection()

    def send(self, chunk: bytes, ack: bool = True) -> tuple[int, int]:
        received = self.ingest.receive(chunk)
        self.stored += received.fresh
        if ack:
            self.ingest.acknowledged(received.end)
        return received.start, received.end


AUDIO = bytes(i % 251 for i in range(10_000))  # no repeats within a resume window


def test_first_connection_is_placed_at_zero() -> None:
    s = Stream()
    assert s.send(AUDIO[:1000]) == (0, 1000)
    assert s.send(AUDIO[1000:2500]) == (1000, 2500)


def test_clean_drop_resume_from_the_last_ack() -> None:
    s = Stream()
    s.send(AUDIO[:1000])
    s.send(AUDIO[1000:2000])
    s.ingest.new_connection()
    assert s.send(AUDIO[2000:3000]) == (2000, 3000)
    assert bytes(s.stored) == AUDIO[:3000]


def test_unacknowledged_audio_resent_is_not_kept_twice() -> None:
    s = Stream()
    s.send(AUDIO[:1000])
    s.send(AUDIO[1000:2000], ack=False)  # received and kept, ack held back (delay fault)
    s.ingest.new_connection()
    assert s.send(AUDIO[1000:2000]) == (1000, 2000)  # the client re-sends it
    s.send(AUDIO[2000:3000])
    assert bytes(s.stored) == AUDIO[:3000]


def test_lost_acknowledgments_are_found_by_content() -> None:
    s = Stream()
    for i in range(0, 4000, 500):
        s.send(AUDIO[i : i + 500])  # acks sent up to 4000...
    s.send(AUDIO[4000:5000], ack=False)  # ...the last 1000 bytes still unacknowledged
    s.ingest.new_connection()
    # The client got acks up to 3000 only: 4000, 3500 are ruled out by content.
    assert s.send(AUDIO[3000:3700]) == (3000, 3700)
    s.send(AUDIO[3700:6000])
    assert bytes(s.stored) == AUDIO[:6000]


def test_lost_acknowledgments_when_all_was_acknowledged_duplicate_never_lose() -> None:
    s = Stream()
    for i in range(0, 5000, 500):
        s.send(AUDIO[i : i + 500])
    s.ingest.new_connection()
    s.send(AUDIO[3000:6000])  # resumes at 3000, indistinguishable from fresh audio
    assert bytes(s.stored) == AUDIO[:5000] + AUDIO[3000:6000]


def test_a_periodic_signal_after_a_clean_drop_is_not_taken_for_a_resend() -> None:
    tone = bytes([0, 10, 20, 10]) * 2000  # period 4 bytes: every offset "matches"
    s = Stream()
    s.send(tone[:4000])
    s.ingest.new_connection()
    s.send(tone[4000:8000])
    assert bytes(s.stored) == tone


def test_a_resend_that_matches_nothing_is_kept() -> None:
    s = Stream()
    s.send(AUDIO[:1000])
    s.ingest.new_connection()
    other = b"\xff" * 300
    assert s.send(other) == (1000, 1300)
    assert bytes(s.stored) == AUDIO[:1000] + other


def test_without_acknowledgments_every_connection_appends() -> None:
    s = Stream(append_only=True)
    s.send(AUDIO[:1000], ack=False)
    s.ingest.new_connection()
    s.send(AUDIO[:500], ack=False)  # same bytes again, but the client cannot be resuming
    assert bytes(s.stored) == AUDIO[:1000] + AUDIO[:500]


def test_several_reconnects() -> None:
    s = Stream()
    position = 0
    for _ in range(5):
        s.ingest.new_connection()
        s.send(AUDIO[position : position + 700])
        s.send(AUDIO[position + 700 : position + 1200], ack=False)
        position += 700
    s.ingest.new_connection()
    s.send(AUDIO[position : position + 2000])
    assert bytes(s.stored) == AUDIO[: position + 2000]
