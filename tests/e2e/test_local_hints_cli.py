"""With --local the embedded server stops with the command: no hint may point at a session
or a job on it (`gladia sessions get ID` then failed with "no API key", exit 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from tests.e2e.conftest import DATA, run_cli


def test_transcribe_local_timeout_does_not_point_at_a_gone_job(tmp_path: Path) -> None:
    speech, rate = sf.read(DATA / "book_table.wav", dtype="int16")
    long = tmp_path / "long.wav"
    sf.write(long, np.tile(speech, 8), rate)  # ~40 s: sphinx needs several seconds
    run = run_cli(
        "transcribe", str(long), "--local", "--local-engine", "sphinx", "--timeout", "1",
        timeout=120,
    )  # fmt: skip
    assert run.code == 4, run.stderr
    assert "after 1 s" in run.stderr
    assert "transcriptions get" not in run.stderr
    assert "the local server stops with gladia, and the job with it" in run.stderr
