"""The progress of a run over many inputs, on stderr (jobs/batch_run.py calls it).

On a terminal: a region redrawn in place at the bottom, one line per running input with its
bar and state, then an overall bar; each input that ends gets a line above it (done, where
its output went, or why it failed). Elsewhere (a log file, CI): the same ending lines, and a
line when an input starts; no bars. `--quiet`: nothing but failures, in the final summary.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from gladia_cli.render.notices import Notices
from gladia_cli.render.screen import Screen
from gladia_cli.safe_text import plain


class Ended(Protocol):
    """An input that ended (jobs/batch_run.py's Outcome)."""

    @property
    def spec(self) -> str: ...
    @property
    def state(self) -> str: ...  # done, skipped, failed, stopped, not started
    @property
    def message(self) -> str: ...
    @property
    def written(self) -> Path | None: ...


class BatchView:
    def __init__(self, screen: Screen, notices: Notices, total: int, *, quiet: bool) -> None:
        self._screen = screen
        self._notices = notices
        self._total = total
        self._quiet = quiet
        self._bars = bool(screen.env.stderr_isatty) and not quiet
        self._lock = threading.Lock()
        self._running: dict[str, tuple[float | None, str]] = {}
        self._started: set[str] = set()
        self._finished = 0

    def started(self, spec: str) -> None:
        with self._lock:
            self._running[spec] = (None, "starting")

    def progress(self, spec: str, fraction: float | None, detail: str) -> None:
        """The first progress of an input says it runs (its session streams): the plain
        view prints `started` then, so a reader of the log knows the audio is going."""
        with self._lock:
            if spec not in self._running:
                return
            self._running[spec] = (fraction, detail)
            first = spec not in self._started
            self._started.add(spec)
            count = len(self._started)
        if first and not self._bars:
            self._notices.info(f"started {spec} ({count} of {self._total})")

    def ended(self, outcome: Ended, finished: int) -> None:
        with self._lock:
            self._running.pop(outcome.spec, None)
            self._finished = finished
        count = f"[{finished}/{self._total}]"
        spec, written = outcome.spec, outcome.written
        if outcome.state == "done":
            self._notices.info(f"done {spec}" + (f" → {written}" if written else "") + f" {count}")
        elif outcome.state == "skipped":
            self._notices.info(f"skipped {spec}: {written} is there {count}")
        elif outcome.state == "stopped":
            kept = f": what it had is in {written}" if written else ""
            self._notices.info(f"stopped {spec} early{kept} {count}")
        elif outcome.state == "failed" and not self._quiet:
            self._notices.warning(f"failed {spec}: {outcome.message} {count}")
        self.refresh()

    def refresh(self) -> None:
        if self._bars:
            renderable, lines = self._region()
            self._screen.show_bar(renderable, max_lines=lines)

    def close(self) -> None:
        self._screen.clear_bar()

    def _region(self) -> tuple[RenderableType, int]:
        with self._lock:
            running = list(self._running.items())
            finished = self._finished
        room = max(1, self._screen.env.terminal_size().lines - 2)
        shown, hidden = running[:room], len(running) - min(len(running), room)
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, overflow="ellipsis", max_width=28)
        grid.add_column(width=20, no_wrap=True)
        grid.add_column(no_wrap=True, justify="right", width=4)
        grid.add_column(no_wrap=True, style="dim")
        for spec, (fraction, detail) in shown:
            grid.add_row(
                Text(plain(spec)),
                ProgressBar(total=1.0, completed=min(1.0, fraction or 0.0)),
                Text(f"{fraction:.0%}" if fraction is not None else ""),
                Text(plain(detail)),
            )
        if hidden:
            grid.add_row(Text(f"… {hidden} more running", style="dim"), "", "", "")
        done = finished + sum(min(1.0, f or 0.0) for _, (f, _) in running)
        waiting = self._total - finished - len(running)
        summary = f"{finished} of {self._total} ended, {len(running)} running"
        if waiting > 0:
            summary += f", {waiting} waiting"
        grid.add_row(
            Text("all", style="bold"),
            ProgressBar(total=float(self._total), completed=min(float(self._total), done)),
            Text(f"{done / self._total:.0%}" if self._total else ""),
            Text(summary),
        )
        return grid, len(shown) + (1 if hidden else 0) + 1
