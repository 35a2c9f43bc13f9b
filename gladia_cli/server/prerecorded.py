"""Gladia's pre-recorded API on the local server: uploads, a job queue, results, deletion.

`POST /v2/upload` (multipart, field `audio`) stores the file under the server's folder and
answers `audio_url` (`<this server>/file/<id>`) and `audio_metadata`. `POST /v2/pre-recorded`
takes such an `audio_url` and queues a job; at most `prerecorded_workers` jobs run at once,
each in its own thread, through the server's engine in file mode (file_transcription.py):
queued → processing → done | error. The server is offline: an `audio_url` on another host is
refused (400), not downloaded.

The app's middleware wants the key on every route (app.py). Like live sessions, uploads
and jobs belong to the key that made them (others get 404),
and a finished job is forgotten `session_ttl` seconds after its end or beyond
`max_stored_sessions` finished ones (its file goes with it); an upload no job uses is
forgotten `session_ttl` seconds after it came. A job in error carries `error_code` and,
beside it, `error: {code, message}` (the shape of Gladia's `transcription.error` callback).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import re
import shutil
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from gladia_cli.protocol import prerecorded_config
from gladia_cli.protocol.create_tag import IDEMPOTENCY_HEADER
from gladia_cli.protocol.messages import iso_timestamp
from gladia_cli.server import callback_policy
from gladia_cli.server.app import (
    SWEEP_EVERY,
    BadBody,
    _request_id,
    gladia_error,
    list_page,
    matches,
    page_bounds,
    parse_json_body,
)
from gladia_cli.server.file_transcription import (
    JobCancelled,
    JobFailed,
    audio_info,
    transcribe_file,
)
from gladia_cli.server.idempotency import RepeatedRequests

if TYPE_CHECKING:
    from gladia_cli.server.app import LiveRoutes

log = logging.getLogger("gladia.server")

UPLOAD_PIECE = 256 * 1024
# Past the limit, this much more of an upload is read (and dropped) before the 413, so that
# a client still sending gets the answer instead of a reset connection.
DRAIN_LIMIT = 64 * 1024 * 1024
# An upload that sends nothing for this long is dropped (408): without it, a client that
# stalls mid-body holds a connection and a folder on disk for as long as it likes.
UPLOAD_STALL_SECONDS = 60.0
_FILE_PATH = re.compile(r"^/file/([0-9a-f-]{36})$")


def _now_iso() -> str:
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
    created_at: str = field(default_factory=_now_iso)
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


def _safe_filename(name: str | None) -> str:
    """The client's file name, for display only (never a path on disk)."""
    base = (name or "audio").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable())[:255]
    return cleaned or "audio"


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _same_server(netloc: str, host: str) -> bool:
    """Whether `netloc` (of an audio_url) is this server as `host` (the request's Host)
    names it: the same name and port, or a loopback name for a loopback one."""
    theirs, ours = urlsplit(f"//{netloc.lower()}"), urlsplit(f"//{host.lower()}")
    try:
        same_port = theirs.port == ours.port
    except ValueError:  # not a port number
        return False
    if not same_port:
        return False
    return theirs.hostname == ours.hostname or {theirs.hostname, ours.hostname} <= _LOOPBACK


