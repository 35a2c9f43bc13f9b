"""How a streaming job hears SIGINT, SIGTERM and SIGHUP: abort while connecting, then the
first one stops gracefully and the second aborts."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from gladia_cli.errors import Aborted


class JobSignals:
    """While the session is being created (POST, WebSocket connect) any SIGINT, SIGTERM or
    SIGHUP aborts at once: nothing was streamed yet. Once streaming, the first one stops
    gracefully (`on_first`), the second aborts."""

    def __init__(self) -> None:
        self.on_first: Callable[[], None] | None = None  # set when streaming starts
        self.count = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.on_first is None:
            raise Aborted("interrupted while connecting; no audio was sent")
        self.count += 1
        if self.count == 1:
            self.on_first()
        else:
            raise Aborted()

    def __enter__(self) -> JobSignals:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class ExternalSignals(JobSignals):
    """For a job run from a worker thread (`gladia file A B…`): signals are handled once,
    in the main thread, by whoever runs the jobs; it calls `on_first` to stop this job
    gracefully, and ends the process itself on a second signal. Nothing is installed."""

    def __enter__(self) -> JobSignals:
        return self

    def __exit__(self, *exc: object) -> None:
        pass
