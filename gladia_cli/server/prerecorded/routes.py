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
forgotten `upload_ttl` seconds (minutes) after it came. A job in error carries `error_code`
and, beside it, `error: {code, message}` (the shape of Gladia's `transcription.error`
callback).

One key must not cost the others their service (issue 18):
- A file is checked before a job can use it: a sample rate under `MIN_SAMPLE_RATE` or a
  duration over `max_file_seconds` (Gladia's 135 minutes) is refused (400). A 200 KB WAV
  declaring 1 Hz × 100 000 s would otherwise be resampled to 1.6 billion samples.
- Bounds per key: `max_jobs_per_key` unfinished jobs and `max_uploads_per_key` unused
  uploads (429 beyond), and a quarter of `max_storage_bytes` of pending uploads (unused,
  or used by an unfinished job; 429). All uploads together stay within `max_storage_bytes`:
  the oldest finished jobs' files go first to make room, then 507.
- Jobs start round-robin across keys (at most `prerecorded_workers` of one key at once)
  and decode their blocks in turn (job_queue.py), so a key's long queue delays another
  key's job by a block or two, not by the queue.
- DELETE of a queued or processing job cancels it (202): Gladia documents 403 only for a
  live session still processing (protocol.md §6); for pre-recorded jobs it documents 202,
  and a job nobody wants should not hold a worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
import shutil
import uuid
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, InvalidHeader, LineTooLong

from gladia_cli.protocol import prerecorded_config
from gladia_cli.protocol.create_tag import IDEMPOTENCY_HEADER
from gladia_cli.server import callback_policy, slow_clients
from gladia_cli.server.http import (
    SWEEP_EVERY,
    BadBody,
    BodyTimeout,
    gladia_error,
    list_page,
    matches,
    page_bounds,
    parse_json_body,
    read_body,
    request_id,
    request_owner,
)
from gladia_cli.server.idempotency import RepeatedRequests
from gladia_cli.server.prerecorded.file_transcription import (
    JobCancelled,
    JobFailed,
    audio_info,
    transcribe_file,
)
from gladia_cli.server.prerecorded.job_queue import RoundRobin, Turns, background_priority
from gladia_cli.server.prerecorded.records import (
    Job,
    Upload,
    now_iso,
    restore_records,
    save_job,
    save_upload,
)
from gladia_cli.server.slow_clients import Progress

if TYPE_CHECKING:
    from gladia_cli.server.resources import ServerResources


log = logging.getLogger("gladia.server")
T = TypeVar("T")

UPLOAD_PIECE = 256 * 1024
# Past the limit, this much more of an upload is read (and dropped) before the 413, so that
# a client still sending gets the answer instead of a reset connection.
DRAIN_LIMIT = 64 * 1024 * 1024
_FILE_PATH = re.compile(r"^/file/([0-9a-f-]{36})$")
# Below this a file is not speech audio (Gladia's lowest live rate); a tiny file declaring
# a very low rate would declare hours of audio and cost hours of resampling.
MIN_SAMPLE_RATE = 8000
# Jobs of all keys that may run at once, per worker (each key at most `workers` of them):
# with more keys than that, the others' jobs wait for one to end.
RUNNING_JOBS_PER_WORKER = 4
KEY_STORAGE_SHARE = 4  # one key's pending uploads may take 1/4 of max_storage_bytes


def _safe_filename(name: str | None) -> str:
    """The client's file name, for display only (never a path on disk)."""
    base = (name or "audio").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable())[:255]
    return cleaned or "audio"


def _upload_progress() -> Progress:
    return Progress(
        asyncio.get_running_loop().time(),
        window=slow_clients.UPLOAD_WINDOW_SECONDS,
        min_bytes=slow_clients.UPLOAD_WINDOW_BYTES,
    )


async def _paced(read: Awaitable[T], progress: Progress) -> T:
    """`read`, unless the client falls behind the upload's minimum pace (TimeoutError)."""
    loop = asyncio.get_running_loop()
    value = await asyncio.wait_for(read, progress.remaining(loop.time()))
    if isinstance(value, bytes | bytearray):
        progress.received(len(value), loop.time())
    return value


