"""`gladia transcribe`: files through the pre-recorded API.

`plan` checks everything the options decide before any network call (formats, outputs,
the job body, that a single local input exists); `transcribe_one` does one input — upload
(unless it is an http(s) URL, passed on as `audio_url`), create, and unless `--no-wait`,
poll until the job ends — and returns the job or raises; `run` renders it as `gladia
transcriptions get` renders a stored one. A command line with the shape of many inputs
(several, a directory, a glob, --from-list, --output-dir: cli/inputs.py) goes through the
many-input runner instead (cli/transcribe_many.py).

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

from gladia_cli.cli import term_files
from gladia_cli.client.prerecorded import PreRecordedApi, failed_addons, is_url, job_error
from gladia_cli.environment import Environment
from gladia_cli.errors import Aborted, AudioInputError, NetworkError, UsageError
from gladia_cli.jobs import config_body
from gladia_cli.protocol import prerecorded_config
from gladia_cli.protocol.body_flags import body_from
from gladia_cli.render import choose_format
from gladia_cli.render.captions import CaptionLimits
from gladia_cli.render.notices import Notices
from gladia_cli.render.output import Output, check_output_path, is_stdout
from gladia_cli.render.screen import Screen
from gladia_cli.safe_text import plain
from gladia_cli.settings import Settings, resolve


@dataclass
class JobOptions:
    """What the flags ask of the job (the `POST /v2/pre-recorded` body, without audio_url)."""

    language: list[str] | None = None
    code_switching: bool = False
    diarization: bool = False
    speakers: int | None = None
    min_speakers: int | None = None
    max_speakers: int | None = None
    translate: list[str] | None = None
    translation_model: str | None = None
    subtitles: list[str] | None = None
    summarize: str | None = None
    ner: bool = False
    sentiment: bool = False
    chapters: bool = False
    vocabulary: list[str] | None = None
    vocabulary_file: Path | None = None
    spelling_file: Path | None = None
    model: str | None = None
    callback_url: str | None = None
    callback_method: str | None = None
    metadata: list[str] | None = None
    config: Path | None = None


@dataclass
class OutputOptions:
    format: str | None = None
    output: Path | None = None
    label: str | None = None
    captions: CaptionLimits = field(default_factory=CaptionLimits)
    quiet: bool = False


@dataclass
class ManyOptions:
    """Several inputs: the run over many (cli/transcribe_many.py), as for `gladia file`."""

    from_list: str | None = None
    output_dir: Path | None = None
    skip_existing: bool = False
    jobs: int = 1


@dataclass
class ConnectionOptions:
    api_key: str | None = None
    api_url: str | None = None
    profile: str | None = None
    local: bool = False
    local_engine: str = "whisper"
    local_model: str = "base"
    debug: bool = False


_CONFIG_HINT = config_body.PRERECORDED.hint


def _vocabulary(opts: JobOptions) -> dict[str, Any] | None:
    """`custom_vocabulary_config`: the file's (with --vocabulary after it), or the flags'."""
    if opts.vocabulary_file is not None:
        found = term_files.parse_vocabulary(
            term_files.read_text(opts.vocabulary_file, "--vocabulary-file"),
            str(opts.vocabulary_file),
        )
        vocabulary: dict[str, Any] = {"vocabulary": [*found.entries, *(opts.vocabulary or [])]}
        if found.default_intensity is not None:
            vocabulary["default_intensity"] = found.default_intensity
        return vocabulary
    return {"vocabulary": opts.vocabulary} if opts.vocabulary else None


def _spelling(opts: JobOptions) -> dict[str, Any] | None:
    if opts.spelling_file is None:
        return None
    return {
        "spelling_dictionary": term_files.parse_spelling(
            term_files.read_text(opts.spelling_file, "--spelling-file"), str(opts.spelling_file)
        )
    }


def job_body(opts: JobOptions) -> dict[str, Any]:
    """The `--config` body with every given flag laid over it, validated as the server will."""

    def value(name: str) -> Any:  # asked in the table's order: a bad file fails in its turn
        if name == "vocabulary":
            return _vocabulary(opts)
        if name == "spelling":
            return _spelling(opts)
        if name == "callback_method":
            return opts.callback_method or "POST"
        return getattr(opts, name)

    body = body_from(
        prerecorded_config.JOB_FLAGS,
        value,
        config_body.load_body(opts.config, config_body.PRERECORDED),
        source=str(opts.config),
        hint=_CONFIG_HINT,
    )
    checked = {**body, "audio_url": "https://example.com/placeholder.wav"}
    problems = prerecorded_config.validate(checked) + prerecorded_config.semantic_errors(checked)
    if problems:
        raise UsageError(
            "invalid transcription options: " + "; ".join(problems),
            hint="see 'gladia transcribe --help'" + (f"; {_CONFIG_HINT}" if opts.config else ""),
        )
    return body


@dataclass
class Plan:
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
    many: ManyOptions | None = None  # several inputs: through the many-input runner


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


def plan(
    inputs: list[str],
    job: JobOptions,
    out: OutputOptions,
    conn: ConnectionOptions,
    env: Environment,
    *,
    wait: bool,
    timeout: float | None,
    many: ManyOptions | None = None,
) -> Plan:
    many = many or ManyOptions()
    if conn.local and conn.api_url:
        raise UsageError(
            "--local runs its own server: --api-url has no effect with it",
            hint="drop one of --local and --api-url",
        )
    if conn.local and not wait:
        raise UsageError(
            "--no-wait with --local: the local server stops when this command ends, and "
            "the job with it",
            hint="drop --no-wait, or run `gladia serve` and point --api-url at it",
        )
    if conn.local:  # before anything: the extra that --local needs
        from gladia_cli.cli import local_requests

        local_requests.check_server(conn.local_engine, conn.local_model)
        local_requests.check_languages(conn.local_engine, conn.local_model, job.language)
    from gladia_cli.cli.inputs import STDIN, asks_for_many, expand, single_input_jobs_notice
    from gladia_cli.cli.many import check_skip_existing, expand_inputs, many_format

    if not inputs and many.from_list is None:
        raise UsageError("missing INPUT", hint="see 'gladia transcribe --help'")
    # Decided by the command line's shape (as `gladia file` does), not by what a glob found.
    several = asks_for_many(inputs, from_list=many.from_list, output_dir=many.output_dir)
    check_skip_existing(many.output_dir, many.skip_existing)
    # Directories, quoted globs, --from-list: their files (cli/inputs.py).
    inputs = expand_inputs(inputs, many.from_list, env) if several else expand(inputs)
    if STDIN in inputs:
        raise UsageError(
            "transcribe uploads files: standard input is not one",
            hint="save it to a file first, or stream it with: gladia file -",
        )
    urls = [spec for spec in inputs if is_url(spec)]
    if conn.local and urls:  # the server would refuse it, after starting, with no way out
        raise UsageError(
            f"--local is offline: its server does not download {plain(urls[0])}",
            hint="download the file, then: gladia transcribe FILE --local",
        )
    check_output_path(out.output)
    if several and not is_stdout(out.output):
        raise UsageError(
            "-o names one file, and there are several inputs",
            hint="use --output-dir DIR for one output per input",
        )
    if many.output_dir is not None and not wait:
        raise UsageError(
            "--no-wait writes no transcript: --output-dir would stay empty",
            hint="drop one of --no-wait and --output-dir",
        )
    from gladia_cli.cli import preflight

    preflight.check_outputs(inputs, out.output, None)
    if several:  # as for `gladia file`: on stdout only what several inputs can share
        fmt = many_format(
            out.format, output_dir=many.output_dir, stdout_is_terminal=bool(env.stdout_isatty)
        )
    else:
        fmt = choose_format(
            out.format, output_path=out.output, stdout_is_terminal=bool(env.stdout_isatty)
        )
    body = job_body(job)
    if conn.local:
        from gladia_cli.cli import local_requests

        local_requests.check_body(body)
    if not several:  # with several, a missing file is that input's own failure
        check_input(inputs[0])
    screen = Screen(env)
    notices = Notices(screen, out.quiet)
    if not several and (notice := single_input_jobs_notice(many.jobs)) is not None:
        notices.warning(notice)
    from gladia_cli.credentials import KeyringStore

    settings = resolve(
        api_key=conn.api_key,
        api_url=conn.api_url,
        profile=conn.profile,
        key_store=KeyringStore(),
        local=conn.local,
        local_engine=conn.local_engine,
        local_model=conn.local_model,
        environ=env.environ,
        warn=notices.warning,
    )
    if not settings.has_key and not settings.local:
        from gladia_cli.client.api import KEY_HINT
        from gladia_cli.errors import AuthError

        problem = settings.keyring_problem
        raise AuthError(
            f"no API key (the keyring could not be read: {problem})" if problem else "no API key",
            hint=KEY_HINT,
        )
    if conn.api_key:
        notices.warning(
            "--api-key is visible to other users of this machine; prefer GLADIA_API_KEY"
        )
    many_or_none = many if several else None
    return Plan(
        inputs, body, fmt, out, settings, notices, screen, wait, timeout, conn.debug, many_or_none
    )


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


def by_speaker(job: dict[str, Any], label: str | None) -> tuple[dict[str, Any], str | None]:
    """A diarized mono job as the renderers take it: each speaker as a channel of its own,
    named `speaker N` unless --label names them. Other jobs are returned as they are."""
    import copy

    result = job.get("result")
    transcription = result.get("transcription") if isinstance(result, dict) else None
    utterances = transcription.get("utterances") if isinstance(transcription, dict) else None
    given = job.get("file")
    file: dict[str, Any] = given if isinstance(given, dict) else {}
    found = [u.get("speaker") for u in utterances or [] if isinstance(u, dict)]
    speakers = [s for s in found if isinstance(s, int) and not isinstance(s, bool) and s >= 0]
    if not found or len(speakers) != len(found) or (file.get("number_of_channels") or 1) != 1:
        return job, label
    count = max(speakers) + 1
    changed = copy.deepcopy(job)
    for utterance in changed["result"]["transcription"]["utterances"]:
        utterance["channel"] = utterance["speaker"]
    changed["file"] = {**file, "number_of_channels": count}
    return changed, label or ",".join(f"speaker {n}" for n in range(count))


def check_finished(job: dict[str, Any]) -> None:
    """A job to render must be done: in error, its message (exit 4); unfinished, when to
    come back (exit 4, as for a stored session without a result)."""
    job_id = plain(str(job.get("id", "")))
    status = job.get("status")
    if status == "error":
        raise NetworkError(f"transcription {job_id} failed: {job_error(job)}")
    if status != "done":
        raise NetworkError(
            f"transcription {job_id} is {plain(str(status))}: it has no transcript yet",
            hint=f"try again later; gladia transcriptions get {job_id} shows its status",
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
    from gladia_cli.cli.sessions_cmd import render_stored

    shown, label = (job, out.label) if fmt == "json" else by_speaker(job, out.label)
    render_stored(env, shown, fmt, output=out.output, label=label, captions=out.captions, into=into)


def run(plan: Plan, env: Environment) -> int:
    """The one input (or the many through cli/transcribe_many.py). An add-on that
    failed is said at once and makes the exit 4 at the end (the transcripts are written:
    exit 0 means the whole result asked for is there)."""
    from gladia_cli.cli.local_server import embedded_server

    if plan.many is not None:
        from gladia_cli.cli.transcribe_many import run_many_jobs

        return run_many_jobs(plan, plan.many, env)
    incomplete: dict[str, list[str]] = {}
    # No warnings from the embedded server: its failures reach the user as the job's error.
    with embedded_server(plan.settings, warn=None, debug=plan.debug) as settings:
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
