"""`gladia transcribe`'s job: files through the pre-recorded API, one after the other.

`transcribe_one` does one input — upload (unless it is an http(s) URL, passed on as
`audio_url`), create, and unless `--no-wait`, poll until the job ends — and returns the job
or raises; `run_each` renders each as `gladia transcriptions get` renders a stored one
(jobs/stored.py). Many inputs at once go through jobs/prerecorded_many.py, which uses these.

Formats: table, text, srt, vtt and words render `result.transcription.utterances` with
the live renderers; `json` is the job as the API returns it (pretty, one input); `jsonl` is
the same job on one line, so that several inputs give one line each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gladia_cli.client.prerecorded import PreRecordedApi, failed_addons, is_url, job_error
from gladia_cli.environment import Environment
from gladia_cli.errors import Aborted, AudioInputError, NetworkError
from gladia_cli.jobs.server import ServerFor
from gladia_cli.render.captions import CaptionLimits
from gladia_cli.render.notices import Notices
from gladia_cli.render.output import Output
from gladia_cli.render.screen import Screen
from gladia_cli.safe_text import plain
from gladia_cli.settings import Settings


@dataclass
class OutputOptions:
    format: str | None = None
    output: Path | None = None
    label: str | None = None
    captions: CaptionLimits = field(default_factory=CaptionLimits)
    quiet: bool = False


@dataclass
class ManyOptions:
    """Several inputs: the run over many (prerecorded_many.py), as for `gladia file`."""

    from_list: str | None = None
    output_dir: Path | None = None
    skip_existing: bool = False
    jobs: int = 1


@dataclass
class TranscriptionPlan:
    """What `gladia transcribe`'s options decided, checked (cli/transcribing.py)."""

    inputs: list[str]
    body: dict[str, Any]
    fmt: str
    output: OutputOptions
    settings: Settings
    notices: Notices
    screen: Screen
    wait: bool
    timeout: float | None
    debug: bool = False  # --debug: the embedded server's whole log on stderr
    many: ManyOptions | None = None  # several inputs: through the many-input run


def check_input(spec: str) -> None:
    """A local input must be a readable file (an AudioInputError, exit 5, otherwise)."""
    if is_url(spec):
        return
    path = Path(spec)
    if not path.exists():
        raise AudioInputError(f"no such file: {spec}", hint="check the path")
    if not path.is_file():
        raise AudioInputError(
            f"{spec} is not a file", hint="give audio files (a folder is not read)"
        )
    if path.stat().st_size == 0:  # as `gladia file` says it, not an upload to be refused
        raise AudioInputError(f"{spec} is empty", hint="the recording or copy may have failed")
    from gladia_cli.audio.file_inputs import truncation

    # The API transcribes what a cut-short file holds and calls it done: exit 0 with part
    # of the audio, where `gladia file` says the file is truncated (exit 5).
    problem = truncation(path, spec)
    if problem is not None:
        raise problem


def transcribe_one(
    api: PreRecordedApi,
    spec: str,
    body: dict[str, Any],
    *,
    wait: bool,
    timeout: float | None,
    notices: Notices,
) -> dict[str, Any]:
    """One input through the pre-recorded API: the finished job (`wait`), else the created
    one (`{id, result_url}`). Raises the error tree's errors: AudioInputError (the file),
    AuthError, UsageError, NetworkError (the API, or the job ended in error)."""
    audio_url = audio_url_of(api, spec, notices.info)
    created = api.create({**body, "audio_url": audio_url})
    job_id = str(created["id"])
    if not wait:
        return created
    try:
        job = api.wait(
            job_id,
            timeout=timeout,
            on_status=lambda status: notices.info(f"transcription {job_id}: {status}"),
        )
    except KeyboardInterrupt:
        raise Aborted(
            f"interrupted; transcription {job_id} goes on: gladia transcriptions get {job_id}"
        ) from None
    check_not_in_error(job, spec, local=api.is_local)
    return job


def audio_url_of(api: PreRecordedApi, spec: str, say: Callable[[str], None]) -> str:
    """The job's `audio_url`: an http(s) URL as it is, a local file once uploaded (`say`
    hears that the upload starts)."""
    check_input(spec)
    if is_url(spec):
        return spec
    path = Path(spec)
    say(f"uploading {path.name} ({path.stat().st_size / 1e6:.1f} MB)")
    return str(api.upload(path)["audio_url"])


def check_not_in_error(job: dict[str, Any], spec: str, *, local: bool = False) -> None:
    """A job that ended in status error is the server's failure (exit 4), with its message.
    `local`: the embedded server, which stops with this command (its jobs with it)."""
    if job.get("status") == "error":
        job_id = plain(str(job.get("id", "")))
        raise NetworkError(
            f"transcription {job_id} of {spec} failed: {job_error(job)}",
            hint="run again with --debug for the local server's log"
            if local
            else f"the whole job, as the API holds it: gladia transcriptions get {job_id}",
        )


def render_job(
    env: Environment,
    job: dict[str, Any],
    fmt: str,
    out: OutputOptions,
    into: Output | None = None,
) -> None:
    """One finished job in `fmt` (stdout or -o, or `into`: a run over many inputs opens one
    for each); jsonl and json as the API returned it."""
    if fmt == "jsonl":
        from gladia_cli.render.output import Output, silence_stdout

        output = into or Output.open(
            out.output, stdout=env.stdout, guard=Screen(env).writing_data, on_closed=silence_stdout
        )
        try:
            output.line(json.dumps(job, ensure_ascii=False, separators=(",", ":")))
        finally:
            output.close()
        return
    from gladia_cli.jobs.stored import by_speaker, render_stored

    shown, label = (job, out.label) if fmt == "json" else by_speaker(job, out.label)
    render_stored(env, shown, fmt, output=out.output, label=label, captions=out.captions, into=into)


def run_each(plan: TranscriptionPlan, env: Environment, server_for: ServerFor) -> int:
    """Each input in turn (many at once: jobs/prerecorded_many.py), on the server of
    `server_for` (cli/local_server.py: --local's). An add-on that failed is said at once
    and makes the exit 4 at the end (the transcripts are written: exit 0 means the whole
    result asked for is there)."""
    incomplete: dict[str, list[str]] = {}
    with server_for(plan.settings) as settings:
        api = PreRecordedApi(settings, notice=plan.notices.warning)
        for spec in plan.inputs:
            try:
                job = transcribe_one(
                    api, spec, plan.body, wait=plan.wait, timeout=plan.timeout, notices=plan.notices
                )
            except Aborted:
                if settings.local:  # the job does not go on: its server stops with us
                    raise Aborted("interrupted; the local server stops, and its job") from None
                raise
            if not plan.wait:
                env.stdout.write(f"{job['id']}\n")
                env.stdout.flush()
                continue
            render_job(env, job, plan.fmt, plan.output)
            duration = ((job.get("file") or {}).get("audio_duration")) or 0.0
            plan.notices.info(f"{spec}: done, {float(duration):.1f} s of audio")
            for name, reason in failed_addons(job).items():
                plan.notices.warning(f"{spec}: {name} failed: {reason}")
                incomplete.setdefault(name, []).append(spec)
    if incomplete:
        raise NetworkError(
            f"the server could not produce: {', '.join(sorted(incomplete))}",
            hint="the transcripts themselves are complete; the reasons are in the warnings above",
        )
    return 0
