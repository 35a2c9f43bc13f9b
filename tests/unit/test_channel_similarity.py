"""Channels that carry one signal are sent as one; different channels stay apart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from gladia_cli.audio.channel_similarity import ChannelComparison, examine_file
from gladia_cli.audio.file_source import open_file_source

DATA = Path(__file__).parent.parent / "data"
RATE = 16000


def _voice(seconds: float, seed: int = 1) -> npt.NDArray[np.float64]:
    """Speech-like: noise bursts shaped by a slow envelope (silences between them)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = np.clip(np.sin(2 * np.pi * 0.7 * t), 0, None) ** 2
    return 0.3 * envelope * rng.standard_normal(len(t))


def _write(tmp_path: Path, name: str, channels: list[npt.NDArray[np.float64]]) -> Path:
    path = tmp_path / name
    sf.write(path, np.stack(channels, axis=1), RATE, subtype="PCM_16")
    return path


def test_copies_gains_and_dither_are_the_same_signal(tmp_path: Path) -> None:
    voice = _voice(5)
    noise = 0.002 * np.random.default_rng(9).standard_normal(len(voice))
    assert examine_file(_write(tmp_path, "copy.wav", [voice, voice]))
    assert examine_file(_write(tmp_path, "gain.wav", [voice, 0.5 * voice, voice]))
    assert examine_file(_write(tmp_path, "dither.flac", [voice, voice + noise]))


def test_different_channels_stay_apart(tmp_path: Path) -> None:
    voice, other = _voice(5, seed=1), _voice(5, seed=2)
    silence = np.zeros_like(voice)
    assert not examine_file(DATA / "meeting_3ch.wav")  # one speaker per channel
    assert not examine_file(_write(tmp_path, "two.wav", [voice, other]))
    assert not examine_file(_write(tmp_path, "flip.wav", [voice, -voice]))  # a mean cancels
    assert not examine_file(_write(tmp_path, "left.wav", [voice, silence]))
    assert not examine_file(_write(tmp_path, "mute.wav", [silence, silence]))
    assert not examine_file(DATA / "budget.wav")  # mono: nothing to merge


def test_a_long_file_is_sampled_from_start_to_end(tmp_path: Path) -> None:
    voice = _voice(200)
    right = voice.copy()
    middle = slice(95 * RATE, 110 * RATE)  # someone else, for 15 s in the middle
    right[middle] = _voice(15, seed=3)
    assert examine_file(_write(tmp_path, "long_same.wav", [voice, voice]))
    assert not examine_file(_write(tmp_path, "long_diff.wav", [voice, right]))


def test_the_comparison_stops_early_when_clearly_different() -> None:
    comparison = ChannelComparison(2)
    block = np.stack([_voice(2, 1), _voice(2, 2)], axis=1)
    comparison.add(block)
    assert comparison.clearly_different(RATE) and not comparison.same
    ints = np.round(np.stack([_voice(2, 1)] * 2, axis=1) * 32767).astype(np.int16)
    same = ChannelComparison(2)
    same.add(ints)
    assert same.same and not same.clearly_different(RATE)
    assert same.correlations() == pytest.approx([1.0])


def test_a_file_of_copies_is_sent_as_one_channel(tmp_path: Path) -> None:
    voice = _voice(3)
    path = _write(tmp_path, "stereo.wav", [voice, voice])
    merged = open_file_source(str(path), merge_copies=True)
    kept = open_file_source(str(path), merge_copies=False)
    try:
        assert (merged.format.channels, merged.merged_channels) == (1, 2)
        assert (kept.format.channels, kept.merged_channels) == (2, 0)
        one = np.concatenate(list(merged.blocks(1600)))
        both = np.concatenate(list(kept.blocks(1600)))
        assert one.shape == (len(both), 1)
        assert np.array_equal(one[:, 0], both[:, 0])  # the mean of copies is the signal
    finally:
        merged.close()
        kept.close()
    meeting = open_file_source(str(DATA / "meeting_3ch.wav"), merge_copies=True)
    try:
        assert meeting.format.channels == 3 and meeting.merged_channels == 0
    finally:
        meeting.close()
