"""How a streaming job hears SIGINT, SIGTERM and SIGHUP: abort while connecting, then the
first one stops gracefully and the second aborts.

A signal is counted once per press, not once per delivery: `timeout -s INT`, a supervisor
or a terminal may signal the process and its process group at the same instant, and the
process then gets the same signal twice, microseconds apart (whether Python runs its
handler once or twice depends on when the main thread looks). Deliveries within `BURST`
seconds of the last one handled are one press; a person's second Ctrl-C comes later.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from gladia_cli.errors import Aborted

BURST = 0.1  # seconds: deliveries closer than this are one press (a key press is slower)


class Presses:
    """Signal deliveries counted as presses. `clock` is injected (tests move it by hand).

    The window runs from the last delivery *handled*: `handled()` is called again once the
    first press's work is done, so a delivery queued behind a slow handler (a loaded
    machine) is still seen as part of the same burst."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, burst: float = BURST) -> None:
        self._clock = clock
        self._burst = burst
        self._last: float | None = None
        self.count = 0

    def delivered(self) -> bool:
        """A delivery: True when it is a new press (then `count` grew), False when it
        belongs to the burst of the previous one."""
        now = self._clock()
        same_burst = self._last is not None and now - self._last < self._burst
        self._last = now
        if same_burst:
            return False
        self.count += 1
        return True

    def handled(self) -> None:
        """The press's work is done: the burst window starts again from now."""
        self._last = self._clock()


class JobSignals:
    """While the session is being created (POST, WebSocket connect) any SIGINT, SIGTERM or
    SIGHUP aborts at once: nothing was streamed yet. Once streaming, the first press stops
    gracefully (`on_first`), the second aborts."""

    def __init__(self, presses: Presses | None = None) -> None:
        self.on_first: Callable[[], None] | None = None  # set when streaming starts
        self.presses = presses or Presses()
        self._previous: dict[int, Any] = {}

    @property
    def count(self) -> int:
        """Presses so far (not deliveries)."""
        return self.presses.count

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if not self.presses.delivered():
            return  # the same press, delivered twice (to the process and its group)
        if self.on_first is None:
            raise Aborted("interrupted while connecting; no audio was sent")
        if self.count == 1:
            try:
                self.on_first()
            finally:
                self.presses.handled()
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
