"""`gladia file` against a server that is slow on purpose: slowed down, never broken.

The server's recognition takes wall time per second of audio (`--slow-recognition`, any
engine), so its backlog builds up in seconds with no real load. A client that called such
a server dead (it stopped reading its socket at its backlog bound, pings unanswered) used
to reconnect again and again, re-send, and give up with exit 4.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import soundfile as sf

from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import Run, run_cli
from tests.support import local_server, tone_bursts

# 24 s, a burst every 1.5 s: the scripted engine hears 16 utterances, words running on.
LONG = tone_bursts([(0.3 + 1.5 * i, 0.8, 0) for i in range(16)], total=24.0)


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("slow") / "long.wav"
    sf.write(path, LONG, 16000, subtype="PCM_16")
    return path


def _file(server: LocalServer, wav: Path, *args: str) -> Run:
    return run_cli(
        "file", str(wav), "-f", "text", *args, env={"GLADIA_API_URL": server.url}, timeout=120
    )


def test_a_slow_server_slows_a_max_pace_client_down_without_a_reconnect(long_wav: Path) -> None:
    with local_server() as quick:
        expected = _file(quick, long_wav, "--pace", "max")
    assert expected.code == 0 and len(expected.stdout.splitlines()) == 16
    faults = Faults(slow_recognition=0.4)  # 24 s of audio take ~10 s to recognise
    with local_server(max_recognition_backlog=1.0, faults=faults) as slow:
        # --dead-after 1: a server silent for a second is dead. This one is behind, and
        # alive: it answers pings and holds its acknowledgments back.
        run = _file(slow, long_wav, "--pace", "max", "--dead-after", "1")
    assert run.code == 0, run.stderr
    assert "reconnect" not in run.stderr and "dropping the connection" not in run.stderr
    assert run.stderr.count("the server is behind") == 1, run.stderr
    assert run.stdout == expected.stdout  # every final once, the same as from a quick server


def test_the_stop_waits_as_long_as_the_server_makes_progress(long_wav: Path) -> None:
    faults = Faults(slow_recognition=0.5)  # the results come over ~12 s after the stop
    with local_server(max_recognition_backlog=30.0, faults=faults) as slow:
        started = time.monotonic()
        run = _file(slow, long_wav, "--pace", "max", "--stop-timeout", "3")
    assert run.code == 0, run.stderr
    assert time.monotonic() - started > 6  # well past --stop-timeout: it kept progressing
    assert len(run.stdout.splitlines()) == 16
