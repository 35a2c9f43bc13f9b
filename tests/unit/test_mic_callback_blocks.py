"""PortAudio's block size for a microphone: about 20 ms, dividing the chunk sent."""

from __future__ import annotations

import pytest

from gladia_cli.audio.mic_source import callback_frames


@pytest.mark.parametrize(
    ("rate", "chunk_ms", "frames"),
    [
        (16000, None, 320),  # no chunk given: 20 ms
        (16000, 100, 320),  # 20 ms divides 100 ms
        (16000, 200, 320),
        (16000, 50, 200),  # 12.5 ms: four blocks a chunk, none straddling two chunks
        (44100, 50, 735),
        (48000, 50, 800),
        (16000, 20, 320),
        (16000, 30, 240),
    ],
)
def test_the_block_divides_the_chunk(rate: int, chunk_ms: int | None, frames: int) -> None:
    chunk = None if chunk_ms is None else chunk_ms / 1000
    assert callback_frames(rate, chunk) == frames
    if chunk_ms is not None:
        assert (rate * chunk_ms // 1000) % frames == 0
        assert rate * 0.005 <= frames <= rate * 0.02


def test_no_divisor_of_at_least_5_ms_keeps_20_ms() -> None:
    # 1009 frames is prime: no block between 5 and 20 ms divides it.
    assert callback_frames(16000, 1009 / 16000) == 320
