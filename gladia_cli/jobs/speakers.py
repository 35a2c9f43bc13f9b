"""`--speakers`: after a one-channel live session, who spoke when (protocol/speakers.py).

Gladia's live API has no diarization; its pre-recorded API has. So once the session is done,
its recording (`GET /v2/live/{id}/file`) is uploaded and transcribed as a pre-recorded job
with diarization (in the session's languages), and the speakers that job finds are saved
with the session (`PATCH /v2/live/{id}`, `post_session_metadata`): the caller labels its
saved outputs with them, and `gladia sessions get` does later. The recording waits in a
temporary file, removed at the end. `label_speakers` is what the stream job calls after the
session: the speakers found, then the saved transcript written again with them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gladia_cli.client.api import LiveApi
from gladia_cli.client.prerecorded import PreRecordedApi, failed_addons, job_error
from gladia_cli.errors import GladiaError, NetworkError
from gladia_cli.protocol import speakers
from gladia_cli.render.base import NullRenderer
from gladia_cli.settings import Settings

if TYPE_CHECKING:
    from gladia_cli.jobs.stream_plan import StreamPlan
    from gladia_cli.render.output import Output


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


class NothingYet(NullRenderer):
    """The renderer of an output written after the session (--speakers): it takes nothing."""


def label_speakers(
    plan: StreamPlan,
    body: dict[str, Any],
    output: Output | None,
    to_file: bool,
    settings: Settings,
    session_id: str,
) -> None:
    """After the session: its speakers (jobs/speakers.py), then the file output written
    with them (without them, and exit 4, when they could not be had)."""
    from gladia_cli.jobs.stored import by_speaker, render_stored

    failure: GladiaError | None = None
    turns: list[speakers.Turn] | None = None
    try:
        turns = find_speakers(settings, session_id, body, say=plan.notices.info)
    except GladiaError as exc:
        failure = exc
    if to_file:
        session = LiveApi(settings).wait_until_done(session_id, timeout=plan.stop_timeout)
        label = plan.label
        if turns is not None:
            found = len({t.speaker for t in turns})
            if label and len(label.split(",")) != found:
                plan.notices.warning(
                    f"--label names {len(label.split(','))} speakers, {found} were found: "
                    "they are named speaker 0, speaker 1…"
                )
                label = None
            session = speakers.with_speakers(session, turns)
            if plan.fmt != "json":
                session, label = by_speaker(session, label)
        render_stored(
            plan.env,
            session,
            plan.fmt,
            output=plan.output,
            label=label if turns is not None else None,
            captions=plan.captions,
            into=output,
        )
    elif turns is not None:
        found = len({t.speaker for t in turns})
        plan.notices.info(
            f"speakers: {found} found, saved with the session: "
            f"gladia sessions get {session_id} -f text"
        )
    if failure is not None:
        raise failure
