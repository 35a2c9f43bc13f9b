"""The local server's pre-recorded API: upload, jobs, queue, results, hostile requests,
and the official SDK's pre-recorded client against `gladia serve`."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import soundfile

from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.support import HEADERS, local_server, serve_process, tone_bursts

AUDIO = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0), (2.9, 0.6, 0)], total=4.0)


def wav_bytes(samples: Any = AUDIO, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def upload(url: str, data: bytes, name: str = "talk.wav") -> requests.Response:
    return requests.post(
        f"{url}/v2/upload", files={"audio": (name, data)}, headers=HEADERS, timeout=10
    )


def wait_for(url: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        job: dict[str, Any] = requests.get(
            f"{url}/v2/pre-recorded/{job_id}", headers=HEADERS, timeout=10
        ).json()
        if job["status"] in ("done", "error"):
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.02)


def create(url: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}/v2/pre-recorded", json=body, headers=HEADERS, timeout=10)


def test_upload_then_job_gives_the_transcript_and_the_add_ons(server: LocalServer) -> None:
    uploaded = upload(server.url, wav_bytes())
    assert uploaded.status_code == 200
    meta = uploaded.json()["audio_metadata"]
    assert meta["filename"] == "talk.wav" and meta["extension"] == "wav"
    assert meta["audio_duration"] == pytest.approx(4.0) and meta["number_of_channels"] == 1
    assert uploaded.json()["audio_url"].startswith(server.url + "/file/")

    created = create(
        server.url,
        {
            "audio_url": uploaded.json()["audio_url"],
            "summarization": True,
            "subtitles": True,
            "subtitles_config": {"formats": ["srt", "vtt"]},
            "named_entity_recognition": True,
            "custom_metadata": {"ticket": "T-1"},
        },
    )
    assert created.status_code == 201
    job_id = created.json()["id"]
    assert created.json()["result_url"] == f"{server.url}/v2/pre-recorded/{job_id}"

    job = wait_for(server.url, job_id)
    assert job["status"] == "done" and job["kind"] == "pre-recorded"
    assert job["custom_metadata"] == {"ticket": "T-1"} and job["error_code"] is None
    result = job["result"]
    utterances = result["transcription"]["utterances"]
    assert len(utterances) == 3
    assert [u["start"] for u in utterances] == sorted(u["start"] for u in utterances)
    assert result["metadata"]["audio_duration"] == pytest.approx(4.0)
    assert [s["format"] for s in result["transcription"]["subtitles"]] == ["srt", "vtt"]
    assert result["transcription"]["subtitles"][1]["subtitles"].startswith("WEBVTT")
    assert result["summarization"]["success"] and result["summarization"]["results"]
    assert result["named_entity_recognition"]["success"]
    assert job["request_params"]["diarization"] is False  # defaults applied

    audio = requests.get(f"{server.url}/v2/pre-recorded/{job_id}/file", headers=HEADERS)
    assert audio.content == wav_bytes()
    listed = requests.get(f"{server.url}/v2/pre-recorded?limit=1", headers=HEADERS).json()
    assert listed["items"][0]["id"] == job_id
    assert (
        requests.delete(f"{server.url}/v2/pre-recorded/{job_id}", headers=HEADERS).status_code
        == 202
    )
    assert (
        requests.get(f"{server.url}/v2/pre-recorded/{job_id}", headers=HEADERS).status_code == 404
    )


def test_jobs_belong_to_their_key(server: LocalServer) -> None:
    audio_url = upload(server.url, wav_bytes()).json()["audio_url"]
    other = {"x-gladia-key": "someone-else"}
    refused = requests.post(
        f"{server.url}/v2/pre-recorded", json={"audio_url": audio_url}, headers=other
    )
    assert refused.status_code == 400  # their upload is not yours
    job_id = create(server.url, {"audio_url": audio_url}).json()["id"]
    wait_for(server.url, job_id)
    assert requests.get(f"{server.url}/v2/pre-recorded/{job_id}", headers=other).status_code == 404
    assert requests.get(f"{server.url}/v2/pre-recorded/{job_id}").status_code == 401


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, "audio_url is required"),
        ({"audio_url": "https://example.com/talk.wav"}, "does not download"),
        ({"audio_url": "ftp://x/y"}, "audio_url must be an http or https URL"),
        ({"audio_url": "http://h/file/x", "subtitles_config": {"formats": ["ass"]}}, "formats[0]"),
        ({"audio_url": "http://h/file/x", "diarization": "yes"}, "diarization must be a boolean"),
    ],
)
def test_bad_create_bodies_get_gladia_shaped_400s(
    server: LocalServer, body: dict[str, Any], expected: str
) -> None:
    response = create(server.url, body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["statusCode"] == 400 and payload["path"] == "/v2/pre-recorded"
    assert any(expected in e for e in payload["validation_errors"]), payload


def test_hostile_uploads() -> None:
    with local_server(max_upload_bytes=64 * 1024) as server:
        too_big = upload(server.url, b"\0" * (200 * 1024))
        assert too_big.status_code == 413 and too_big.json()["statusCode"] == 413
        not_multipart = requests.post(
            f"{server.url}/v2/upload", data=b"RIFF....", headers=HEADERS, timeout=10
        )
        assert not_multipart.status_code == 400
        wrong_field = requests.post(
            f"{server.url}/v2/upload", files={"file": ("a.wav", b"x")}, headers=HEADERS
        )
        assert wrong_field.status_code == 400
        assert "field audio" in wrong_field.json()["validation_errors"][0]
        not_audio = upload(server.url, b"hello, this is text", name="notes.txt")
        assert not_audio.status_code == 400
        assert "could not be decoded" in not_audio.json()["validation_errors"][0]
        unknown = requests.get(
            f"{server.url}/v2/pre-recorded/6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b", headers=HEADERS
        )
        assert unknown.status_code == 404


def test_a_recognition_failure_ends_the_job_in_error_with_its_message() -> None:
    with local_server(faults=Faults(fail_recognition_after=1.0)) as server:
        audio_url = upload(server.url, wav_bytes()).json()["audio_url"]
        job = wait_for(server.url, create(server.url, {"audio_url": audio_url}).json()["id"])
    assert job["status"] == "error" and job["error_code"] == 500
    assert "injected fault" in job["error"]["message"] and job["result"] is None


def test_the_queue_runs_at_most_the_worker_limit() -> None:
    with local_server(prerecorded_workers=1) as server:
        audio_url = upload(server.url, wav_bytes()).json()["audio_url"]
        for _ in range(3):
            create(server.url, {"audio_url": audio_url})
        processing: set[int] = set()
        while True:
            # One request: a snapshot of every job at one moment (several GETs are not).
            listed = requests.get(f"{server.url}/v2/pre-recorded", headers=HEADERS).json()
            statuses = [item["status"] for item in listed["items"]]
            processing.add(statuses.count("processing"))
            if statuses.count("done") == 3:
                break
            time.sleep(0.005)
        assert max(processing) <= 1


def test_the_official_sdk_pre_recorded_client_against_gladia_serve(tmp_path: Any) -> None:
    sdk = pytest.importorskip("gladiaio_sdk")
    path = tmp_path / "talk.wav"
    path.write_bytes(wav_bytes())
    with serve_process("--engine", "scripted") as url:
        client = sdk.GladiaClient(api_key="any-key", api_url=url).pre_recorded_v2()
        uploaded = client.upload_file(str(path))
        assert uploaded.audio_metadata.audio_duration == pytest.approx(4.0)
        created = client.create({"audio_url": uploaded.audio_url, "sentiment_analysis": True})
        job = client.poll(created.id, interval=0.05, timeout=30)
        assert job.status == "done"
        assert len(job.result.transcription.utterances) == 3
        assert job.result.transcription.full_transcript.strip()
        assert client.get_file(created.id) == path.read_bytes()
        listed = client.list({"limit": 5})
        assert any(item.id == created.id for item in listed.items)
        assert client.delete(created.id)
        # transcribe(): upload + create + poll in one call.
        again = client.transcribe(str(path), {"summarization": True}, interval=0.05, timeout=30)
        assert again.status == "done" and again.result.summarization.success


def test_finished_jobs_and_their_files_are_forgotten_after_the_ttl() -> None:
    from gladia_cli.server.app import PRERECORDED
    from tests.server.clocked import clocked_server

    with clocked_server(session_ttl=600.0) as (server, clock):
        audio_url = upload(server.url, wav_bytes()).json()["audio_url"]
        job_id = create(server.url, {"audio_url": audio_url}).json()["id"]
        wait_for(server.url, job_id)
        unused = upload(server.url, wav_bytes()).json()["audio_metadata"]["id"]
        assert server._runner is not None
        folder = server._runner.app[PRERECORDED].directory
        assert len(list(folder.iterdir())) == 3  # two uploads, one job
        clock.advance(601.0)
        assert (
            requests.get(f"{server.url}/v2/pre-recorded/{job_id}", headers=HEADERS).status_code
            == 404
        )
        assert requests.get(f"{server.url}/file/{unused}", headers=HEADERS).status_code == 404
        assert list(folder.iterdir()) == []


def test_a_list_with_an_unknown_status_is_refused(server: LocalServer) -> None:
    response = requests.get(f"{server.url}/v2/pre-recorded?status=nope", headers=HEADERS)
    assert response.status_code == 400
    assert "status must be one of" in response.json()["validation_errors"][0]


def test_an_audio_url_naming_this_server_by_another_loopback_name_is_ours(
    server: LocalServer,
) -> None:
    audio_url = upload(server.url, wav_bytes()).json()["audio_url"]
    renamed = audio_url.replace("127.0.0.1", "localhost")
    assert create(server.url, {"audio_url": renamed}).status_code == 201
    other_port = audio_url.replace(server.url.rsplit(":", 1)[1], "1")
    assert create(server.url, {"audio_url": other_port}).status_code == 400


def test_unused_uploads_beyond_the_stored_bound_go_oldest_first() -> None:
    with local_server(max_stored_sessions=2) as server:
        ids = [upload(server.url, wav_bytes()).json()["audio_metadata"]["id"] for _ in range(4)]
        kept = [requests.get(f"{server.url}/file/{i}", headers=HEADERS).status_code for i in ids]
    assert kept == [404, 404, 200, 200]
