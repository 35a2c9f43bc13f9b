"""`--format table` (the terminal default): a rich Live table, one row per utterance.

A partial shows dim, in place, until its final replaces it; the status line says what the
session is doing. The table is a pure function of the transcript and the status, showing
the tail that fits the terminal; when the session ends the whole transcript is printed once.
Server text is always a `Text` object, never markup.
"""

from __future__ import annotations

import threading

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from gladia_cli.protocol.messages import ServerMessage
from gladia_cli.render.base import Entry, Labels, SessionOutcome, StatusView, TranscriptBook

PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")
STATE_STYLES = {
    "streaming": "green",
    "reconnecting": "yellow",
    "stopping": "cyan",
    "done": "green",
    "failed": "red",
}
# Rows the frame takes besides utterances: table header and borders, the status line.
_CHROME_ROWS = 5


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{secs:04.1f}"


def status_line(view: StatusView) -> Text:
    line = Text()
    line.append("● ", style=STATE_STYLES.get(view.state, "white"))
    line.append(view.state, style="bold")
    if view.session_id:
        line.append(f"  session {view.session_id[:8]}", style="dim")
    line.append(f"  sent {view.sent_seconds:.1f} s  acked {view.acked_seconds:.1f} s")
    if view.progress is not None:
        line.append(f"  {view.progress:.0%}")
    if view.reconnects:
        line.append(f"  reconnects {view.reconnects}", style="yellow")
    if view.note:
        line.append(f"  {view.note}", style="dim")
    return line


def transcript_table(entries: list[Entry], labels: Labels) -> Table:
    table = Table(expand=True, show_edge=False, pad_edge=False)
    table.add_column("time", justify="right", width=7, no_wrap=True, style="dim")
    if labels.shown:
        width = max(len(labels(c)) for c in range(labels.channels))
        table.add_column("speaker", width=max(7, min(width, 16)), no_wrap=True)
    table.add_column("text", ratio=1)
    for entry in entries:
        channel = entry.utterance.channel
        text = Text(entry.utterance.text, style="" if entry.is_final else "dim italic")
        row: list[RenderableType] = [_clock(entry.utterance.start)]
        if labels.shown:
            row.append(Text(labels(channel), style=PALETTE[channel % len(PALETTE)]))
        row.append(text)
        table.add_row(*row)
    return table


def live_view(book: TranscriptBook, labels: Labels, view: StatusView, height: int) -> Group:
    """The frame shown while streaming: the latest utterances that fit, then the status."""
    entries = [e for e in book.entries if e.utterance.text]
    fitting = max(1, height - _CHROME_ROWS)
    return Group(transcript_table(entries[-fitting:], labels), status_line(view))


class TableRenderer:
    needs_result = False

    def __init__(self, console: Console, labels: Labels) -> None:
        self._console = console
        self._labels = labels
        self._book = TranscriptBook()
        self._view = StatusView()
        self._lock = threading.Lock()
        self._live: Live | None = None

    def _frame(self) -> RenderableType:
        with self._lock:
            return live_view(self._book, self._labels, self._view, self._console.size.height)

    def start(self, session_id: str) -> None:
        self._view.session_id = session_id
        if not self._console.is_terminal:
            return  # no live display into a pipe: the whole table is printed at the end
        self._live = Live(
            get_renderable=self._frame,
            console=self._console,
            refresh_per_second=8,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=True,  # notices print above the table instead of through it
        )
        self._live.start()

    def message(self, message: ServerMessage) -> None:
        with self._lock:
            self._book.apply(message)

    def status(self, view: StatusView) -> None:
        with self._lock:
            self._view = view

    def finish(self, outcome: SessionOutcome) -> None:
        self.close()
        entries = [e for e in self._book.entries if e.utterance.text]
        if entries:
            self._console.print(transcript_table(entries, self._labels))
        self._console.print(status_line(outcome.status))

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
