"""Latency you can see: the lag on the status lines, its percentiles and the billed time in
the summary, from the real CLI against the local server (scripted engine, paced runs)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import requests
import soundfile as sf

from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import DATA, Run, run_cli
from tests.e2e.test_table_terminal import ANSI, _run_on_a_terminal
from tests.support import GLADIA, HEADERS, KEY, local_server, tone_bursts

SUMMARY = re.compile(r"gladia: session (\S+) done: (.*)")
SECONDS = r"([\d.]+) (ms|s)"


def _seconds(value: str, unit: str) -> float:
    return float(value) / 1000 if unit == "ms" else float(value)


def _summary(run: Run) -> tuple[str, str]:
    found = SUMMARY.search(run.stderr)
    assert found, run.stderr
    return found.group(1), found.group(2)


def _lags(summary: str, kind: str) -> tuple[float, float]:
    found = re.search(rf"{kind} lag p50 {SECONDS} p95 {SECONDS}", summary)
    assert found, summary
    p50 = _seconds(found.group(1), found.group(2))
    p95 = _seconds(found.group(3), found.group(4))
    return p50, p95


def _result(server: LocalServer, session_id: str) -> dict:
    response = requests.get(f"{server.url}/v2/live/{session_id}", headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_paced_run_sums_up_its_lags_and_the_billed_time(scripted: LocalServer) -> None:
    # Three channels taking turns, 6 s of audio at 3x: about 2 s of streaming.
    path = DATA / "meeting_3ch.wav"
    run = run_cli("file", str(path), "--pace", "3x", env={"GLADIA_API_URL": scripted.url})
    assert run.code == 0, run.stderr
    session_id, summary = _summary(run)
    final_p50, final_p95 = _lags(summary, "final")
    partial_p50, partial_p95 = _lags(summary, "partial")
    # The scripted engine closes an utterance after a short silence: at 3x, a fraction of
    # a second of wall time; the loopback itself adds next to nothing.
    assert 0 < final_p50 <= final_p95 < 3.0, summary
    assert 0 < partial_p50 <= partial_p95 < 3.0, summary
    # Billed: what the server reports, audio duration × channels.
    metadata = _result(scripted, session_id)["result"]["metadata"]
    assert metadata["billing_time"] == round(metadata["audio_duration"] * 3, 3)
    assert abs(metadata["audio_duration"] - sf.info(path).duration) < 0.01
    duration = metadata["audio_duration"]
    assert f"billed {metadata['billing_time']:.1f} s ({duration:.2f} s × 3 channels)" in summary
    assert "reconnect" not in summary


def test_json_stays_the_servers_result(scripted: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "one.wav"
    sf.write(path, tone_bursts([(0.2, 0.6, 0)], total=1.5), 16000)
    run = run_cli(
        "file", str(path), "--pace", "4x", "--format", "json", env={"GLADIA_API_URL": scripted.url}
    )
    assert run.code == 0, run.stderr
    session_id, summary = _summary(run)
    assert json.loads(run.stdout) == _result(scripted, session_id)  # nothing of ours added
    assert "final lag p50" in summary and "billed 1.5 s" in summary


def test_lags_survive_a_reconnect(tmp_path: Path) -> None:
    path = tmp_path / "bursts.wav"
    sf.write(path, tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0)], total=3.0), 16000)
    config = _no_post_processing(tmp_path)
    with local_server(faults=Faults(drop_after_bytes=40_000, fault_connections=1)) as server:
        run = run_cli(
            "file", str(path), "--pace", "4x", "--format", "text", "--config", str(config),
            env={"GLADIA_API_URL": server.url},
        )  # fmt: skip
        assert run.code == 0, run.stderr
        session_id, summary = _summary(run)
        billed = _result(server, session_id)["result"]["metadata"]["billing_time"]
    assert "reconnected" in run.stderr and "1 reconnect" in summary
    final_p50, final_p95 = _lags(summary, "final")
    # Re-sent audio keeps its first send time: the lag may include the outage, never more
    # than the whole run.
    assert 0 < final_p50 <= final_p95 < 10.0, summary
    # No post_final_transcript asked; after a drop the job checks the result, and the
    # billed time comes from there.
    assert f"billed {billed:.1f} s" in summary


def test_unknown_figures_are_left_out(scripted: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "one.wav"
    sf.write(path, tone_bursts([(0.2, 0.6, 0)], total=1.5), 16000)
    run = run_cli(
        "file", str(path), "--pace", "4x", "--format", "text", "--no-partials",
        "--config", str(_no_post_processing(tmp_path)),
        env={"GLADIA_API_URL": scripted.url},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    _, summary = _summary(run)
    assert "final lag p50" in summary
    # No partials asked: that figure is unknown, not zero. No post_final_transcript: the
    # billed time is the GET's that checks the duration (issue 18), not a guess.
    assert "partial lag" not in summary
    assert "billed 1.5 s" in summary


def _no_post_processing(tmp_path: Path) -> Path:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"messages_config": {"receive_post_processing_events": False}}))
    return config


def test_the_table_status_line_shows_the_lag(scripted: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "two.wav"
    # The second utterance is long: its partials keep coming for a second at 2x, while the
    # first one's final lag is known (the partial lag shows only while a partial is newest).
    sf.write(path, tone_bursts([(0.3, 0.8, 0), (1.5, 2.4, 0)], total=4.4), 16000)
    env = {
        key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "GLADIA_API_URL")
    }
    env.update({"GLADIA_API_KEY": KEY, "GLADIA_API_URL": scripted.url, "TERM": "xterm-256color"})
    code, output = _run_on_a_terminal([*GLADIA, "file", str(path), "--pace", "2x"], env)
    assert code == 0, output
    plain = ANSI.sub("", output)
    streaming = plain[: plain.rindex("● done")]
    # While streaming, the status line gives the lag of the newest final and partial.
    assert re.search(rf"● streaming[^●]*lag\s+{SECONDS}\s+\(partial\s+{SECONDS}\)", streaming), (
        plain
    )
