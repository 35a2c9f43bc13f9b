"""`gladia transcribe`: from its options to the job (jobs/prerecorded.py).

`plan` checks everything the options decide before any network call (formats, outputs,
the job body, that a single local input exists); `run` hands the plan to the job, with
the server it runs on (`--local`'s: cli/local_server.py). A command line with the shape
of many inputs (several, a directory, a glob, --from-list, --output-dir: jobs/inputs.py)
goes through the many-input run instead (jobs/prerecorded_many.py).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from gladia_cli.cli import term_files
from gladia_cli.cli.options import JobFlags, LocalConnection, ManyJobs, TranscribeOutput
from gladia_cli.client.prerecorded import is_url
from gladia_cli.environment import Environment
from gladia_cli.errors import UsageError
from gladia_cli.jobs.prerecorded import ManyOptions, OutputOptions, TranscriptionPlan, check_input
from gladia_cli.protocol import prerecorded_config
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


_CONFIG_HINT = "--config takes a POST /v2/pre-recorded body as JSON"


def _key_values(values: list[str] | None) -> dict[str, str]:
    return dict(value.partition("=")[::2] for value in values or [])


def _load_config(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such config file: {path}", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", hint=_CONFIG_HINT) from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})",
            hint=_CONFIG_HINT,
        ) from None
    if not isinstance(body, dict):
        raise UsageError(
            f"{path} must hold a JSON object (a POST /v2/pre-recorded body)", hint=_CONFIG_HINT
        )
    body.pop("audio_url", None)  # each input brings its own
    return body


def _object(body: dict[str, Any], key: str, path: Path | None) -> dict[str, Any]:
    """The `--config` body's `key`, which a flag is about to add to: it must be an object."""
    value = body.get(key) or {}
    if not isinstance(value, dict):
        raise UsageError(f"{key} in {path} must be a JSON object", hint=_CONFIG_HINT)
    return value


def job_body(opts: JobOptions) -> dict[str, Any]:
    """The `--config` body with every given flag laid over it, validated as the server will."""
    body = _load_config(opts.config)
    if opts.language or opts.code_switching:
        language = dict(_object(body, "language_config", opts.config))
        if opts.language:
            language["languages"] = opts.language
        if opts.code_switching:
            language["code_switching"] = True
        body["language_config"] = language
    speakers = {
        key: value
        for key, value in (
            ("number_of_speakers", opts.speakers),
            ("min_speakers", opts.min_speakers),
            ("max_speakers", opts.max_speakers),
        )
        if value is not None
    }
    if opts.diarization or speakers:
        body["diarization"] = True
        if speakers:
            body["diarization_config"] = {
                **_object(body, "diarization_config", opts.config),
                **speakers,
            }
    if opts.translate:
        body["translation"] = True
        body["translation_config"] = {"target_languages": opts.translate}
        if opts.translation_model:
            body["translation_config"]["model"] = opts.translation_model
    if opts.subtitles:
        body["subtitles"] = True
        body["subtitles_config"] = {
            **_object(body, "subtitles_config", opts.config),
            "formats": list(dict.fromkeys(opts.subtitles)),
        }
    if opts.summarize:
        body["summarization"] = True
        body["summarization_config"] = {"type": opts.summarize}
    for flag, key in (
        (opts.ner, "named_entity_recognition"),
        (opts.sentiment, "sentiment_analysis"),
        (opts.chapters, "chapterization"),
    ):
        if flag:
            body[key] = True
    if opts.model:
        body["model"] = opts.model
    if opts.vocabulary_file is not None:
        found = term_files.parse_vocabulary(
            term_files.read_text(opts.vocabulary_file, "--vocabulary-file"),
            str(opts.vocabulary_file),
        )
        vocabulary: dict[str, Any] = {"vocabulary": [*found.entries, *(opts.vocabulary or [])]}
        if found.default_intensity is not None:
            vocabulary["default_intensity"] = found.default_intensity
        body["custom_vocabulary"] = True
        body["custom_vocabulary_config"] = vocabulary
    elif opts.vocabulary:
        body["custom_vocabulary"] = True
        body["custom_vocabulary_config"] = {"vocabulary": opts.vocabulary}
    if opts.spelling_file is not None:
        body["custom_spelling"] = True
        body["custom_spelling_config"] = {
            "spelling_dictionary": term_files.parse_spelling(
                term_files.read_text(opts.spelling_file, "--spelling-file"),
                str(opts.spelling_file),
            )
        }
    if opts.callback_url:
        body["callback"] = True
        body["callback_config"] = {
            "url": opts.callback_url,
            "method": opts.callback_method or "POST",
        }
    if opts.metadata:
        body["custom_metadata"] = {
            **_object(body, "custom_metadata", opts.config),
            **_key_values(opts.metadata),
        }
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
