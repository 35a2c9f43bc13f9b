"""`gladia transcribe` over many inputs: one pre-recorded job per input, `--jobs` submitted
and polled at once, through the runner `gladia file` uses (many_run.py, batch_run.py): the
same `--output-dir` names, atomic writes, `--skip-existing`, progress view, summary and
exit code (the most serious). What runs at once on the server is the server's business
(`gladia serve --prerecorded-workers`, Gladia's plan limits): a job created beyond them
waits there in status queued; a 429 on `POST /v2/pre-recorded` puts the input back in the
runner's queue, as a refused live session does.

Signals: a job runs on the server, not here, so the first Ctrl-C does not wait for the
running ones: no further input is uploaded or submitted, an upload under way finishes but
gets no job, and each job still running is named with its id (`gladia transcriptions get
ID` fetches its result later; with `--local` the embedded server stops, and its jobs with
it); the run exits 130, every output written so far in place.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

from gladia_cli.client.prerecorded import PreRecordedApi, failed_addons
from gladia_cli.environment import Environment
from gladia_cli.errors import AudioInputError, NetworkError
from gladia_cli.jobs.prerecorded import (
    ManyOptions,
    TranscriptionPlan,
    audio_url_of,
    check_not_in_error,
    render_job,
)
from gladia_cli.jobs.server import ServerFor

if TYPE_CHECKING:
    from gladia_cli.jobs.batch_run import Reporter
    from gladia_cli.render.output import Output
    from gladia_cli.settings import Settings

ON_STOP = "running job(s) are left to the server (their ids follow)"


class _Stopped(Exception):
    """The run was asked to stop while this input waited (a poll, a retry's backoff)."""


def run_many_jobs(
    plan: TranscriptionPlan, many: ManyOptions, env: Environment, server_for: ServerFor
) -> int:
    """Every input as a job, on the server of `server_for` (one for the whole run)."""
    from gladia_cli.jobs.many_run import run_many

    with server_for(plan.settings) as settings:
        uploaded: dict[str, str] = {}  # an input's audio_url, kept when a 429 queues it again

        def run_one(spec: str, output: Output, reporter: Reporter) -> int:
            try:
                return _one(plan, settings, spec, output, reporter, uploaded, env)
            finally:
                output.close()

        return run_many(
            plan.inputs,
            run_one,
            fmt=plan.fmt,
            output_dir=many.output_dir,
            skip_existing=many.skip_existing,
            jobs=many.jobs,
            env=env,
            screen=plan.screen,
            notices=plan.notices,
            quiet=plan.output.quiet,
            debug=plan.debug,
            on_stop_running=ON_STOP,
        )


def _one(
    plan: TranscriptionPlan,
    settings: Settings,
    spec: str,
    output: Output,
    reporter: Reporter,
    uploaded: dict[str, str],
    env: Environment,
) -> int:
    stop = threading.Event()
    reporter.on_stop(stop.set)

    def sleep(seconds: float) -> None:  # the API's waits end at the first signal
        if stop.wait(seconds):
            raise _Stopped

    # One client per input: a requests session is not shared between threads.
    api = PreRecordedApi(
        settings, sleep=sleep, notice=reporter.notices.warning, raise_on_session_limit=True
    )
    try:
        if spec not in uploaded:
            uploaded[spec] = audio_url_of(api, spec, lambda text: reporter.progress(None, text))
        if stop.is_set():
            reporter.cut_short = True  # uploaded, but no job: nothing runs for it
            return 0
        reporter.progress(None, "submitting")
        created = api.create({**plan.body, "audio_url": uploaded[spec]})
    except _Stopped:
        reporter.cut_short = True
        return 0
    except AudioInputError as exc:  # the summary names the input already
        exc.message = exc.message.removeprefix(f"{spec}: ")
        raise
    job_id = str(created["id"])
    if not plan.wait:
        _write_created(output, created, plan.fmt)
        return 0
    try:
        job = api.wait(
            job_id, timeout=plan.timeout, on_status=lambda status: reporter.progress(None, status)
        )
    except _Stopped:
        reporter.cut_short = True
        reporter.notices.warning(
            f"transcription {job_id} was not finished; "
            + (
                "the local server stops, and the job with it"
                if settings.local
                else f"it goes on on the server: gladia transcriptions get {job_id}"
            )
        )
        return 0
    check_not_in_error(job, spec, local=api.is_local)
    render_job(env, job, plan.fmt, plan.output, into=output)
    failed = failed_addons(job)
    for name, reason in failed.items():
        reporter.notices.warning(f"{name} failed: {reason}")
    if failed:  # the transcript is written, but not everything asked for: not done
        raise NetworkError(f"the server could not produce: {', '.join(sorted(failed))}")
    return 0


def _write_created(output: Output, created: dict[str, Any], fmt: str) -> None:
    """--no-wait: the created job (`{id, result_url}`) in jsonl, its id in text (each line
    tagged with its input by the shared stdout)."""
    if fmt == "jsonl":
        output.line(json.dumps(created, ensure_ascii=False, separators=(",", ":")))
    else:
        output.line(str(created["id"]))
