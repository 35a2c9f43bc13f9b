"""One input of a run over many (jobs/batch_run.py), streamed by a job (stream_job.py):
its source, noting whether it was read to its end, and the job's signals, from the run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from gladia_cli.jobs.batch_run import Reporter
from gladia_cli.jobs.signals import ExternalSignals

if TYPE_CHECKING:
    from gladia_cli.audio.source import AudioSource, Int16Block, LiveCapture, PcmFormat


class ReadToEnd:
    """The source, noting whether it was read to its end before any stop: an input whose
    audio was all sent has its whole transcript even if Ctrl-C came while it finished."""

    def __init__(self, source: AudioSource) -> None:
        self._source = source
        self._stopped = False
        self.read_to_end = False

    @property
    def format(self) -> PcmFormat:
        return self._source.format

    @property
    def labels(self) -> list[str] | None:
        return self._source.labels

    @property
    def capture(self) -> LiveCapture | None:
        return self._source.capture

    @property
    def duration(self) -> float | None:
        return self._source.duration

    @property
    def description(self) -> str:
        return self._source.description

    def blocks(self, frames: int) -> Iterator[Int16Block]:
        # One block ahead, so that the end is known before the last block is sent: once
        # the server holds all the audio, `read_to_end` is already true.
        blocks = iter(self._source.blocks(frames))
        block = next(blocks, None)
        while block is not None:
            following = next(blocks, None)
            if following is None:
                self.read_to_end = not self._stopped  # a stopped source ends early
            yield block
            block = following

    def take_warnings(self) -> list[str]:
        return self._source.take_warnings()

    def stop(self) -> None:
        self._stopped = True
        self._source.stop()

    def close(self) -> None:
        self._source.close()


class StopWhenAsked(ExternalSignals):
    """The job's signals, from the run: the first signal reaches the job once it streams
    (at once if the run was already stopping); an input stopped before its audio was all
    read is marked cut short (its output is kept as .partial)."""

    def __init__(self, reporter: Reporter, source: ReadToEnd) -> None:
        self._reporter = reporter
        self._source = source
        self._callback: Callable[[], None] | None = None
        super().__init__()

    @property
    def on_first(self) -> Callable[[], None] | None:
        return self._callback

    @on_first.setter
    def on_first(self, callback: Callable[[], None] | None) -> None:
        self._callback = callback
        if callback is not None:
            self._reporter.on_stop(self._fire)

    def _fire(self) -> None:
        self.presses.count += 1  # the run heard the press (its handler, the main thread)
        if not self._source.read_to_end:
            self._reporter.cut_short = True
        if self._callback is not None:
            self._callback()
