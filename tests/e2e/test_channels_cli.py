"""`gladia file` on a stereo file of one source: sent (and billed) as one channel, said on
stderr; `--multichannel` keeps both; labels follow what is sent."""

from __future__ import annotations

import json
from pathlib import Path

import soundfile as sf

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import run_cli
from tests.support import get_session, tone_bursts


def _stereo_copy(tmp_path: Path) -> Path:
    mono = tone_bursts([(0.3, 1.0, 0)], total=2.0)
    path = tmp_path / "stereo.wav"
    sf.write(path, mono.repeat(2, axis=1), 16000)
    return path


def _session(server: LocalServer, stdout: str) -> dict:
    session_id = json.loads(stdout.splitlines()[0])["session_id"]
    return get_session(server.url, session_id)


def test_channels_that_are_copies_are_sent_as_one(scripted: LocalServer, tmp_path: Path) -> None:
    path = _stereo_copy(tmp_path)
    env = {"GLADIA_API_URL": scripted.url}
    run = run_cli("file", str(path), "--pace", "max", env=env)
    assert run.code == 0, run.stderr
    assert (
        "gladia: the 2 channels of stereo.wav carry the same signal: sending them as one "
        "(--multichannel sends each)"
    ) in run.stderr
    session = _session(scripted, run.stdout)
    assert session["request_params"]["channels"] == 1
    metadata = session["result"]["metadata"]
    assert metadata["number_of_distinct_channels"] == 1
    assert metadata["billing_time"] == metadata["audio_duration"]
    finals = [m for m in map(json.loads, run.stdout.splitlines()) if m["type"] == "transcript"]
    assert len([m for m in finals if m["data"]["is_final"]]) == 1  # said once, not twice

    both = run_cli("file", str(path), "--pace", "max", "--multichannel", env=env)
    assert both.code == 0, both.stderr
    assert "same signal" not in both.stderr
    assert _session(scripted, both.stdout)["request_params"]["channels"] == 2

    labelled = run_cli("file", str(path), "--label", "left,right", env=env)
    assert labelled.code == 2
    assert "gladia: error: --label names 2 channels but the audio sent has 1 channel" in (
        labelled.stderr
    )
    assert "add --multichannel to keep them all" in labelled.stderr
