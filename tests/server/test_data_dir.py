"""`gladia serve --data-dir`: sessions, uploads and jobs kept across a restart (issue 18).

Two in-process servers, one after the other, on the same folder. (A kill -9 of a real
`gladia serve` and its clients: tests/e2e/test_attack_crash_cli.py.) Also: the temporary
folders that killed servers leave are removed by the next server."""

from __future__ import annotations

import io
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import soundfile

from gladia_cli.server import data_dir
from gladia_cli.server.config import Faults
from gladia_cli.server.data_dir import DataDir, DataDirBusy
from gladia_cli.server.runner import LocalServer
from tests.server.audio import AUDIO
from tests.server.clocked import clocked_server
from tests.support import (
    HEADERS,
    RawClient,
    create_session,
    get_session,
    local_server,
    stored_audio,
    tone_bursts,
)

WAV_AUDIO = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0)], total=3.0)


def _wav() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, WAV_AUDIO, 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _finished_session(server: LocalServer) -> tuple[str, RawClient]:
    created = create_session(server.url, {"custom_metadata": {"run": "before"}})
    client = RawClient(created["url"])
    client.send_audio(AUDIO)
    client.stop()
    client.read_until_closed()
    assert client.received.close_code == 1000
    return created["id"], client


def _job(server: LocalServer, audio_url: str) -> str:
    response = requests.post(
        f"{server.url}/v2/pre-recorded", json={"audio_url": audio_url}, headers=HEADERS
    )
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def _job_view(server: LocalServer, job_id: str, wanted: str = "done") -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        job: dict[str, Any] = requests.get(
            f"{server.url}/v2/pre-recorded/{job_id}", headers=HEADERS, timeout=10
        ).json()
        if job.get("status") == wanted:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def test_finished_sessions_jobs_and_uploads_are_kept_across_a_restart(tmp_path: Path) -> None:
    with local_server(data_dir=str(tmp_path)) as first:
        session_id, _ = _finished_session(first)
        patched = requests.patch(
            f"{first.url}/v2/live/{session_id}",
            json={"post_session_metadata": {"note": "kept"}},
            headers=HEADERS,
        )
        assert patched.status_code == 204
        before = get_session(first.url, session_id)
        uploaded = requests.post(
            f"{first.url}/v2/upload", files={"audio": ("a.wav", _wav())}, headers=HEADERS
        ).json()
        job_id = _job(first, uploaded["audio_url"])
        job_before = _job_view(first, job_id)
        unused = requests.post(
            f"{first.url}/v2/upload", files={"audio": ("b.wav", _wav())}, headers=HEADERS
        ).json()["audio_metadata"]["id"]
    with local_server(data_dir=str(tmp_path)) as second:
        after = get_session(second.url, session_id)
        assert after["status"] == "done" and after["completed_at"] == before["completed_at"]
        assert after["result"] == before["result"]
        assert after["post_session_metadata"] == {"note": "kept"}
        assert after["custom_metadata"] == {"run": "before"}
        assert stored_audio(second.url, session_id) == AUDIO
        listed = requests.get(f"{second.url}/v2/live", headers=HEADERS).json()["items"]
        assert [item["id"] for item in listed] == [session_id]
        job_after = _job_view(second, job_id)
        assert job_after["result"] == job_before["result"]
        kept = requests.get(f"{second.url}/file/{unused}", headers=HEADERS)
        assert kept.status_code == 200 and kept.content == _wav()
        others = {"x-gladia-key": "another-key"}
        assert requests.get(f"{second.url}/v2/live/{session_id}", headers=others).status_code == 404


def test_a_session_open_at_the_stop_comes_back_in_error_with_what_was_stored(
    tmp_path: Path,
) -> None:
    half = 2 * 16000 * 2 + 16000  # 2.5 s: the first two bursts, not the third
    with local_server(data_dir=str(tmp_path)) as first:
        created = create_session(first.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO[:half])
        acks = 0
        finals: list[str] = []
        while acks < half // 3200 or not finals:  # all stored, and the first burst's final
            message = client.read(1)[0]
            acks += message["type"] == "audio_chunk"
            if message["type"] == "transcript" and message["data"]["is_final"]:
                finals.append(message["data"]["utterance"]["text"])
    client.ws.close()
    with local_server(data_dir=str(tmp_path)) as second:
        view = get_session(second.url, created["id"])
        assert view["status"] == "error" and view["error_code"] == 500
        assert "the server stopped during the session" in view["error"]["message"]
        assert view["file"]["audio_duration"] == pytest.approx(2.5)
        assert stored_audio(second.url, created["id"]) == AUDIO[:half]
        stored = view["result"]["transcription"]["utterances"]
        # Every final the client got is in the result (one more may have been stored
        # after the client stopped reading); none past the audio stored.
        assert [u["text"] for u in stored][: len(finals)] == finals
        assert all(u["end"] <= 2.5 for u in stored)
        assert view["result"]["metadata"]["audio_duration"] == pytest.approx(2.5)
        again = RawClient(created["url"].replace(first.url[7:], second.url[7:]))
        again.read_until_closed()
        assert again.received.close_code == 4410
        assert "restarted" in again.received.close_reason
    with local_server(data_dir=str(tmp_path)) as third:  # ended once, not again
        assert get_session(third.url, created["id"])["completed_at"] == view["completed_at"]


def test_a_job_unfinished_at_the_stop_runs_again_after_the_restart(tmp_path: Path) -> None:
    # The first server holds its job in processing (slow finish on a clock never moved).
    with clocked_server(data_dir=str(tmp_path), faults=Faults(slow_finish=1000.0)) as (
        first,
        _clock,
    ):
        uploaded = requests.post(
            f"{first.url}/v2/upload", files={"audio": ("a.wav", _wav())}, headers=HEADERS
        ).json()
        job_id = _job(first, uploaded["audio_url"])
        _job_view(first, job_id, "processing")
    with local_server(data_dir=str(tmp_path)) as second:
        job = _job_view(second, job_id)
        assert len(job["result"]["transcription"]["utterances"]) == 2


def test_a_second_server_cannot_take_a_data_dir_in_use(tmp_path: Path) -> None:
    with local_server(data_dir=str(tmp_path)), pytest.raises(DataDirBusy):
        DataDir.at(tmp_path)
    DataDir.at(tmp_path).close()  # free again once the server stopped


def test_folders_left_by_killed_servers_are_removed_by_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    abandoned = tmp_path / f"{data_dir.PREFIX}killed"
    (abandoned / "live" / "session-x").mkdir(parents=True)
    (abandoned / "live" / "session-x" / "audio.raw").write_bytes(b"\0" * 3200)
    (abandoned / data_dir.LOCK).touch()  # its server is gone: nobody holds the lock
    unknown = tmp_path / f"{data_dir.PREFIX}no-lock"  # not provably ours: kept
    unknown.mkdir()
    running = DataDir.temporary()  # a server that runs: its lock is held
    try:
        with local_server() as server:
            assert server.url
            names = {p.name for p in tmp_path.iterdir()}
            assert abandoned.name not in names
            assert {unknown.name, running.path.name} <= names
    finally:
        running.close()
    assert not running.path.exists()
