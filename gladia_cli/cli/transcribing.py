"""`gladia transcribe`: from its options to the job (jobs/prerecorded.py).

`plan` checks everything the options decide before any network call (formats, outputs,
the job body, that a single local input exists); `run` hands the plan to the job, with
the server it runs on (`--local`'s: cli/local_server.py). A command line with the shape
of many inputs (several, a directory, a glob, --from-list, --output-dir: jobs/inputs.py)
goes through the many-input run instead (jobs/prerecorded_many.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gladia_cli.cli import term_files
from gladia_cli.cli.options import JobFlags, LocalConnection, ManyJobs, TranscribeOutput
from gladia_cli.client.prerecorded import is_url
from gladia_cli.environment import Environment
from gladia_cli.errors import UsageError
from gladia_cli.jobs import config_body
from gladia_cli.jobs.prerecorded import ManyOptions, OutputOptions, TranscriptionPlan, check_input
from gladia_cli.protocol import prerecorded_config
from gladia_cli.protocol.body_flags import body_from
from gladia_cli.render import choose_format
from gladia_cli.render.notices import Notices
from gladia_cli.render.output import check_output_path, is_stdout
from gladia_cli.render.screen import Screen
from gladia_cli.safe_text import plain


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


def job_options(flags: JobFlags) -> JobOptions:
    """The flags' values (an enum's value, not the enum), by name."""

    def plain(value: Any) -> Any:
        if isinstance(value, list):
            return [plain(item) for item in value]
        return value.value if isinstance(value, enum.Enum) else value

    return JobOptions(**{f.name: plain(getattr(flags, f.name)) for f in fields(JobOptions)})


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


def plan(
    inputs: list[str],
    job: JobOptions,
    flags: TranscribeOutput,
    conn: LocalConnection,
    env: Environment,
    *,
    wait: bool,
    timeout: float | None,
    many: ManyJobs | None = None,
) -> TranscriptionPlan:
    many = many or ManyJobs()
    out = OutputOptions(
        format=flags.format,
        output=flags.output,
        label=flags.label,
        captions=flags.captions,
        quiet=flags.quiet,
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
    from gladia_cli.cli.many import check_skip_existing, expand_inputs, many_format
    from gladia_cli.jobs.inputs import STDIN, asks_for_many, expand, single_input_jobs_notice

    if not inputs and many.from_list is None:
        raise UsageError("missing INPUT", hint="see 'gladia transcribe --help'")
    # Decided by the command line's shape (as `gladia file` does), not by what a glob found.
    several = asks_for_many(inputs, from_list=many.from_list, output_dir=many.output_dir)
    check_skip_existing(many.output_dir, many.skip_existing)
    # Directories, quoted globs, --from-list: their files (jobs/inputs.py).
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
    from gladia_cli.cli.connection import settings_for
    from gladia_cli.client.api import KEY_HINT

    settings = settings_for(conn, env, notices.warning, key_hint=KEY_HINT)
    many_or_none = (
        ManyOptions(
            from_list=many.from_list,
            output_dir=many.output_dir,
            skip_existing=many.skip_existing,
            jobs=many.jobs,
        )
        if several
        else None
    )
    return TranscriptionPlan(
        inputs, body, fmt, out, settings, notices, screen, wait, timeout, flags.debug, many_or_none
    )


def run(plan: TranscriptionPlan, env: Environment) -> int:
    """The job: each input in turn, or the many-input run (jobs/prerecorded_many.py)."""
    import functools

    from gladia_cli.cli.local_server import embedded_server

    # No warnings from the embedded server: its failures reach the user as the jobs' errors.
    server_for = functools.partial(embedded_server, warn=None, debug=plan.debug)
    if plan.many is not None:
        from gladia_cli.jobs.prerecorded_many import run_many_jobs

        return run_many_jobs(plan, plan.many, env, server_for)
    from gladia_cli.jobs.prerecorded import run_each

    return run_each(plan, env, server_for)
