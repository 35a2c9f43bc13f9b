"""One command over many inputs: each input's output in `--output-dir` (written aside,
renamed when complete: jobs/batch_run.py) or on the shared stdout, each line tagged with
its source (render/tagged.py), `--jobs` at a time, with the progress view. The command
brings its `run_one`: a live session for `gladia file` (jobs/stream_many.py), a
pre-recorded job for `gladia transcribe` (jobs/prerecorded_many.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gladia_cli.environment import Environment
from gladia_cli.errors import UsageError
from gladia_cli.jobs.batch_run import SESSIONS_ON_STOP, Reporter
from gladia_cli.render.notices import Notices
from gladia_cli.render.screen import Screen

if TYPE_CHECKING:
    from gladia_cli.render.output import Output


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
    from gladia_cli.jobs import inputs
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
