"""Attack: one key starving the local server's pre-recorded API for every key (issue 18).

Before: a 200 KB WAV declaring 1 Hz × 100 000 s was accepted (hours of resampling); one key
could fill the job queue (every key then got 429) or hold every worker with its own jobs
(another key's 13 s job queued past 60 s); DELETE of a running job was 403; 30 unused
uploads kept 255 MB for 24 h."""

from __future__ import annotations

import io
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests
import soundfile

from gladia_cli.server.app import PRERECORDED
from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.server.clocked import clocked_server
from tests.support import local_server, tone_bursts

AUDIO = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0), (2.9, 0.6, 0)], total=4.0)
HOLD = 1000.0  # seconds a job stays in processing (slow_finish on a manual clock)


def key(name: str) -> dict[str, str]:
    return {"x-gladia-key": name}


def wav_bytes(samples: Any = AUDIO, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def upload(server: LocalServer, who: str, data: bytes | None = None) -> requests.Response:
    files = {"audio": ("talk.wav", wav_bytes() if data is None else data)}
    return requests.post(f"{server.url}/v2/upload", files=files, headers=key(who), timeout=10)


def create(server: LocalServer, who: str, audio_url: str | None = None) -> requests.Response:
    if audio_url is None:
        audio_url = upload(server, who).json()["audio_url"]
    return requests.post(
        f"{server.url}/v2/pre-recorded", json={"audio_url": audio_url}, headers=key(who), timeout=10
    )


def stored(server: LocalServer) -> list[Path]:
    """The folders of the uploads and jobs on the server's disk."""
    assert server._runner is not None
    return list(server._runner.app[PRERECORDED].directory.iterdir())


def status(server: LocalServer, who: str, job_id: str) -> str:
    response = requests.get(f"{server.url}/v2/pre-recorded/{job_id}", headers=key(who), timeout=10)
    if response.status_code == 404:
        return "gone"
    value: str = response.json()["status"]
    return value


def wait_status(server: LocalServer, who: str, job_id: str, wanted: str) -> None:
    """Jobs start on the server's loop a moment after the request: bounded polling."""
    deadline = time.monotonic() + 20
    while status(server, who, job_id) != wanted:
        assert time.monotonic() < deadline, f"{job_id} never {wanted}"
        time.sleep(0.01)


def test_a_wav_declaring_1_hz_is_refused_before_any_job_can_use_it() -> None:
    samples = b"\x01\x00" * 100_000  # 200 KB of 16-bit samples
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 1, 2, 2, 16) + b"data"
    header += struct.pack("<I", len(samples))
    with local_server() as server:
        response = upload(server, "flood", header + samples)
        assert response.status_code == 400, response.text
        assert "sample rate is 1 Hz" in response.json()["validation_errors"][0]
        assert stored(server) == []


def test_a_file_longer_than_the_servers_limit_is_refused() -> None:
    with local_server(max_file_seconds=3.0) as server:
        response = upload(server, "a")
        assert response.status_code == 400
        assert "audio lasts 4 s" in response.json()["validation_errors"][0]
        short = wav_bytes(AUDIO[: 16000 * 2])
        assert upload(server, "a", short).status_code == 200


def test_one_key_cannot_fill_the_job_queue_for_every_key() -> None:
    config = {"max_jobs_per_key": 3, "max_unfinished_jobs": 5, "faults": Faults(slow_finish=HOLD)}
    with clocked_server(**config) as (server, _clock):
        assert [create(server, "flood").status_code for _ in range(3)] == [201] * 3
        refused = create(server, "flood")
        assert refused.status_code == 429
        assert "of this key" in refused.json()["message"]
        assert create(server, "other").status_code == 201  # another key is still served


