"""Issue 18, item 1: exit 0 only when the server acknowledged every byte sent and the end
result accounts for the whole stream. A server that acknowledged 200,000 of 424,450 bytes,
sent no end messages and closed with 1000 got "done … exit 0"; so did one that never
acknowledged. Against a hostile loopback server (tests/hostile.py), with no reconnect."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.conftest import Run, run_cli
from tests.hostile import HostileLiveServer, Lies

SAMPLES = 212_225  # 424,450 bytes of 16 kHz mono 16-bit audio: 13.26 s
SENT = 2 * SAMPLES


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "talk.wav"
    rng = np.random.default_rng(18)
    pcm = (rng.standard_normal(SAMPLES) * 3000).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm.tobytes())
    return path


def _stream(server: HostileLiveServer, talk: Path) -> Run:
    return run_cli("file", str(talk), "--pace", "max", "-f", "text", "--api-url", server.url)


def test_half_the_audio_acknowledged_then_a_normal_close_is_not_a_success(talk: Path) -> None:
    lies = Lies(acks_up_to=200_000, stop_ack=False, end_messages=False)
    with HostileLiveServer(lies) as server:
        run = _stream(server, talk)
    assert server.seen.audio_bytes == SENT and server.seen.stops == 1
    assert run.code == 4, run.stderr
    assert f"acknowledged 200000 of the {SENT} bytes of audio sent (6.25 of 13.26 s)" in run.stderr
    assert "gladia: hint: the last 7.01 s may be missing" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_server_that_never_acknowledges_is_not_a_success(talk: Path) -> None:
    lies = Lies(acks_up_to=0, stop_ack=False, end_messages=False)
    with HostileLiveServer(lies) as server:
        run = _stream(server, talk)
    assert run.code == 4, run.stderr
    assert f"acknowledged none of the {SENT} bytes" in run.stderr
    # The client asked for acknowledgments: a server that sends none did not honour it.
    assert server.seen.inits[0]["messages_config"]["receive_acknowledgments"] is True


def test_without_end_messages_a_get_of_the_session_is_the_check(talk: Path) -> None:
    with HostileLiveServer(Lies(end_messages=False)) as server:
        run = _stream(server, talk)
    assert run.code == 0, run.stderr
    assert server.seen.gets >= 1


def test_a_session_result_holding_less_than_was_sent_is_an_error(talk: Path) -> None:
    with HostileLiveServer(Lies(end_messages=False, rest_duration=5.0)) as server:
        run = _stream(server, talk)
    assert run.code == 4, run.stderr
    assert "the server holds 5.00 s of the 13.26 s of audio sent" in run.stderr


def test_a_result_that_cannot_be_read_is_not_a_success(talk: Path) -> None:
    with HostileLiveServer(Lies(end_messages=False, rest_status=500)) as server:
        run = _stream(server, talk)
    assert run.code == 4, run.stderr
    assert "could not check that the server kept all the audio" in run.stderr


def test_end_messages_with_the_whole_duration_need_no_get(talk: Path) -> None:
    with HostileLiveServer(Lies()) as server:
        run = _stream(server, talk)
    assert run.code == 0, run.stderr
    assert server.seen.gets == 0


def test_acknowledgments_lost_but_the_stop_acknowledgment_counts_the_whole(talk: Path) -> None:
    """The stop acknowledgment's duration says every byte arrived (acknowledgments dropped on
    the way are not audio lost: the fault proxy's withheld acknowledgments)."""
    with HostileLiveServer(Lies(acks_up_to=0)) as server:
        run = _stream(server, talk)
    assert run.code == 0, run.stderr
