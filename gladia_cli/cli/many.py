"""`gladia file A B DIR 'glob*'` (and `--from-list`): one live session per input, `--jobs`
at a time (jobs/stream_many.py); each input's output in `--output-dir`, or on stdout
tagged with its source (render/tagged.py).

What differs from one input is decided here, before any session: the inputs are
expanded (jobs/inputs.py), the format is one that several inputs can share (table cannot;
on stdout only jsonl and text can be told apart line by line), options that name one file (-o,
--save-audio, --record) are refused, and with --local one embedded server serves every
input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from gladia_cli.cli.choices import OutputFormat
from gladia_cli.cli.options import ManyInputs, StreamOptions
from gladia_cli.environment import Environment
from gladia_cli.errors import UsageError

STDOUT_FORMATS = ("jsonl", "text")


def check_many_options(opts: StreamOptions, output_dir: Path | None, skip_existing: bool) -> None:
    for option, value in (
        ("-o/--output", opts.output),
        ("--save-audio", opts.save_audio),
        ("--record", opts.record),
    ):
        if value is not None:
            # "Several" by the command line's shape: --output-dir with one input is too.
            raise UsageError(
                f"{option} names one file, and this runs over many inputs",
                hint=(
                    "drop -o: --output-dir DIR writes one output per input"
                    if output_dir is not None
                    else "use --output-dir DIR for one output per input"
                )
                if option == "-o/--output"
                else f"transcribe one input at a time with {option}",
            )
    if opts.web or opts.web_host is not None or opts.web_port:
        raise UsageError(
            "--web shows one session, and this runs over many inputs",
            hint="caption one input at a time",
        )
    check_skip_existing(output_dir, skip_existing)


def check_skip_existing(output_dir: Path | None, skip_existing: bool) -> None:
    if skip_existing and output_dir is None:
        raise UsageError(
            "--skip-existing skips inputs whose output is in --output-dir",
            hint="add --output-dir DIR",
        )


def many_format(requested: str | None, *, output_dir: Path | None, stdout_is_terminal: bool) -> str:
    """With --output-dir any file format (default jsonl); on stdout jsonl or text (default:
    text on a terminal, jsonl otherwise)."""
    if requested == "table" and output_dir is not None:
        raise UsageError(
            "the table is drawn on a terminal: it cannot be written to --output-dir",
            hint="use --format jsonl, json, text, srt, vtt or words there",
        )
    if requested == "table":
        raise UsageError(
            "the table shows one session; with several inputs it cannot be used",
            hint="add --output-dir DIR for one file per input, or use --format text or jsonl",
        )
    if output_dir is not None:
        return requested or "jsonl"
    fmt = requested or ("text" if stdout_is_terminal else "jsonl")
    if fmt not in STDOUT_FORMATS:
        raise UsageError(
            f"--format {fmt} writes one document per input; several cannot share stdout",
            hint="add --output-dir DIR for one file per input, or use --format jsonl or text",
        )
    return fmt


def file_many(
    args: Sequence[str],
    many: ManyInputs,
    *,
    pace: str,
    multichannel: bool,
    raw_spec: tuple[int | None, int | None, str | None],
    opts: StreamOptions,
    env: Environment,
    speakers: bool = False,
) -> int:
    from gladia_cli.audio.file_source import FileSource, open_file_source, parse_raw_format
    from gladia_cli.audio.pacing import parse_pace
    from gladia_cli.cli import preflight, streaming
    from gladia_cli.jobs import inputs
    from gladia_cli.jobs.stream_many import stream_each

    output_dir = many.output_dir
    check_many_options(opts, output_dir, many.skip_existing)
    fmt = many_format(
        opts.format, output_dir=output_dir, stdout_is_terminal=bool(env.stdout_isatty)
    )
    specs = expand_inputs(args, many.from_list, env)
    preflight.check_stdio(writes_stdout=output_dir is None, reads_stdin=inputs.STDIN in specs)
    speed = parse_pace(pace)
    raw_rate, raw_channels, raw = raw_spec
    raw_format = parse_raw_format(raw_rate, raw_channels, raw) if raw else None
    planned = streaming.plan(
        replace(opts, format=OutputFormat(fmt)),
        env,
        speakers=speakers,
        output_dir=output_dir is not None,
    )
    streaming.pin_memory()

    with streaming.one_local_server(planned) as shared:

        def open_input(spec: str) -> FileSource:
            return open_file_source(
                spec,
                target_rate=streaming.target_rate(opts, shared.base),
                raw=raw_format,
                stdin=env.stdin if spec == inputs.STDIN else None,
                stdin_isatty=bool(env.stdin_isatty),
                merge_copies=not multichannel,
            )

        return stream_each(
            specs,
            streaming.job_plan(shared),
            open_input,
            pace=speed,
            output_dir=output_dir,
            skip_existing=many.skip_existing,
            jobs=many.jobs,
            debug=opts.debug,
        )


def expand_inputs(args: Sequence[str], from_list: str | None, env: Environment) -> list[str]:
    """The arguments and the --from-list lines, expanded (inputs.py); none is a usage error."""
    from gladia_cli.jobs import inputs

    listed = inputs.read_list(from_list, env.stdin) if from_list is not None else []
    specs = inputs.expand(args, listed)
    if not specs:
        raise UsageError(f"--from-list {from_list} names no input", hint="one path or URL a line")
    if inputs.STDIN in specs and from_list == inputs.STDIN:
        raise UsageError("standard input cannot be both the list (--from-list -) and an input")
    return specs
