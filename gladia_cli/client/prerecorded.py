"""The pre-recorded API, with requests: upload a file, create a job, poll it until it ends.

Built on the live API's client (api.py): the same key header, retries of transient failures
(408/429/5xx and network errors, with backoff and `Retry-After`), and error mapping, plus:
an upload the API refuses (400, 413, 415, 422) is an audio input error (exit 5), and a job
that ends in status error is a server error (exit 4) carrying the server's message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gladia_cli.client.api import LiveApi, new_request_id
from gladia_cli.client.multipart import MultipartFile
from gladia_cli.errors import AudioInputError, NetworkError, UsageError
from gladia_cli.protocol.create_tag import tagged
from gladia_cli.protocol.retry import Backoff
from gladia_cli.safe_text import plain
from gladia_cli.settings import Settings

UPLOAD_TIMEOUT = 300.0  # seconds, as the official SDK's `upload_file`
CREATE_TIMEOUT = 60.0
# Between polls: 25 ms, doubling to 3 s (the SDK polls every 3 s): a short file's result
# is seen at once (with a fixed 3 s, twenty short files would wait a minute for nothing;
# starting at 0.1 s, twenty one-minute files one after the other took twice as long as
# streaming them at --pace max: benchmarks/batch.py), a long one's costs a request every
# 3 s, and the first second two requests more than from 0.1 s.
POLL_BACKOFF = Backoff(base=0.025, factor=2.0, cap=3.0, attempts=1)
FINISHED = ("done", "error")


def is_url(value: str) -> bool:
    """An http(s) URL is given to the job as it is; anything else is a local file."""
    return value.lower().startswith(("http://", "https://"))


def job_error(job: dict[str, Any]) -> str:
    """What the server says went wrong with a job in status error (one line)."""
    error = job.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    code = job.get("error_code")
    text = plain(str(message)) if message else "no reason given"
    return f"{text} (error_code {code})" if code is not None else text


def failed_addons(job: dict[str, Any]) -> dict[str, str]:
    """The add-ons of a done job whose container says it failed, with the server's reason
    (`{success: false, error: {message}}`, as translation and diarization are on the local
    server)."""
    result = job.get("result")
    failures = {}
    for name, container in result.items() if isinstance(result, dict) else ():
        if isinstance(container, dict) and container.get("success") is False:
            error = container.get("error")
            reason = error.get("message") if isinstance(error, dict) else None
            failures[name.replace("_", " ")] = plain(str(reason or "no reason given"))
    return failures


class PreRecordedApi(LiveApi):
    collection = "/v2/pre-recorded"
    noun = "transcription"
    list_command = "gladia transcriptions list"
    list_hint = "list transcriptions with: gladia transcriptions list"
    undeletable = ("queued", "processing")

    def __init__(
        self,
        settings: Settings,
        *,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.monotonic,
        poll: Backoff = POLL_BACKOFF,
        notice: Callable[[str], None] | None = None,
        raise_on_session_limit: bool = False,
    ) -> None:
        super().__init__(
            settings,
            backoff=backoff,
            sleep=sleep,
            notice=notice,
            raise_on_session_limit=raise_on_session_limit,
        )
        self._now = now
        self._poll = poll

    def upload(self, path: Path) -> dict[str, Any]:
        """`POST /v2/upload` (multipart, field `audio`): `{audio_url, audio_metadata}`."""
        try:
            with MultipartFile(path) as body:  # streamed from disk, not held in memory
                uploaded = self._create(
                    "/v2/upload",
                    data=body,
                    content_type=body.content_type,
                    look=None,  # nothing to look by: the Idempotency-Key header instead
                    request_id=new_request_id(),
                    timeout=UPLOAD_TIMEOUT,
                )
        except UsageError as exc:  # the file is all an upload carries
            raise AudioInputError(
                f"{path}: {exc.message}",
                hint=exc.hint or "give an audio file (WAV, FLAC, OGG, MP3…)",
            ) from None
        except OSError as exc:
            raise AudioInputError(f"cannot read {path}: {exc.strerror or exc}") from None
        if not isinstance(uploaded.get("audio_url"), str):
            raise NetworkError("the API answered POST /v2/upload without an audio_url")
        return uploaded

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v2/pre-recorded`: `{id, result_url}`; after a lost reply, the job it
        created if it did (found by the id the body carries), never a second one."""
        request_id = new_request_id()
        sent = tagged(body, request_id)
        created = self._create(
            self.collection,
            json=sent if sent is not None else body,
            look=(lambda: self._job_created(request_id)) if sent is not None else None,
            request_id=request_id,
            timeout=CREATE_TIMEOUT,
        )
        if not isinstance(created.get("id"), str):
            raise NetworkError("the API answered POST /v2/pre-recorded without an id")
        return created

    def _job_created(self, request_id: str) -> dict[str, Any] | None:
        found = self.created_by(request_id)
        if not found:
            return None
        job_id = str(found[0].get("id"))
        return {"id": job_id, "result_url": f"{self._settings.api_url}/v2/transcription/{job_id}"}

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None,
        on_status: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """The job once it is done or in error, polling with backoff; `on_status` hears each
        new status. Past `timeout` seconds (None: no limit), a network error naming the id."""
        started = self._now()
        attempt, last = 0, None
        while True:
            job = self.get(job_id)
            status = str(job.get("status"))
            if status != last and on_status is not None:
                on_status(status)
            last = status
            if status in FINISHED:
                return job
            attempt += 1
            delay = self._poll.delay(attempt)
            if timeout is not None and self._now() - started + delay > timeout:
                raise NetworkError(
                    f"transcription {job_id} is still {plain(status)} after {timeout:g} s",
                    hint="the local server stops with gladia, and the job with it: allow "
                    "more time with --timeout"
                    if self.is_local
                    else f"its result comes later: gladia transcriptions get {job_id}",
                )
            self._sleep(delay)
