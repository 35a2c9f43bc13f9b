"""Attack: `kill -9` of `gladia serve` mid-session, then a restart on the same port.

Before (issue 18): the client got "4401: invalid or expired token … the server rejected
what was sent", the restarted server knew no session, and the killed session's audio.raw
stayed on disk for ever. Now, without `--data-dir`, the client says the server restarted
and the session is gone (exit 4), and the restarted server removes the killed one's
folder; with `--data-dir`, the restarted server reports the session in status error with
the audio and finals it had stored, and runs again a job the kill interrupted."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile

from tests.support import GLADIA, HEADERS, KEY, tone_bursts, wait_until_streamed

SECONDS = 20.0
AUDIO = tone_bursts([(0.3 + 1.2 * n, 0.6, 0) for n in range(16)], total=SECONDS)


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    soundfile.write(path, AUDIO, 16000, subtype="PCM_16")
    return path


@contextmanager
def serve(*args: str, env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [*GLADIA, "serve", "--engine", "scripted", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), process.stderr.read() if process.stderr else ""
        yield process, url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def clients() -> Iterator[list[subprocess.Popen[str]]]:
    """The clients a test starts, killed at its end if a failed assertion left them."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate()


def stream(talk: Path, url: str, clients: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    """`gladia file` at the pace of speech, as a user would run it."""
    env = {
        **os.environ,
        "GLADIA_API_KEY": KEY,
        "GLADIA_API_URL": url,
        "XDG_CONFIG_HOME": "/nonexistent",
        "NO_COLOR": "1",
    }
    process = subprocess.Popen(
        [*GLADIA, "file", str(talk), "--pace", "realtime", "-f", "jsonl"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    clients.append(process)
    return process


def kill_mid_session(server: subprocess.Popen[str], url: str) -> None:
    wait_until_streamed(url, set(), 3.0)
    server.kill()  # SIGKILL: no shutdown of any kind
    server.wait()


def folders(parent: Path) -> list[Path]:
    return sorted(parent.glob("gladia-serve-*"))


def test_without_a_data_dir_the_client_says_the_server_restarted_and_no_file_is_left(
    talk: Path, tmp_path: Path, clients: list[subprocess.Popen[str]]
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {"TMPDIR": str(temp)}
    with serve("--port", "0", env=env) as (first, url):
        client = stream(talk, url, clients)
        kill_mid_session(first, url)
    (killed,) = folders(temp)
    assert list(killed.glob("**/audio.raw"))  # what the kill left behind
    port = url.rsplit(":", 1)[1]
    with serve("--port", port, env=env):
        _, stderr = client.communicate(timeout=60)
        assert client.returncode == 4, stderr
        errors = [line for line in stderr.splitlines() if line.startswith("gladia: error:")]
        assert len(errors) == 1, stderr
        assert "the server restarted and the session is gone" in errors[0]
        assert "rejected" not in stderr and "Traceback" not in stderr
        (current,) = folders(temp)  # the killed server's folder went at the start
        assert current != killed
    assert folders(temp) == []


def test_with_a_data_dir_the_session_and_the_job_survive_the_kill(
    talk: Path, tmp_path: Path, clients: list[subprocess.Popen[str]]
) -> None:
    data = tmp_path / "data"
    wav = io.BytesIO()
    soundfile.write(wav, AUDIO[: 16000 * 4], 16000, format="WAV", subtype="PCM_16")
    # The first server holds its job in processing (a slow finish), until it is killed.
    with serve("--port", "0", "--data-dir", str(data), "--slow-finish", "600", env={}) as (
        first,
        url,
    ):
        uploaded = requests.post(
            f"{url}/v2/upload", files={"audio": ("a.wav", wav.getvalue())}, headers=HEADERS
        ).json()
        job = requests.post(
            f"{url}/v2/pre-recorded", json={"audio_url": uploaded["audio_url"]}, headers=HEADERS
        ).json()["id"]
        client = stream(talk, url, clients)
        kill_mid_session(first, url)
    port = url.rsplit(":", 1)[1]
    with serve("--port", port, "--data-dir", str(data), env={}) as (_, again):
        _, stderr = client.communicate(timeout=60)
        assert client.returncode == 4, stderr
        assert "ended on the server while the connection was down" in stderr, stderr
        assert "the server restarted during the session" in stderr
        (session,) = requests.get(f"{again}/v2/live", headers=HEADERS).json()["items"]
        assert session["status"] == "error" and session["error_code"] == 500
        stored = requests.get(f"{again}/v2/live/{session['id']}/file", headers=HEADERS)
        pcm = np.frombuffer(stored.content[44:], dtype=np.int16)
        assert len(pcm) >= 3 * 16000  # at least what had been streamed at the kill
        assert np.array_equal(pcm, AUDIO[: len(pcm), 0])  # a prefix of the source, exactly
        # The finals it had stored (how many depends on the recogniser's pace at the kill;
        # tests/server/test_data_dir.py checks them one by one), none past the audio.
        utterances = session["result"]["transcription"]["utterances"]
        assert all(u["end"] <= len(pcm) / 16000 for u in utterances)
        assert session["file"]["audio_duration"] == pytest.approx(len(pcm) / 16000, abs=1e-3)
        deadline = time.monotonic() + 30
        while (view := requests.get(f"{again}/v2/pre-recorded/{job}", headers=HEADERS).json())[
            "status"
        ] != "done":
            assert time.monotonic() < deadline, view
            time.sleep(0.05)
        assert len(view["result"]["transcription"]["utterances"]) == 4  # bursts at 0.3 … 3.9 s


def test_a_second_server_on_a_data_dir_in_use_is_refused_in_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with serve("--port", "0", "--data-dir", str(data), env={}):
        second = subprocess.run(
            [*GLADIA, "serve", "--port", "0", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert second.returncode == 2, second.stderr
    assert second.stderr.startswith(f"gladia: error: --data-dir {data} is in use by another")
    assert "Traceback" not in second.stderr
