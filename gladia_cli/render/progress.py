"""A progress bar on stderr while a recording of known length streams.

It wraps the renderer of a format written line by line or at the end (text, jsonl, json,
srt, vtt): the job hands every renderer a status a few times a second, and this one also
draws it as a bar. The `Screen` lifts the bar around each data line and notice, so on a
terminal that stdout and stderr share, the bar is only ever the last line. The live table
has its own status line and is never wrapped.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from gladia_cli.render.base import Renderer, RendererWrapper, SessionOutcome, StatusView
from gladia_cli.render.screen import Screen
from gladia_cli.safe_text import plain


def bar_line(name: str, view: StatusView, total_seconds: float) -> RenderableType:
    """`name ━━━━╺━━━  42% streaming, 5.9 s sent` (one line; the screen crops it)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, overflow="ellipsis", max_width=24)
    grid.add_column(width=20, no_wrap=True)
    grid.add_column(no_wrap=True, justify="right", width=4)
    grid.add_column(no_wrap=True, style="dim")
    detail = f"{view.state}, {view.sent_seconds:.1f} s sent"
    if view.reconnects:
        detail += f", {view.reconnects} reconnect{'s' if view.reconnects > 1 else ''}"
    lag = view.lag_text()
    if lag:
        detail += f", {lag}"
    fraction = view.progress or 0.0
    grid.add_row(
        Text(plain(name)),
        ProgressBar(total=total_seconds, completed=min(total_seconds, fraction * total_seconds)),
        Text(f"{fraction:.0%}"),
        Text(detail),
    )
    return grid


class ProgressRenderer(RendererWrapper):
    """`inner`, plus the bar; the bar goes away before the results are written."""

    def __init__(self, inner: Renderer, screen: Screen, name: str, total_seconds: float) -> None:
        super().__init__(inner)
        self._screen = screen
        self._name = name
        self._total = total_seconds
        self._shown = True  # False once the session ended: a late status draws nothing

    def status(self, view: StatusView) -> None:
        self._inner.status(view)
        if self._shown:
            self._screen.show_bar(bar_line(self._name, view, self._total))

    def finish(self, outcome: SessionOutcome) -> None:
        self._hide()
        self._inner.finish(outcome)

    def close(self) -> None:
        self._hide()
        self._inner.close()

    def _hide(self) -> None:
        self._shown = False
        self._screen.clear_bar()
