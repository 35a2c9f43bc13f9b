"""`--speakers`: after a one-channel live session, who spoke when (protocol/speakers.py).

Gladia's live API has no diarization; its pre-recorded API has. So once the session is done,
its recording (`GET /v2/live/{id}/file`) is uploaded and transcribed as a pre-recorded job
with diarization (in the session's languages), and the speakers that job finds are saved
with the session (`PATCH /v2/live/{id}`, `post_session_metadata`): the caller labels its
saved outputs with them, and `gladia sessions get` does later. The recording waits in a
temporary file, removed at the end.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gladia_cli.client.api import LiveApi
from gladia_cli.client.prerecorded import PreRecordedApi, failed_addons, job_error
from gladia_cli.errors import GladiaError, NetworkError
from gladia_cli.protocol import speakers
from gladia_cli.settings import Settings


def diarization_body(live_body: dict[str, Any], audio_url: str) -> dict[str, Any]:
    """The pre-recorded job: diarization, in the languages the session was told."""
    body: dict[str, Any] = {"audio_url": audio_url, "diarization": True}
    languages = (live_body.get("language_config") or {}).get("languages")
    if languages:
        body["language_config"] = {"languages": list(languages)}
    return body


def find_speakers(
    settings: Settings,
    session_id: str,
    live_body: dict[str, Any],
    *,
    say: Callable[[str], None],
    timeout: float | None = None,
) -> list[speakers.Turn]:
    """The speakers of a finished session, saved with it; NetworkError (exit 4) saying why
    when they cannot be had (the API's diarization failed, or is not there)."""
    live, api = LiveApi(settings, notice=say), PreRecordedApi(settings, notice=say)
    with tempfile.TemporaryDirectory(prefix="gladia-speakers-") as folder:
        recording = Path(folder) / f"{session_id}.wav"
        live.download_file(session_id, recording)
        say(f"speakers: transcribing the recording of {session_id} with diarization")
        uploaded = api.upload(recording)
    created = api.create(diarization_body(live_body, str(uploaded["audio_url"])))
    job_id = str(created["id"])
    job = api.wait(job_id, timeout=timeout)
    if job.get("status") == "error":
        raise NetworkError(
            f"speakers: the diarization job {job_id} failed: {job_error(job)}",
            hint="the transcript itself is complete, without speaker labels",
        )
    turns = speakers.turns_of(job)
    if turns is None:
        reason = failed_addons(job).get("diarization", "its utterances name no speaker")
        raise NetworkError(
            f"speakers: the API could not tell the speakers apart: {reason}",
            hint="the transcript itself is complete, without speaker labels",
        )
    try:
        live.patch_metadata(session_id, speakers.to_metadata(turns, job_id))
    except GladiaError as exc:
        say(f"speakers: not saved with the session ({exc.message}); the outputs have them")
    return turns
