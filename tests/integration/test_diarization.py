"""Speakers in one channel on real speech, with the whisper engine and the speaker model
(server/prerecorded/diarization.py): `gladia file --local --speakers`, end to end, as a user
runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from tests.e2e.conftest import run_cli
from tests.integration.conftest import REAL

pytestmark = pytest.mark.integration


def _voices(path: Path) -> None:
    """A LibriVox reader, another person, the reader again: 1 s of silence between."""
    parts = []
    for name in ("librivox_0870", "goforward", "librivox_0930"):
        audio, rate = sf.read(REAL / f"{name}.wav", dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        parts += [soxr.resample(mono, rate, 16000) if rate != 16000 else mono]
        parts += [np.zeros(16000, np.float32)]
    sf.write(path, np.concatenate(parts), 16000, subtype="PCM_16")


def test_local_speakers_label_two_real_voices(tmp_path: Path) -> None:
    audio, out = tmp_path / "voices.wav", tmp_path / "voices.txt"
    _voices(audio)
    run = run_cli(
        "file", str(audio), "--local", "--pace", "max", "--speakers", "-o", str(out),
        timeout=300,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    lines = out.read_text().splitlines()
    speakers = [line.split("]")[0] + "]" for line in lines]
    go_forward = next(i for i, line in enumerate(lines) if "forward" in line.lower())
    assert speakers[go_forward] == "[speaker 1]", lines
    assert {s for i, s in enumerate(speakers) if i != go_forward} == {"[speaker 0]"}, lines