def test_jobs_start_round_robin_across_keys() -> None:
    """One worker: the flood's first job runs; the other key's job starts beside it at
    once (its turn), not after the flood's queue."""
    with clocked_server(prerecorded_workers=1, faults=Faults(slow_finish=HOLD)) as (
        server,
        clock,
    ):
        idle = clock.sleepers  # the servers' sweepers
        flood = [create(server, "flood").json()["id"] for _ in range(3)]
        other = create(server, "other").json()["id"]
        wait_status(server, "flood", flood[0], "processing")
        wait_status(server, "other", other, "processing")
        assert [status(server, "flood", j) for j in flood[1:]] == ["queued", "queued"]
        # Both transcribed and held (slow finish): only then does moving time end them.
        deadline = time.monotonic() + 20
        while clock.sleepers < idle + 2:
            assert time.monotonic() < deadline, "the running jobs never reached their hold"
            time.sleep(0.01)
        clock.advance(HOLD)
        wait_status(server, "other", other, "done")
        wait_status(server, "flood", flood[1], "processing")


def test_a_running_job_can_be_deleted_and_the_next_one_starts() -> None:
    with clocked_server(prerecorded_workers=1, faults=Faults(slow_finish=HOLD)) as (server, _c):
        first, second = (create(server, "a").json()["id"] for _ in range(2))
        wait_status(server, "a", first, "processing")
        assert status(server, "a", second) == "queued"
        deleted = requests.delete(f"{server.url}/v2/pre-recorded/{first}", headers=key("a"))
        assert deleted.status_code == 202
        assert status(server, "a", first) == "gone"
        wait_status(server, "a", second, "processing")
        folders = {p.name for p in stored(server)}
        assert f"job-{first}" not in folders and f"job-{second}" in folders
        # A queued job is deleted too, and never starts.
        third = create(server, "a").json()["id"]
        assert requests.delete(f"{server.url}/v2/pre-recorded/{third}", headers=key("a")).ok
        assert status(server, "a", third) == "gone"


def test_unused_uploads_expire_in_minutes_not_a_day() -> None:
    with clocked_server(upload_ttl=600.0) as (server, clock):
        unused = upload(server, "a").json()["audio_metadata"]["id"]
        clock.advance(599.0)
        assert requests.get(f"{server.url}/file/{unused}", headers=key("a")).status_code == 200
        clock.advance(2.0)
        assert requests.get(f"{server.url}/file/{unused}", headers=key("a")).status_code == 404
        assert stored(server) == []


def test_unused_uploads_per_key_are_bounded() -> None:
    with local_server(max_uploads_per_key=2) as server:
        assert [upload(server, "flood").status_code for _ in range(2)] == [200, 200]
        refused = upload(server, "flood")
        assert refused.status_code == 429 and "uploads no job uses" in refused.json()["message"]
        assert upload(server, "other").status_code == 200


def test_the_disk_for_uploads_is_bounded_per_key_and_in_all() -> None:
    size = len(wav_bytes())
    with local_server(max_storage_bytes=4 * size + size // 2) as server:
        assert upload(server, "a").status_code == 200
        refused = upload(server, "a")  # over a quarter of the disk for one key
        assert refused.status_code == 429, refused.text
        assert "a key may hold" in refused.json()["message"]
        assert [upload(server, k).status_code for k in "bcd"] == [200, 200, 200]
        full = upload(server, "e")
        assert full.status_code == 507 and "storage for uploads is full" in full.json()["message"]
        assert len(stored(server)) == 4


def test_finished_jobs_files_make_room_oldest_first() -> None:
    size = len(wav_bytes())
    with local_server(max_storage_bytes=4 * size + size // 2) as server:
        done = []
        for _ in range(6):  # 6 files through a disk that holds 4
            job_id = create(server, "a").json()["id"]
            wait_status(server, "a", job_id, "done")
            done.append(job_id)
        assert [status(server, "a", j) for j in done] == ["gone"] * 2 + ["done"] * 4


def test_a_second_keys_job_is_transcribed_beside_a_long_flood() -> None:
    """Real jobs, real decoding: the flood's long files (more than the workers can run)
    do not keep another key's short job waiting until they are all done."""
    noise = (np.random.default_rng(3).standard_normal(16000 * 600) * 3000).astype(np.int16)
    with local_server() as server:
        long_url = upload(server, "flood", wav_bytes(noise)).json()["audio_url"]
        flood = [create(server, "flood", long_url).json()["id"] for _ in range(6)]
        short = create(server, "other").json()["id"]
        wait_status(server, "other", short, "done")
        still = [status(server, "flood", j) for j in flood]
    assert still.count("done") < len(flood), still
