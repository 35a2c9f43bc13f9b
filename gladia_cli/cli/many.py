"""`gladia file A B DIR 'glob*'` (and `--from-list`): one live session per input, `--jobs`
at a time, through jobs/batch_run.py; each input's output in `--output-dir`, or on stdout
tagged with its source (render/tagged.py).

What differs from one input is decided here, before any session: the inputs are expanded
(inputs.py), the format is one that several inputs can share (table cannot; on stdout only
jsonl and text can be told apart line by line), options that name one file (-o,
--save-audio, --record) are refused, and with --local one embedded server serves every
input.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gladia_cli.cli.choices import OutputFormat
from gladia_cli.cli.options import StreamOptions
from gladia_cli.environment import Environment
from gladia_cli.errors import UsageError
from gladia_cli.jobs.batch_input import ReadToEnd, StopWhenAsked
from gladia_cli.jobs.batch_run import SESSIONS_ON_STOP, Reporter
from gladia_cli.render.notices import Notices
from gladia_cli.render.screen import Screen

if TYPE_CHECKING:
    from gladia_cli.render.output import Output

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


def _prepare_output_dir(output_dir: Path) -> None:
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"--output-dir {output_dir} is not a directory")
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot create --output-dir {output_dir}: {exc.strerror}",
            hint="choose a directory you can write",
        ) from None
    probe = output_dir / ".gladia-write-check"
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise UsageError(
            f"cannot write in --output-dir {output_dir}: {exc.strerror}",
            hint="choose a directory you can write",
        ) from None


def _refuse_overwriting_inputs(specs: Sequence[str], finals: Sequence[Path]) -> None:
    import os

    real = {os.path.realpath(spec): spec for spec in specs}
    for final in finals:
        spec = real.get(os.path.realpath(final))
        if spec is not None:
            raise UsageError(
                f"the output for {spec} would be written over it ({final})",
                hint="choose another --output-dir or --format",
            )


RunOneOutput = Callable[[str, "Output", Reporter], int]


def run_many(
    specs: Sequence[str],
    run_one: RunOneOutput,
    *,
    fmt: str,
    output_dir: Path | None,
    skip_existing: bool,
    jobs: int,
    env: Environment,
    screen: Screen,
    notices: Notices,
    quiet: bool,
    debug: bool,
    on_stop_running: str = SESSIONS_ON_STOP,
) -> int:
    """Every input through `run_one(spec, output, reporter)`, `jobs` at a time, with the
    progress view; `output` is the input's file in --output-dir (written to a temporary
    name, renamed when complete: jobs/batch_run.py) or the shared stdout, each line tagged
    with its source. Any command over many inputs can use it (its own `run_one`);
    `on_stop_running` says what the first signal does to the running inputs."""
    from gladia_cli.cli import inputs
    from gladia_cli.jobs.batch_run import BatchRun
    from gladia_cli.render import FORMAT_BY_EXTENSION
    from gladia_cli.render.batch_view import BatchView
    from gladia_cli.render.output import Output, silence_stdout
    from gladia_cli.render.staged_file import final_of
    from gladia_cli.render.tagged import SourceTaggedOutput

    names = None
    if output_dir is not None:
        extension = {name: ext for ext, name in FORMAT_BY_EXTENSION.items()}[fmt]
        names = inputs.output_names(specs, extension)
        _refuse_overwriting_inputs(specs, [output_dir / name for name in names.values()])
        _prepare_output_dir(output_dir)
    stdout_lock = threading.Lock()

    @contextlib.contextmanager
    def stdout_turn() -> Iterator[None]:
        # One line at a time on the shared stdout, whichever input it comes from.
        with stdout_lock, screen.writing_data():
            yield

    def stdout_closed() -> None:
        silence_stdout()
        run.stdout_closed()

    def with_output(spec: str, path: Path | None, reporter: Reporter) -> int:
        output: Output
        if path is not None:
            # The run's temporary file (jobs/batch_run.py): errors name the final file, and
            # on a full disk what was written goes (the run settles the rest).
            output = Output(
                path.open("w", encoding="utf-8"),
                owned=True,
                name=str(final_of(path)),
                discard=lambda: path.unlink(missing_ok=True),
            )
        else:
            output = SourceTaggedOutput(
                env.stdout, spec, fmt, guard=stdout_turn, on_closed=stdout_closed
            )
        return run_one(spec, output, reporter)

    run = BatchRun(
        specs,
        with_output,
        view=BatchView(screen, notices, len(specs), quiet=quiet),
        notices=notices,
        jobs=jobs,
        output_dir=output_dir,
        names=names,
        skip_existing=skip_existing,
        debug=debug,
        on_stop_running=on_stop_running,
    )
    return run.run()


def file_many(
    args: Sequence[str],
    *,
    from_list: str | None,
    output_dir: Path | None,
    skip_existing: bool,
    jobs: int,
    pace: str,
    multichannel: bool,
    raw_spec: tuple[int | None, int | None, str | None],
    opts: StreamOptions,
    env: Environment,
    speakers: bool = False,
) -> int:
    from gladia_cli.audio.file_source import open_file_source, parse_raw_format
    from gladia_cli.audio.pacing import parse_pace
    from gladia_cli.cli import inputs, preflight, streaming
    from gladia_cli.render.base import StatusView

    check_many_options(opts, output_dir, skip_existing)
    fmt = many_format(
        opts.format, output_dir=output_dir, stdout_is_terminal=bool(env.stdout_isatty)
    )
    specs = expand_inputs(args, from_list, env)
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

    with streaming.one_local_server(planned) as shared:

        def run_one(spec: str, output: Output, reporter: Reporter) -> int:
            try:
                source = open_file_source(
                    spec,
                    target_rate=streaming.target_rate(opts, shared.base),
                    raw=raw_format,
                    stdin=env.stdin if spec == inputs.STDIN else None,
                    stdin_isatty=bool(env.stdin_isatty),
                    merge_copies=not multichannel,
                )
            except BaseException:
                output.close()
                raise
            watched = ReadToEnd(source)
            try:
                signals = StopWhenAsked(reporter, watched)

                def on_status(status: StatusView) -> None:
                    reporter.progress(
                        status.progress, f"{status.state}, {status.sent_seconds:.1f} s sent"
                    )

                return streaming.run(
                    replace(shared, notices=reporter.notices),
                    watched,
                    pace=speed,
                    merged=bool(source.merged_channels),
                    output=output,
                    on_status=on_status,
                    signals=signals,
                    output_is_file=output_dir is not None,
                )
            finally:
                source.close()

        return run_many(
            specs,
            run_one,
            fmt=fmt,
            output_dir=output_dir,
            skip_existing=skip_existing,
            jobs=jobs,
            env=env,
            screen=planned.screen,
            notices=planned.notices,
            quiet=opts.quiet,
            debug=opts.debug,
        )


def expand_inputs(args: Sequence[str], from_list: str | None, env: Environment) -> list[str]:
    """The arguments and the --from-list lines, expanded (inputs.py); none is a usage error."""
    from gladia_cli.cli import inputs

    listed = inputs.read_list(from_list, env.stdin) if from_list is not None else []
    specs = inputs.expand(args, listed)
    if not specs:
        raise UsageError(f"--from-list {from_list} names no input", hint="one path or URL a line")
    if inputs.STDIN in specs and from_list == inputs.STDIN:
        raise UsageError("standard input cannot be both the list (--from-list -) and an input")
    return specs