class PreRecordedApi:
    """The pre-recorded routes, sharing the live API's keys, engine, folder and clock."""

    def __init__(self, live: LiveRoutes) -> None:
        self.live = live
        self.config = live.config
        self.uploads: dict[str, Upload] = {}
        self._repeats = RepeatedRequests()  # Idempotency-Key → the upload it made
        self.jobs: dict[str, Job] = {}
        self._slots = asyncio.Semaphore(max(1, self.config.prerecorded_workers))
        self._executor = ThreadPoolExecutor(
            max(1, self.config.prerecorded_workers), thread_name_prefix="prerecorded"
        )
        self._directory: Path | None = None
        self._callbacks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def start(self, app: web.Application) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def _sweep_forever(self) -> None:
        """Evictions happen when nobody asks too (as the live sessions' sweeper does)."""
        clock, every = self.live.clock, min(SWEEP_EVERY, self.config.session_ttl)
        while True:
            await clock.sleep_until(clock.now() + every)
            self.sweep()

    @property
    def directory(self) -> Path:
        """Created on first use, inside the live API's folder (removed with the server)."""
        if self._directory is None:
            self._directory = Path(tempfile.mkdtemp(dir=self.live.directory, prefix="prerecorded-"))
        return self._directory

    # --- lookups ---------------------------------------------------------------------------

    def _job(self, request: web.Request) -> Job | None:
        self.sweep()
        job = self.jobs.get(request.match_info["id"])
        return job if job is not None and job.owner == self.live._owner(request) else None

    # --- uploads --------------------------------------------------------------------------

    async def upload(self, request: web.Request) -> web.Response:
        if not request.content_type.startswith("multipart/"):
            message = (
                "the local server is offline and does not fetch audio_url: upload the file"
                if request.content_type == "application/json"
                else "the audio must be sent as multipart/form-data"
            )
            return gladia_error(
                request, 400, "Bad Request", [f"audio is required ({message}, field audio)"]
            )
        try:
            reader = await request.multipart()
            while True:
                part = await asyncio.wait_for(reader.next(), UPLOAD_STALL_SECONDS)
                if part is None:
                    return gladia_error(
                        request, 400, "Bad Request", ["audio is required (multipart field audio)"]
                    )
                if isinstance(part, aiohttp.BodyPartReader) and part.name == "audio":
                    return await self._store_upload(request, part)
                if isinstance(part, aiohttp.BodyPartReader):
                    await part.release()
        except TimeoutError:
            return gladia_error(
                request, 408, f"the upload stalled: nothing received for {UPLOAD_STALL_SECONDS:g} s"
            )
        except (ValueError, AssertionError, aiohttp.ClientPayloadError) as exc:
            # aiohttp's multipart parser refuses a malformed body with these.
            log.info("upload refused: %s", exc)
            return gladia_error(request, 400, "Bad Request", ["body is not valid multipart"])

    async def _store_upload(
        self, request: web.Request, part: aiohttp.BodyPartReader
    ) -> web.Response:
        upload_id = str(uuid.uuid4())
        filename = _safe_filename(part.filename)
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        folder = self.directory / upload_id
        folder.mkdir()
        path = folder / "audio"
        size, limit = 0, self.config.max_upload_bytes
        loop = asyncio.get_running_loop()
        try:
            with path.open("wb") as out:
                while piece := await asyncio.wait_for(
                    part.read_chunk(UPLOAD_PIECE), UPLOAD_STALL_SECONDS
                ):
                    size += len(piece)
                    if size > limit:
                        break
                    await loop.run_in_executor(None, out.write, piece)
        except TimeoutError:
            shutil.rmtree(folder, ignore_errors=True)
            log.info(
                "upload %s: nothing received for %g s, dropped", upload_id, UPLOAD_STALL_SECONDS
            )
            return gladia_error(
                request, 408, f"the upload stalled: nothing received for {UPLOAD_STALL_SECONDS:g} s"
            )
        except (ConnectionError, aiohttp.ClientPayloadError) as exc:
            # The client went away mid-upload: nobody to answer, and no traceback to log.
            shutil.rmtree(folder, ignore_errors=True)
            log.info("upload %s: the client went away (%s)", upload_id, type(exc).__name__)
            return gladia_error(request, 400, "Bad Request", ["the upload was cut short"])
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise
            # The disk of the server's folder is full: one line here, 507 to the client.
            log.warning(
                "upload %s: no space left in %s (%d bytes received)", upload_id, folder, size
            )
            return gladia_error(
                request, 507, f"the server's storage is full: the upload needed over {size} bytes"
            )
        except BaseException:  # the server stops
            shutil.rmtree(folder, ignore_errors=True)
            raise
        if size > limit:
            shutil.rmtree(folder, ignore_errors=True)
            drained = size
            with contextlib.suppress(TimeoutError, ConnectionError, aiohttp.ClientPayloadError):
                while drained < limit + DRAIN_LIMIT and (
                    piece := await asyncio.wait_for(
                        part.read_chunk(UPLOAD_PIECE), UPLOAD_STALL_SECONDS
                    )
                ):
                    drained += len(piece)
            megabytes = limit / (1024 * 1024)
            return gladia_error(request, 413, f"the file is larger than {megabytes:g} MB")
        try:
            duration, channels = await loop.run_in_executor(None, audio_info, str(path))
        except ValueError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return gladia_error(request, 400, "Bad Request", [f"audio could not be decoded: {exc}"])
        owner, key = self.live._owner(request), request.headers.get(IDEMPOTENCY_HEADER)
        first = self.uploads.get(self._repeats.first(owner, key) or "")
        if first is not None:  # the same upload again, its reply lost: stored once
            shutil.rmtree(folder, ignore_errors=True)
            log.info("upload %s: a repeat of upload %s (Idempotency-Key)", upload_id, first.id)
            return self._uploaded(request, first)
        upload = Upload(
            id=upload_id,
            owner=owner,
            path=path,
            filename=filename,
            extension=extension,
            size=size,
            audio_duration=duration,
            number_of_channels=channels,
            added_at=self.live.clock.now(),
        )
        self.sweep()
        self.uploads[upload_id] = upload
        self._repeats.remember(owner, key, upload_id)
        log.info("upload %s: %d bytes, %.2f s, %d channel(s)", upload_id, size, duration, channels)
        return self._uploaded(request, upload)

    @staticmethod
    def _uploaded(request: web.Request, upload: Upload) -> web.Response:
        scheme = "https" if request.secure else "http"
        return web.json_response(
            {
                "audio_url": f"{scheme}://{request.host}/file/{upload.id}",
                "audio_metadata": upload.metadata(),
            }
        )

    async def get_upload(self, request: web.Request) -> web.StreamResponse:
        self.sweep()
        upload = self.uploads.get(request.match_info["id"])
        if upload is None or upload.owner != self.live._owner(request):
            return gladia_error(request, 404, "Not found")
        return self._file_response(upload)

    @staticmethod
    def _file_response(upload: Upload) -> web.FileResponse:
        quoted = upload.filename.replace('"', "")
        return web.FileResponse(
            upload.path,
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Disposition": f'attachment; filename="{quoted}"',
            },
        )

    def _our_upload(self, request: web.Request, audio_url: str) -> Upload | str:
        """The upload `audio_url` names, or why it names none (a validation message)."""
        parts = urlsplit(audio_url)
        match = _FILE_PATH.match(parts.path)
        if not _same_server(parts.netloc, request.host) or match is None:
            return (
                "audio_url must be a file uploaded to this server (POST /v2/upload): "
                "the local server is offline and does not download audio"
            )
        upload = self.uploads.get(match.group(1))
        if upload is None or upload.owner != self.live._owner(request):
            return "audio_url names no uploaded file (it may have expired): upload it again"
        return upload

    # --- jobs -----------------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        try:
            # A small body (MAX_BODY_BYTES): a client that stalls in it is dropped too.
            body = parse_json_body(await asyncio.wait_for(request.read(), UPLOAD_STALL_SECONDS))
        except TimeoutError:
            return gladia_error(
                request, 408, f"the body stalled: not received within {UPLOAD_STALL_SECONDS:g} s"
            )
        except BadBody as exc:
            return gladia_error(request, 400, "Bad Request", [str(exc)])
        errors = prerecorded_config.validate(body, strict=self.config.strict_init)
        if not errors and not self.config.allow_link_local_callbacks:
            for key, url in (
                ("callback_config.url", (body.get("callback_config") or {}).get("url")),
                ("callback_url", body.get("callback_url")),
            ):
                problem = callback_policy.url_problem(url) if isinstance(url, str) else None
                if problem:
                    errors.append(f"{key} {problem}")
        if errors:
            return gladia_error(request, 400, "Bad Request", errors)
        problems = prerecorded_config.semantic_errors(body)
        if problems:
            return gladia_error(request, 422, "Invalid parameter", problems)
        self.sweep()
        upload = self._our_upload(request, body["audio_url"])
        if isinstance(upload, str):
            return gladia_error(request, 400, "Bad Request", [upload])
        limit = self.config.max_unfinished_jobs
        if sum(j.finished_at is None for j in self.jobs.values()) >= limit:
            return gladia_error(request, 429, f"too many pre-recorded jobs waiting (limit {limit})")
        job_id = str(uuid.uuid4())
        folder = self.directory / f"job-{job_id}"
        folder.mkdir()
        job = Job(
            id=job_id,
            owner=self.live._owner(request),
            request_id=_request_id(),
            config=prerecorded_config.with_defaults(body),
            upload=upload,
            folder=folder,
        )
        upload.jobs += 1
        self.jobs[job_id] = job
        job.task = asyncio.get_running_loop().create_task(self._run(job))
        log.info("pre-recorded job %s: queued (upload %s)", job_id, upload.id)
        scheme = "https" if request.secure else "http"
        return web.json_response(
            {"id": job_id, "result_url": f"{scheme}://{request.host}/v2/pre-recorded/{job_id}"},
            status=201,
        )

    async def _run(self, job: Job) -> None:
        async with self._slots:
            if job.cancelled.is_set():
                return
            job.status = "processing"
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(
                    self._executor,
                    lambda: transcribe_file(
                        str(job.upload.path),
                        job.config,
                        self.live.transcribers,
                        job_id=job.id,
                        cancelled=job.cancelled,
                        addons=self.live.addons,
                        diarize=self.config.speaker_model,
                    ),
                )
                slow = self.config.faults.slow_finish
                if slow:  # a job that stays in processing (tests of clients that wait)
                    await self.live.clock.sleep_until(self.live.clock.now() + slow)
                await loop.run_in_executor(None, job.save_result, result)
            except JobCancelled:
                return
            except JobFailed as exc:
                job.error = (exc.code, exc.message)
            except Exception as exc:  # a job must end, whatever failed
                log.debug("pre-recorded job %s failed", job.id, exc_info=exc)
                job.error = (500, f"{type(exc).__name__}: {exc}")
        job.status = "error" if job.error else "done"
        job.completed_at = _now_iso()
        job.finished_at = self.live.clock.now()
        if job.error:
            log.warning("pre-recorded job %s: error %d: %s", job.id, *job.error)
        else:
            log.info("pre-recorded job %s: done", job.id)
        self._callback(job)

    def _callback(self, job: Job) -> None:
        """Gladia's end-of-job callback, when asked: the result, or the error."""
        config = job.config.get("callback_config") or {}
        url = config.get("url") if job.config.get("callback") else job.config.get("callback_url")
        if not url:
            return
        described = job.describe()
        body: dict[str, Any] = {"id": job.id, "custom_metadata": described["custom_metadata"]}
        if job.error:
            body |= {"event": "transcription.error", "error": described["error"]}
        else:
            body |= {"event": "transcription.success", "payload": described["result"]}
        task = asyncio.get_running_loop().create_task(
            self._post(str(url), str(config.get("method") or "POST"), body)
        )
        self._callbacks.add(task)
        task.add_done_callback(self._callbacks.discard)

    async def _post(self, url: str, method: str, body: dict[str, Any]) -> None:
        connector = (
            aiohttp.TCPConnector()
            if self.config.allow_link_local_callbacks
            else aiohttp.TCPConnector(resolver=callback_policy.GuardedResolver())
        )
        timeout = aiohttp.ClientTimeout(total=10)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, connector=connector) as client,
                client.request(method, url, json=body) as response,
            ):
                if response.status >= 400:
                    log.warning("callback to %s answered %d", url, response.status)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.warning("callback to %s failed: %s", url, type(exc).__name__)

    async def get(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job is None:
            return gladia_error(request, 404, "Not found")
        return web.json_response(job.describe())

    async def list(self, request: web.Request) -> web.Response:
        try:
            offset, limit = page_bounds(request)
            statuses = request.query.getall("status", [])
            if any(s not in prerecorded_config.STATUSES for s in statuses):
                shown = ", ".join(prerecorded_config.STATUSES)
                raise ValueError(f"status must be one of the following values: {shown}")
            self.sweep()
            owner = self.live._owner(request)
            mine = [j for j in self.jobs.values() if j.owner == owner]
            matching = [j for j in mine if matches(j, request)]
        except ValueError as exc:
            return gladia_error(request, 400, "Bad Request", [str(exc)])
        return list_page(request, matching, offset, limit)

    async def delete(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if job is None:
            return gladia_error(request, 404, "Not found")
        if job.finished_at is None:
            return gladia_error(request, 403, f"job is {job.status} and cannot be deleted yet")
        self._forget(job)
        return web.Response(status=202)

    async def file(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if job is None or not job.upload.path.exists():
            return gladia_error(request, 404, "Not found")
        return self._file_response(job.upload)

    # --- forgetting -----------------------------------------------------------------------

    def _forget(self, job: Job) -> None:
        job.cancelled.set()
        self.jobs.pop(job.id, None)
        shutil.rmtree(job.folder, ignore_errors=True)
        job.upload.jobs -= 1
        if job.upload.jobs <= 0:
            self._forget_upload(job.upload)

    def _forget_upload(self, upload: Upload) -> None:
        self.uploads.pop(upload.id, None)
        shutil.rmtree(upload.path.parent, ignore_errors=True)

    def sweep(self) -> None:
        """Evict as live sessions are (session_store.py): past the TTL, then the oldest
        finished beyond the bound; the same for uploads no job uses (a disk bound too)."""
        now = self.live.clock.now()
        ttl, bound = self.config.session_ttl, self.config.max_stored_sessions
        finished = sorted(
            (j for j in self.jobs.values() if j.finished_at is not None),
            key=lambda j: j.finished_at or 0.0,
        )
        expired = [j for j in finished if now - (j.finished_at or 0.0) >= ttl]
        survivors = finished[len(expired) :]
        for job in expired + survivors[: max(0, len(survivors) - bound)]:
            log.info("pre-recorded job %s: evicted", job.id)
            self._forget(job)
        unused = sorted((u for u in self.uploads.values() if u.jobs <= 0), key=lambda u: u.added_at)
        fresh = [u for u in unused if now - u.added_at < ttl]
        for upload in unused[: len(unused) - len(fresh)] + fresh[: max(0, len(fresh) - bound)]:
            self._forget_upload(upload)

    async def shutdown(self, app: web.Application | None = None) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for job in list(self.jobs.values()):
            job.cancelled.set()
            if job.task is not None:
                job.task.cancel()
        for task in list(self._callbacks):
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)


PRERECORDED: web.AppKey[PreRecordedApi] = web.AppKey("prerecorded", PreRecordedApi)


def register(app: web.Application, live: LiveRoutes) -> PreRecordedApi:
    """Add the pre-recorded routes to the server's app."""
    api = PreRecordedApi(live)
    app[PRERECORDED] = api
    router = app.router
    router.add_post("/v2/upload", api.upload)
    router.add_get("/file/{id}", api.get_upload)
    for base in ("/v2/pre-recorded", "/v2/transcription"):  # the second: Gladia's old name
        router.add_post(base, api.create)
        router.add_get(base, api.list)
        router.add_get(base + "/{id}", api.get)
        router.add_delete(base + "/{id}", api.delete)
        router.add_get(base + "/{id}/file", api.file)
    app.on_startup.append(api.start)
    app.on_shutdown.insert(0, api.shutdown)
    return api