def _header_problem(exc: HttpProcessingError) -> str:
    """What is wrong with a part's headers, in words that echo none of their bytes (they
    may hold terminal escapes, or a megabyte)."""
    if isinstance(exc, LineTooLong):
        return "hold a line longer than aiohttp's limit (8190 bytes)"
    if isinstance(exc, InvalidHeader):
        return "hold a character that is not allowed (a control character?)"
    return "are not valid (too many, or malformed)"


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
    """The pre-recorded routes, over the server's shared resources (the engine, the folder,
    the clock: resources.py)."""

    def __init__(self, resources: ServerResources) -> None:
        self.resources = resources
        self.config = resources.config
        self.uploads: dict[str, Upload] = {}
        self._repeats = RepeatedRequests()  # Idempotency-Key → the upload it made
        self.jobs: dict[str, Job] = {}
        workers = max(1, self.config.prerecorded_workers)
        self._queued: RoundRobin[Job] = RoundRobin()
        self._running: dict[str, int] = {}  # jobs started and not ended, per owner
        self._max_running = workers * RUNNING_JOBS_PER_WORKER
        self._turns = Turns(workers)
        self._incoming: dict[str, int] = {}  # bytes of uploads being received, per owner
        self._executor = ThreadPoolExecutor(
            self._max_running, thread_name_prefix="prerecorded", initializer=background_priority
        )
        self._callbacks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._closing = False

    async def start(self) -> None:
        if self.resources.data.persistent:
            self._restore()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    def _restore(self) -> None:
        """What an earlier server left in --data-dir (records.py): unfinished
        jobs run again, in their order."""
        uploads, jobs = restore_records(self.directory, self.resources.clock.now())
        self.uploads.update((u.id, u) for u in uploads)
        for job in jobs:
            self.jobs[job.id] = job
            if job.finished_at is None:
                self._queued.push(job.owner, job)
        self._start_jobs()

    async def _sweep_forever(self) -> None:
        """Evictions happen when nobody asks too (as the live sessions' sweeper does)."""
        clock = self.resources.clock
        every = min(SWEEP_EVERY, self.config.session_ttl, self.config.upload_ttl)
        while True:
            await clock.sleep_until(clock.now() + every)
            self.sweep()

    @property
    def directory(self) -> Path:
        """The uploads' and jobs' folders: in the server's data folder (data_dir.py)."""
        return self.resources.data.prerecorded

    # --- lookups ---------------------------------------------------------------------------

    def _job(self, request: web.Request) -> Job | None:
        self.sweep()
        job = self.jobs.get(request.match_info["id"])
        return job if job is not None and job.owner == request_owner(request) else None

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
        # A client that drips its upload holds a connection and a folder on disk for as
        # long as it likes, unless it must keep a minimum pace (slow_clients.py).
        progress = _upload_progress()
        try:
            reader = await request.multipart()
            while True:
                part = await _paced(reader.next(), progress)
                if part is None:
                    return gladia_error(
                        request, 400, "Bad Request", ["audio is required (multipart field audio)"]
                    )
                if isinstance(part, aiohttp.BodyPartReader) and part.name == "audio":
                    return await self._store_upload(request, part, progress)
                if isinstance(part, aiohttp.BodyPartReader):
                    await part.release()
        except TimeoutError:
            return gladia_error(request, 408, f"the upload stalled: {progress.describe()}")
        except ConnectionError as exc:
            # Gone before its audio part began: nothing stored, nobody to answer.
            log.info("upload: the client went away (%s)", type(exc).__name__)
            return gladia_error(request, 400, "Bad Request", ["the upload was cut"])
        except HttpProcessingError as exc:
            # A part's headers aiohttp will not parse (a control character in a file
            # name, a header over 8190 bytes, too many): the client's mistake, not ours.
            problem = _header_problem(exc)
            log.info("upload refused: audio part headers %s", problem)
            return gladia_error(request, 400, "Bad Request", [f"audio part headers {problem}"])
        except (ValueError, AssertionError, aiohttp.ClientPayloadError) as exc:
            # aiohttp's multipart parser refuses a malformed body with these.
            log.info("upload refused: %s", exc)
            return gladia_error(request, 400, "Bad Request", ["body is not valid multipart"])

    async def _store_upload(
        self, request: web.Request, part: aiohttp.BodyPartReader, progress: Progress
    ) -> web.Response:
        owner = request_owner(request)
        self.sweep()
        unused = sum(u.owner == owner and u.jobs <= 0 for u in self.uploads.values())
        if unused >= self.config.max_uploads_per_key:
            return gladia_error(
                request,
                429,
                f"too many uploads no job uses yet for this key "
                f"(limit {self.config.max_uploads_per_key}): create jobs with them or wait "
                f"{self.config.upload_ttl:g} s for them to expire",
            )
        upload_id = str(uuid.uuid4())
        filename = _safe_filename(part.filename)
        extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        folder = self.directory / upload_id
        folder.mkdir()
        path = folder / "audio"
        size = 0
        limit, status, message = self._room(owner)
        loop = asyncio.get_running_loop()
        try:
            with path.open("wb") as out:
                while piece := await _paced(part.read_chunk(UPLOAD_PIECE), progress):
                    size += len(piece)
                    self._incoming[owner] = self._incoming.get(owner, 0) + len(piece)
                    if size > limit:
                        break
                    await loop.run_in_executor(None, out.write, piece)
        except TimeoutError:
            shutil.rmtree(folder, ignore_errors=True)
            log.info("upload %s: %s, dropped", upload_id, progress.describe())
            return gladia_error(request, 408, f"the upload stalled: {progress.describe()}")
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
        finally:  # another upload of the key may still be coming in
            left = self._incoming.get(owner, 0) - size
            if left > 0:
                self._incoming[owner] = left
            else:
                self._incoming.pop(owner, None)
        if size > limit:
            shutil.rmtree(folder, ignore_errors=True)
            drained = size
            with contextlib.suppress(TimeoutError, ConnectionError, aiohttp.ClientPayloadError):
                while drained < limit + DRAIN_LIMIT and (
                    piece := await _paced(part.read_chunk(UPLOAD_PIECE), progress)
                ):
                    drained += len(piece)
            log.info("upload %s refused (%d): %s", upload_id, status, message)
            return gladia_error(request, status, message)
        try:
            duration, channels, rate = await loop.run_in_executor(None, audio_info, str(path))
        except ValueError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return gladia_error(request, 400, "Bad Request", [f"audio could not be decoded: {exc}"])
        key = request.headers.get(IDEMPOTENCY_HEADER)
        first = self.uploads.get(self._repeats.first(owner, key) or "")
        if first is not None:  # the same upload again, its reply lost: stored once
            shutil.rmtree(folder, ignore_errors=True)
            log.info("upload %s: a repeat of upload %s (Idempotency-Key)", upload_id, first.id)
            return self._uploaded(request, first)
        problem = self._inadmissible(duration, rate)
        if problem:
            shutil.rmtree(folder, ignore_errors=True)
            log.info("upload %s refused: %s", upload_id, problem)
            return gladia_error(request, 400, "Bad Request", [problem])
        upload = Upload(
            id=upload_id,
            owner=owner,
            path=path,
            filename=filename,
            extension=extension,
            size=size,
            audio_duration=duration,
            number_of_channels=channels,
            added_at=self.resources.clock.now(),
        )
        save_upload(upload)
        self.uploads[upload_id] = upload
        self._repeats.remember(owner, key, upload_id)
        self.sweep()
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

    def _room(self, owner: str) -> tuple[int, int, str]:
        """How many bytes an upload of `owner` may bring now, with the status and message
        of a refusal past them: the file limit (413), the key's share of the disk (429),
        the disk (507; finished jobs' files are made room for, see `sweep`)."""
        mib = 1024 * 1024
        pending = self._pending_bytes()
        incoming = sum(self._incoming.values())
        total = self.config.max_storage_bytes
        share = total // KEY_STORAGE_SHARE
        key_used = pending.get(owner, 0) + self._incoming.get(owner, 0)
        used = sum(pending.values()) + incoming
        limits = [
            (
                self.config.max_upload_bytes,
                413,
                f"the file is larger than {self.config.max_upload_bytes / mib:g} MB",
            ),
            (
                share - key_used,
                429,
                f"this key's uploads waiting for a job already take {key_used / mib:.0f} MB of "
                f"the {share / mib:.0f} MB a key may hold: create jobs with them, or wait for "
                "its jobs to end",
            ),
            (
                total - used,
                507,
                f"the server's storage for uploads is full ({total / mib:.0f} MB): retry later",
            ),
        ]
        room, status, message = min(limits, key=lambda limit: limit[0])
        return max(0, room), status, message

    def _pending_bytes(self) -> dict[str, int]:
        """Bytes of the uploads each owner still has work for: unused ones and those of
        unfinished jobs (a finished job's file can be made room for)."""
        busy = {j.upload.id for j in self.jobs.values() if j.finished_at is None}
        pending: dict[str, int] = {}
        for upload in self.uploads.values():
            if upload.jobs <= 0 or upload.id in busy:
                pending[upload.owner] = pending.get(upload.owner, 0) + upload.size
        return pending

    def _inadmissible(self, duration: float, rate: int) -> str | None:
        """Why a decoded file is refused before any job can use it, or None."""
        if rate < MIN_SAMPLE_RATE:
            return f"audio sample rate is {rate} Hz: speech audio has at least {MIN_SAMPLE_RATE} Hz"
        limit = self.config.max_file_seconds
        if duration > limit:
            return f"audio lasts {duration:.0f} s: the longest file a job takes is {limit:g} s"
        return None

    async def get_upload(self, request: web.Request) -> web.StreamResponse:
        self.sweep()
        upload = self.uploads.get(request.match_info["id"])
        if upload is None or upload.owner != request_owner(request):
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
        if upload is None or upload.owner != request_owner(request):
            return "audio_url names no uploaded file (it may have expired): upload it again"
        return upload

    # --- jobs -----------------------------------------------------------------------------

    async def create(self, request: web.Request) -> web.Response:
        try:
            body = parse_json_body(await read_body(request))
        except BodyTimeout as exc:
            return gladia_error(request, 408, str(exc))
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
        owner = request_owner(request)
        unfinished = [j for j in self.jobs.values() if j.finished_at is None]
        limit = self.config.max_jobs_per_key
        if sum(j.owner == owner for j in unfinished) >= limit:
            return gladia_error(
                request, 429, f"too many pre-recorded jobs of this key waiting (limit {limit})"
            )
        limit = self.config.max_unfinished_jobs
        if len(unfinished) >= limit:
            return gladia_error(request, 429, f"too many pre-recorded jobs waiting (limit {limit})")
        job_id = str(uuid.uuid4())
        folder = self.directory / f"job-{job_id}"
        folder.mkdir()
        job = Job(
            id=job_id,
            owner=owner,
            request_id=request_id(),
            config=prerecorded_config.with_defaults(body),
            upload=upload,
            folder=folder,
        )
        upload.jobs += 1
        save_job(job)
        self.jobs[job_id] = job
        self._queued.push(owner, job)
        log.info("pre-recorded job %s: queued (upload %s)", job_id, upload.id)
        self._start_jobs()
        scheme = "https" if request.secure else "http"
        return web.json_response(
            {"id": job_id, "result_url": f"{scheme}://{request.host}/v2/pre-recorded/{job_id}"},
            status=201,
        )

    def _start_jobs(self) -> None:
        """Start queued jobs while there is room: round-robin across keys, at most
        `prerecorded_workers` of one key at once."""
        per_key = max(1, self.config.prerecorded_workers)
        while not self._closing and sum(self._running.values()) < self._max_running:
            served = self._queued.pop(lambda owner: self._running.get(owner, 0) < per_key)
            if served is None:
                return
            owner, job = served
            self._running[owner] = self._running.get(owner, 0) + 1
            job.status = "processing"
            job.task = asyncio.get_running_loop().create_task(self._run(job))

    async def _run(self, job: Job) -> None:
        try:
            await self._transcribe(job)
        finally:
            self._running[job.owner] -= 1
            if not self._running[job.owner]:
                del self._running[job.owner]
            self._start_jobs()

    async def _transcribe(self, job: Job) -> None:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                self._executor,
                lambda: transcribe_file(
                    str(job.upload.path),
                    job.config,
                    self.resources.transcribers,
                    job_id=job.id,
                    cancelled=job.cancelled,
                    addons=self.resources.addons,
                    turn=lambda: self._turns.turn(job.owner, job.cancelled),
                    diarize=self.config.speaker_model,
                ),
            )
            slow = self.config.faults.slow_finish
            if slow:  # a job that stays in processing (tests of clients that wait)
                await self.resources.clock.sleep_until(self.resources.clock.now() + slow)
            if job.cancelled.is_set():
                return
            await loop.run_in_executor(None, job.save_result, result)
        except JobCancelled:
            return
        except JobFailed as exc:
            job.error = (exc.code, exc.message)
        except Exception as exc:  # a job must end, whatever failed
            if job.cancelled.is_set():  # deleted meanwhile: its folder went with it
                return
            log.debug("pre-recorded job %s failed", job.id, exc_info=exc)
            job.error = (500, f"{type(exc).__name__}: {exc}")
        job.status = "error" if job.error else "done"
        job.completed_at = now_iso()
        job.finished_at = self.resources.clock.now()
        save_job(job)
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
            owner = request_owner(request)
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
            log.info("pre-recorded job %s: cancelled (%s)", job.id, job.status)
        self._forget(job)
        return web.Response(status=202)

    async def file(self, request: web.Request) -> web.StreamResponse:
        job = self._job(request)
        if job is None or not job.upload.path.exists():
            return gladia_error(request, 404, "Not found")
        return self._file_response(job.upload)

    # --- forgetting -----------------------------------------------------------------------

    def _forget(self, job: Job) -> None:
        """The job goes, with its folder; a queued one leaves the queue, a running one is
        cancelled (its thread stops at its next block; the slow-finish wait at once)."""
        job.cancelled.set()
        self.jobs.pop(job.id, None)
        if job.finished_at is None:
            self._queued.discard(job)
            self._turns.wake()
            if job.task is not None:
                job.task.cancel()
        shutil.rmtree(job.folder, ignore_errors=True)
        job.upload.jobs -= 1
        if job.upload.jobs <= 0:
            self._forget_upload(job.upload)

    def _forget_upload(self, upload: Upload) -> None:
        self.uploads.pop(upload.id, None)
        shutil.rmtree(upload.path.parent, ignore_errors=True)

    def sweep(self) -> None:
        """Evict as live sessions are (session_store.py): past the TTL, then the oldest
        finished beyond the bound, then the oldest finished while the uploads take more
        than `max_storage_bytes`; uploads no job uses after `upload_ttl`, and beyond the
        bound."""
        now = self.resources.clock.now()
        ttl, bound = self.config.session_ttl, self.config.max_stored_sessions
        finished = sorted(
            (j for j in self.jobs.values() if j.finished_at is not None),
            key=lambda j: j.finished_at or 0.0,
        )
        expired = [j for j in finished if now - (j.finished_at or 0.0) >= ttl]
        survivors = finished[len(expired) :]
        excess = max(0, len(survivors) - bound)
        for job in expired + survivors[:excess]:
            log.info("pre-recorded job %s: evicted", job.id)
            self._forget(job)
        stored = sum(u.size for u in self.uploads.values())
        for job in survivors[excess:]:
            if stored <= self.config.max_storage_bytes:
                break
            if job.upload.jobs == 1:
                stored -= job.upload.size
            log.info("pre-recorded job %s: evicted (storage for uploads full)", job.id)
            self._forget(job)
        unused = sorted((u for u in self.uploads.values() if u.jobs <= 0), key=lambda u: u.added_at)
        fresh = [u for u in unused if now - u.added_at < self.config.upload_ttl]
        for upload in unused[: len(unused) - len(fresh)] + fresh[: max(0, len(fresh) - bound)]:
            log.info("upload %s: expired unused", upload.id)
            self._forget_upload(upload)

    async def shutdown(self) -> None:
        self._closing = True  # no job starts from now on
        if self._sweeper is not None:
            self._sweeper.cancel()
        for job in list(self.jobs.values()):
            job.cancelled.set()
            if job.task is not None:
                job.task.cancel()
        self._turns.wake()
        for task in list(self._callbacks):
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
        # The folder goes with the server's data folder, or stays in --data-dir: jobs
        # cancelled here are queued again by the next server.


# The pre-recorded routes (method, path, handler), laid on the router by app.py;
# `/v2/transcription` is Gladia's old name of `/v2/pre-recorded`.
ROUTES = (
    ("POST", "/v2/upload", PreRecordedApi.upload),
    ("GET", "/file/{id}", PreRecordedApi.get_upload),
    *(
        route
        for base in ("/v2/pre-recorded", "/v2/transcription")
        for route in (
            ("POST", base, PreRecordedApi.create),
            ("GET", base, PreRecordedApi.list),
            ("GET", base + "/{id}", PreRecordedApi.get),
            ("DELETE", base + "/{id}", PreRecordedApi.delete),
            ("GET", base + "/{id}/file", PreRecordedApi.file),
        )
    ),
)
