"""Attack: `gladia transcriptions` ids and unfinished jobs. A prefix shared by several jobs
(or by none) was called a *session* id with a `gladia sessions list` hint; deleting a job
still processing was the server's 403 read as a refused key (exit 3, "run gladia auth
login"). A 413 upload said "give an audio file"."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gladia_cli.server.prerecorded import routes as prerecorded
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import DATA, run_cli
from tests.support import HEADERS, RawClient, create_session, local_server


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalServer, threading.Event]]:
    """An in-process server whose pre-recorded jobs run until the event is set."""
    release = threading.Event()
    real = prerecorded.transcribe_file

    def slow(*args: Any, **kwargs: Any) -> Any:
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(prerecorded, "transcribe_file", slow)
    with local_server(max_upload_bytes=100_000) as server:
        yield server, release
        release.set()


def _job(url: str) -> str:
    with (DATA / "budget.wav").open("rb") as f:
        data = f.read(60_000)  # under the upload limit; a WAV cut short decodes
    uploaded = requests.post(
        f"{url}/v2/upload", files={"audio": ("a.wav", data)}, headers=HEADERS, timeout=10
    ).json()
    created = requests.post(
        f"{url}/v2/pre-recorded",
        json={"audio_url": uploaded["audio_url"]},
        headers=HEADERS,
        timeout=10,
    ).json()
    return str(created["id"])


def _status(url: str, job_id: str) -> str:
    got = requests.get(f"{url}/v2/pre-recorded/{job_id}", headers=HEADERS, timeout=10)
    return str(got.json()["status"])


def test_deleting_a_processing_job_is_not_a_refused_key(
    held: tuple[LocalServer, threading.Event],
) -> None:
    server, release = held
    job_id = _job(server.url)
    deadline = time.monotonic() + 10
    while _status(server.url, job_id) != "processing" and time.monotonic() < deadline:
        time.sleep(0.02)
    run = run_cli("transcriptions", "delete", job_id, env={"GLADIA_API_URL": server.url})
    assert run.code == 2, run.stderr
    assert f"transcription {job_id} is processing: it can be deleted once it ends" in run.stderr
    assert "gladia: hint: gladia transcriptions list shows its status" in run.stderr
    assert "auth login" not in run.stderr
    release.set()
    while _status(server.url, job_id) != "done" and time.monotonic() < deadline:
        time.sleep(0.02)
    done = run_cli("transcriptions", "delete", job_id[:8], env={"GLADIA_API_URL": server.url})
    assert done.code == 0, done.stderr
    assert f"gladia: deleted {job_id}" in done.stderr


def test_prefix_messages_speak_of_transcriptions(
    held: tuple[LocalServer, threading.Event],
) -> None:
    server, release = held
    release.set()
    ids = [_job(server.url) for _ in range(20)]  # 16 hex digits: two share a first one
    first = [i[0] for i in ids]
    shared = next(c for c in first if first.count(c) > 1)
    absent = next(c for c in "0123456789abcdef" if c not in first)
    env = {"GLADIA_API_URL": server.url}
    ambiguous = run_cli("transcriptions", "get", shared, env=env)
    assert ambiguous.code == 2
    assert f"transcriptions have an id starting with {shared}" in ambiguous.stderr
    assert "(gladia transcriptions list shows them)" in ambiguous.stderr
    missing = run_cli("transcriptions", "delete", absent, env=env)
    assert missing.code == 2
    assert f"gladia: error: no transcription id starts with {absent}" in missing.stderr
    assert "gladia: hint: list the transcriptions with: gladia transcriptions list" in (
        missing.stderr
    )
    bad = run_cli("transcriptions", "get", "../x", env=env)
    assert bad.code == 2 and "not a transcription id: '../x'" in bad.stderr
    assert "sessions" not in ambiguous.stderr + missing.stderr + bad.stderr


def test_an_upload_over_the_servers_limit_says_how_to_make_it_smaller(
    held: tuple[LocalServer, threading.Event], tmp_path: Path
) -> None:
    server, _ = held
    big = tmp_path / "big.wav"
    big.write_bytes((DATA / "budget.wav").read_bytes())  # 115 kB > 100 kB
    run = run_cli("transcribe", str(big), env={"GLADIA_API_URL": server.url})
    assert run.code == 5, run.stderr
    assert "(413)" in run.stderr
    assert "gladia: hint: make the file smaller" in run.stderr


def test_deleting_a_live_session_still_streaming_is_not_a_refused_key() -> None:
    with local_server() as server:
        session = create_session(server.url)
        client = RawClient(session["url"])
        try:
            client.send_audio(b"\0" * 3200)
            client.read(1)  # its acknowledgment: the session is processing
            run = run_cli("sessions", "delete", session["id"], env={"GLADIA_API_URL": server.url})
        finally:
            client.close()
        queued = create_session(server.url)  # never connected: DELETE takes it
        deleted = run_cli("sessions", "delete", queued["id"], env={"GLADIA_API_URL": server.url})
    assert run.code == 2, run.stderr
    assert f"session {session['id']} is processing: it can be deleted once it ends" in run.stderr
    assert "auth login" not in run.stderr
    assert deleted.code == 0, deleted.stderr
