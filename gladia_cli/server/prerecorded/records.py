"""A pre-recorded job and its upload: what the server knows of them, on disk beside them.

Each upload's folder holds its file (`audio`) and `upload.json`; each job's folder
(`job-<id>`) its `job.json` and, once done, `result.json`. The JSON files are written
when the thing is created and when a job ends (replaced whole: a kill leaves the old or
the new one), so that a server restarted on the same `--data-dir` finds them again
(`restore_records`): uploads and finished jobs as they were, and jobs that were queued
or processing queued again, run from the start (their whole file is stored). A folder
without its JSON (killed while it was being made) is removed: nobody can use it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gladia_cli.protocol.messages import iso_timestamp

log = logging.getLogger("gladia.server")


def now_iso() -> str:
    return iso_timestamp(datetime.now(UTC))


@dataclass
class Upload:
    id: str
    owner: str
    path: Path
    filename: str
    extension: str
    size: int
    audio_duration: float
    number_of_channels: int
    added_at: float  # on the server's clock
    jobs: int = 0  # jobs using it: kept while any is stored

    def metadata(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "filename": self.filename,
            "source": None,
            "extension": self.extension,
            "size": self.size,
            "audio_duration": round(self.audio_duration, 3),
            "number_of_channels": self.number_of_channels,
        }


@dataclass
class Job:
    id: str
    owner: str
    request_id: str
    config: dict[str, Any]  # the body with defaults: `request_params`
    upload: Upload
    folder: Path
    created_at: str = field(default_factory=now_iso)
    status: str = "queued"
    completed_at: str | None = None
    finished_at: float | None = None  # on the server's clock
    error: tuple[int, str] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    task: asyncio.Task[None] | None = None

    @property
    def _result_path(self) -> Path:
        return self.folder / "result.json"

    def describe(self) -> dict[str, Any]:
        """The job as `GET /v2/pre-recorded/{id}` shows it (Gladia's PreRecordedV2Response)."""
        result = None
        if self.status == "done" and self._result_path.exists():
            result = json.loads(self._result_path.read_text(encoding="utf-8"))
        described: dict[str, Any] = {
            "id": self.id,
            "request_id": self.request_id,
            "version": 2,
            "status": self.status,
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "kind": "pre-recorded",
            "custom_metadata": self.config.get("custom_metadata") or {},
            "error_code": self.error[0] if self.error else None,
            "post_session_metadata": {},
            "file": {
                "id": self.upload.id,
                "filename": self.upload.filename,
                "source": None,
                "audio_duration": round(self.upload.audio_duration, 3),
                "number_of_channels": self.upload.number_of_channels,
            },
            "request_params": self.config,
            "result": result,
        }
        if self.error:
            described["error"] = {"code": self.error[0], "message": self.error[1]}
        return described

    def save_result(self, result: dict[str, Any]) -> None:
        self._result_path.write_text(json.dumps(result, separators=(",", ":")), encoding="utf-8")


def _write_json(path: Path, value: dict[str, Any]) -> None:
    partial = path.with_suffix(".json.new")
    partial.write_text(json.dumps(value, separators=(",", ":")), encoding="utf-8")
    partial.replace(path)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def save_upload(upload: Upload) -> None:
    fields = upload.metadata() | {"owner": upload.owner, "added_wall": time.time()}
    _write_json(upload.path.parent / "upload.json", fields)


def save_job(job: Job) -> None:
    if not job.folder.exists():  # deleted meanwhile
        return
    _write_json(
        job.folder / "job.json",
        {
            "id": job.id,
            "owner": job.owner,
            "request_id": job.request_id,
            "config": job.config,
            "upload": job.upload.id,
            "created_at": job.created_at,
            "status": job.status,
            "completed_at": job.completed_at,
            "finished_wall": time.time() if job.finished_at is not None else None,
            "error": list(job.error) if job.error else None,
        },
    )


def restore_records(folder: Path, now: float) -> tuple[list[Upload], list[Job]]:
    """The uploads and jobs an earlier server left in `folder` (see module docstring);
    `now` is the server's clock, to age them from their wall-clock times."""
    wall = time.time()
    uploads: dict[str, Upload] = {}
    for path in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("job-")):
        fields = _read_json(path / "upload.json")
        if fields is None or not (path / "audio").exists():
            shutil.rmtree(path, ignore_errors=True)
            continue
        uploads[fields["id"]] = Upload(
            id=fields["id"],
            owner=fields["owner"],
            path=path / "audio",
            filename=fields["filename"],
            extension=fields["extension"],
            size=int(fields["size"]),
            audio_duration=float(fields["audio_duration"]),
            number_of_channels=int(fields["number_of_channels"]),
            added_at=now - max(0.0, wall - float(fields["added_wall"])),
        )
    jobs: list[Job] = []
    for path in sorted(folder.glob("job-*")):
        fields = _read_json(path / "job.json")
        upload = uploads.get(str(fields.get("upload"))) if fields else None
        if fields is None or upload is None:
            shutil.rmtree(path, ignore_errors=True)
            continue
        job = Job(
            id=fields["id"],
            owner=fields["owner"],
            request_id=fields["request_id"],
            config=fields["config"],
            upload=upload,
            folder=path,
            created_at=fields["created_at"],
        )
        if fields["status"] in ("done", "error"):
            job.status = fields["status"]
            job.completed_at = fields.get("completed_at")
            ended = float(fields.get("finished_wall") or wall)
            job.finished_at = now - max(0.0, wall - ended)
            error = fields.get("error")
            job.error = (int(error[0]), str(error[1])) if error else None
        upload.jobs += 1
        jobs.append(job)
    jobs.sort(key=lambda j: j.created_at)
    if uploads or jobs:
        requeued = sum(j.finished_at is None for j in jobs)
        log.info(
            "restored %d upload(s) and %d pre-recorded job(s) from %s, %d of them queued again",
            len(uploads),
            len(jobs),
            folder,
            requeued,
        )
    return list(uploads.values()), jobs
