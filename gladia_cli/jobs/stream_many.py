"""`gladia file A B DIR 'glob*'`: one live session per input, `--jobs` at a time, through
the run over many inputs (many_run.py, batch_run.py); each input opened when its turn
comes (a missing file is that input's own failure) and streamed by the stream job
(streaming.py), its status shown in the run's view and its signals the run's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from gladia_cli.jobs.batch_input import ReadToEnd, StopWhenAsked
from gladia_cli.jobs.batch_run import Reporter
from gladia_cli.jobs.many_run import run_many
from gladia_cli.jobs.stream_plan import StreamPlan
from gladia_cli.jobs.streaming import run_stream
from gladia_cli.render.base import StatusView

if TYPE_CHECKING:
    from gladia_cli.audio.file_source import FileSource
    from gladia_cli.render.output import Output


def stream_each(
    specs: Sequence[str],
    plan: StreamPlan,
    open_input: Callable[[str], FileSource],
    *,
    pace: float | None,
    output_dir: Path | None,
    skip_existing: bool,
    jobs: int,
    debug: bool,
) -> int:
    """Every input of `specs`, opened by `open_input`, as a session of its own; `plan` is
    the one every input shares (its server included: one for the whole run)."""

    def run_one(spec: str, output: Output, reporter: Reporter) -> int:
        try:
            source = open_input(spec)
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

            return run_stream(
                replace(plan, notices=reporter.notices),
                watched,
                pace=pace,
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
        fmt=plan.fmt,
        output_dir=output_dir,
        skip_existing=skip_existing,
        jobs=jobs,
        env=plan.env,
        screen=plan.screen,
        notices=plan.notices,
        quiet=plan.quiet,
        debug=debug,
    )
