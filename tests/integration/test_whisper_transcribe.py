"""`gladia transcribe --local` with the whisper engine on a short real clip: the
pre-recorded path (upload, job, file mode without pacing) recognises real speech."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import run_cli
from tests.integration.conftest import REAL

pytestmark = pytest.mark.integration


def test_whisper_transcribes_a_real_clip_as_a_pre_recorded_job() -> None:
    clip = REAL / "librivox_0870.wav"
    # "and mister john dashwood had then leisure to consider how much there might be
    # prudently in his power to do for them" (Whisper base: WER 0.045 here)
    run = run_cli("transcribe", str(clip), "--local", "-f", "text", "-l", "en", timeout=180)
    assert run.code == 0, run.stderr
    heard = {w.strip(".,").lower() for w in run.stdout.split()}
    assert {"john", "leisure", "consider", "power", "them"} <= heard, run.stdout


def test_a_french_clip_is_translated_into_english() -> None:
    clip = REAL / "fr_check-number-dial-again.wav"
    run = run_cli(
        "transcribe",
        str(clip),
        "--local",
        "-f",
        "json",
        "-l",
        "fr",
        "--translate",
        "en",
        timeout=180,
    )
    assert run.code == 0, run.stderr
    import json

    result = json.loads(run.stdout)["result"]
    assert result["transcription"]["languages"] == ["fr"]
    container = result["translation"]
    assert container["success"], container
    (english,) = container["results"]
    assert english["languages"] == ["en"] and english["full_transcript"].strip()
    assert english["full_transcript"] != result["transcription"]["full_transcript"]
