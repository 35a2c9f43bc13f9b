"""`--format table` (the terminal default): a rich Live table, one row per utterance.

A partial shows dim, in place, until its final replaces it; the status line says what the
session is doing. The frame is a pure function of the rows, the status, and the terminal's
width and height (`fit_frame`): rows are measured in the lines they take *at this width*
(a long utterance wraps), and the frame keeps, in this order, the status line, the newest
row (its last lines if it alone is too tall), the header, then older rows while they fit.
It is never taller than the terminal, so rich can always erase it: nothing is left behind
when it goes, and a resize is taken into account on the next refresh.

With `--translate`, each translation shows dimmed under its utterance, `(fr) …`, as soon
as it comes (and again in the final transcript).

When the session ends, the whole transcript is printed once, in time order, followed by the
add-on sections; after a second Ctrl-C, what was on screen is printed the same way (the
rows as they were, partials included) so the transcript is not lost. Server text is always
a `Text` object, never markup.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.control import Control
from rich.live import Live
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from gladia_cli.protocol.messages import AnsweringMachine, ServerMessage, Utterance
from gladia_cli.render.addons import AddonBook, rich_sections
from gladia_cli.render.base import (
    TURN_MARK,
    Labels,
    SessionOutcome,
    StatusView,
    TranscriptBook,
    verdict_text,
)
from gladia_cli.render.screen import Screen

PALETTE = ("cyan", "magenta", "green", "yellow", "blue", "red", "bright_cyan", "bright_magenta")
STATE_STYLES = {
    "streaming": "green",
    "reconnecting": "yellow",
    "server behind": "yellow",
    "stopping": "cyan",
    "done": "green",
    "failed": "red",
    "aborted": "red",
}

Row = tuple[Utterance, bool]  # an utterance and whether it is final
Lines = list[list[Segment]]


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{secs:04.1f}"


SHOWN_ID = 8  # characters of the session id: a prefix `gladia sessions get` takes
# Acknowledgments trail the audio sent by a chunk or two; a second or more (an outage, a
# slow server) is worth the room on the line.
ACK_GAP_SHOWN = 1.0


def _audio(seconds: float) -> str:
    """`12.4 s`, and past a minute `62:05.4` (an hour in seconds is long to read)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


def status_line(view: StatusView) -> Text:
    """The session's state, on one line of an 80-column terminal an hour in: the id's
    first characters (the whole 36 made it wrap at every refresh; `gladia sessions get`
    takes a prefix, and the messages that name the session give it whole), the audio
    acknowledged only when it trails what was sent."""
    line = Text()
    line.append("● ", style=STATE_STYLES.get(view.state, "white"))
    line.append(view.state, style="bold")
    if view.session_id:
        line.append(f"  {view.session_id[:SHOWN_ID]}", style="dim")
    line.append(f"  sent {_audio(view.sent_seconds)}")
    if view.sent_seconds - view.acked_seconds >= ACK_GAP_SHOWN:
        line.append(f"  acked {_audio(view.acked_seconds)}", style="yellow")
    if view.progress is not None:
        line.append(f"  {view.progress:.0%}")
    if view.reconnects:
        line.append(f"  reconnects {view.reconnects}", style="yellow")
    lag = view.lag_text()
    if lag:
        line.append(f"  {lag}")
    if view.note:
        line.append(f"  {view.note}", style="dim")
    return line


def transcript_table(
    rows: Sequence[Row],
    labels: Labels,
    *,
    show_header: bool = True,
    translations: Sequence[Sequence[str]] | None = None,
) -> Table:
    """`translations`: for each row, the lines shown dimmed under its text."""
    table = Table(expand=True, show_edge=False, pad_edge=False, show_header=show_header)
    table.add_column("time", justify="right", width=7, no_wrap=True, style="dim")
    if labels.shown:
        width = max(len(labels(c)) for c in range(labels.channels))
        table.add_column("speaker", width=max(7, min(width, 16)), no_wrap=True)
    table.add_column("text", ratio=1)
    for index, (utterance, is_final) in enumerate(rows):
        channel = utterance.channel
        cells: list[RenderableType] = [_clock(utterance.start)]
        if labels.shown:
            cells.append(Text(labels(channel), style=PALETTE[channel % len(PALETTE)]))
        text = Text(utterance.text, style="" if is_final else "dim italic")
        if text.plain.endswith(f" {TURN_MARK}"):  # the end of a turn, dim beside the text
            text.stylize("dim", len(text.plain) - len(TURN_MARK), len(text.plain))
        for line in translations[index] if translations is not None else ():
            text.append("\n")
            text.append(line, style="dim")
        cells.append(text)
        table.add_row(*cells)
    return table


def _with_mark(utterance: Utterance, turn_end: bool) -> Utterance:
    return (
        dataclasses.replace(utterance, text=f"{utterance.text} {TURN_MARK}")
        if turn_end
        else utterance
    )


RowKey = tuple[str, int, str, bool, int, tuple[str, ...]]


def fit_frame(
    rows: Sequence[Row],
    labels: Labels,
    view: StatusView,
    *,
    console: Console,
    width: int,
    height: int,
    row_cache: dict[RowKey, Lines] | None = None,
    row_ids: Sequence[str] | None = None,
    translations: Sequence[Sequence[str]] | None = None,
) -> Lines:
    """The lines of the live frame for a `width` × `height` terminal (at most `height`).

    `row_cache` keeps rendered rows between frames (finals never change), keyed by
    `row_ids` (the utterance ids) with the text, finality, translations and width.
    `translations`: for each row, the lines shown dimmed under it.
    """
    options = console.options.update(width=max(1, width), height=None)

    def render(renderable: RenderableType) -> Lines:
        return console.render_lines(renderable, options, pad=False)

    # The status line is the frame's last line, not followed by a newline: one exactly as
    # wide as the terminal leaves the cursor in its pending-wrap column, and rich's erase
    # of the frame then missed a line (a header stayed behind). One column short, always.
    status = console.render_lines(
        status_line(view), console.options.update(width=max(1, width - 1), height=None), pad=False
    )
    if len(status) >= height:
        return status[-height:] if height > 0 else []
    room = height - len(status)  # for the header and the rows
    header = render(transcript_table([], labels))
    chosen: list[Lines] = []  # newest first
    used = len(header)
    for index in range(len(rows) - 1, -1, -1):
        lines = _row_lines(rows, index, labels, render, width, row_cache, row_ids, translations)
        if not chosen and used + len(lines) > room:
            # The newest row alone is too tall: its last lines (the newest words) win,
            # beside the header while a line of the row still fits.
            if room - len(header) >= 1:
                return [*header, *lines[len(header) - room :], *status]
            return [*lines[-room:], *status]
        if used + len(lines) > room:
            break
        chosen.append(lines)
        used += len(lines)
    if not chosen and len(header) > room:
        return status
    body = [line for lines in reversed(chosen) for line in lines]
    return [*header, *body, *status]


def _row_lines(
    rows: Sequence[Row],
    index: int,
    labels: Labels,
    render: Callable[[RenderableType], Lines],
    width: int,
    row_cache: dict[RowKey, Lines] | None,
    row_ids: Sequence[str] | None,
    translations: Sequence[Sequence[str]] | None,
) -> Lines:
    utterance, is_final = rows[index]
    notes = tuple(translations[index]) if translations is not None else ()

    def draw() -> Lines:
        return render(
            transcript_table([rows[index]], labels, show_header=False, translations=[notes])
        )

    if row_cache is None or row_ids is None:
        return draw()
    key = (row_ids[index], utterance.channel, utterance.text, is_final, width, notes)
    lines = row_cache.get(key)
    if lines is None:
        lines = row_cache[key] = draw()
    return lines


class _Frame:
    """What `Live` draws: the fitted lines for the console's size at this moment.

    After a resize the screen is cleared and the frame drawn from the top: terminals
    reflow their lines on a resize and bring scrolled-off ones back when they grow, so the
    old frame's lines cannot be found to erase them (tmux and most terminals keep what a
    clear removes in their scrollback).
    """

    def __init__(self, renderer: TableRenderer) -> None:
        self._renderer = renderer
        self._size: tuple[int, int] | None = None

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = console.size
        if self._size is not None and self._size != (width, height):
            yield Control.clear()
            yield Control.home()
        self._size = (width, height)
        # One line short of the height, so that the frame never scrolls the screen.
        lines = self._renderer.frame(width, height - 1)
        for index, line in enumerate(lines):
            yield from line
            if index < len(lines) - 1:  # separated, not followed, by newlines
                yield Segment.line()


class TableRenderer:
    needs_result = False

    def __init__(self, console: Console, labels: Labels, screen: Screen) -> None:
        self._console = console
        self._labels = labels
        self._screen = screen
        self._book = TranscriptBook()
        self._addons = AddonBook()
        self._view = StatusView()
        self._lock = threading.Lock()
        self._live: Live | None = None
        self._row_cache: dict[RowKey, Lines] = {}
        self._finished = False
        self._verdict: str | None = None  # answering_machine, as a line

    @property
    def addons(self) -> AddonBook:
        return self._addons

    def frame(self, width: int, height: int) -> Lines:
        with self._lock:
            entries = [e for e in self._book.entries if e.utterance.text]
            view = self._with_verdict(self._view)
            rows = [(_with_mark(e.utterance, e.turn_end), e.is_final) for e in entries]
            ids = [e.utterance_id for e in entries]
            translated = [
                self._addons.translations_of(e.utterance_id, e.utterance) if e.is_final else []
                for e in entries
            ]
            if len(self._row_cache) > 4 * len(rows) + 64:
                self._row_cache.clear()  # old widths, replaced partials
            return fit_frame(
                rows,
                self._labels,
                view,
                console=self._console,
                width=width,
                height=height,
                row_cache=self._row_cache,
                row_ids=ids,
                translations=translated,
            )

    def start(self, session_id: str) -> None:
        self._view.session_id = session_id
        if not self._console.is_terminal:
            return  # no live display into a pipe: the whole table is printed at the end
        self._live = Live(
            _Frame(self),
            console=self._console,
            refresh_per_second=8,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,  # notices come through the screen, not a swapped sys.stderr
            vertical_overflow="crop",  # never taller than the terminal, even mid-resize
        )
        self._live.start()
        self._screen.attach_live(self._live)

    def message(self, message: ServerMessage) -> None:
        with self._lock:
            self._book.apply(message)
            self._addons.apply(message)
            if isinstance(message, AnsweringMachine):
                who = f"{self._labels(message.channel)}: " if self._labels.shown else ""
                self._verdict = who + verdict_text(message)

    def _with_verdict(self, view: StatusView) -> StatusView:
        """The answering-machine verdict on the status line, where it stays in sight."""
        if self._verdict is None:
            return view
        note = f"{self._verdict}  {view.note}" if view.note else self._verdict
        return dataclasses.replace(view, note=note)

    def status(self, view: StatusView) -> None:
        with self._lock:
            self._view = view

    def finish(self, outcome: SessionOutcome) -> None:
        self._stop_live()
        self._finished = True
        ends = self._book.turn_ends
        finals = self._book.finals()
        rows = [(_with_mark(u, (u.channel, round(u.end, 2)) in ends), True) for u in finals]
        if rows:
            translated = [self._addons.translations_of(None, u) for u in finals]
            self._console.print(transcript_table(rows, self._labels, translations=translated))
        if self._verdict is not None:
            self._console.print(Text(self._verdict, style="bold"))
        for section in rich_sections(self._addons, self._labels):
            self._console.print(section)
        if outcome.live:  # a stored session has no live status to end with
            self._console.print(status_line(outcome.status))

    def close(self) -> None:
        shown = self._stop_live()
        if shown and not self._finished:
            # Aborted (a second Ctrl-C) or failed: keep what the person was reading.
            self._finished = True
            with self._lock:
                entries = [e for e in self._book.entries if e.utterance.text]
                rows = [(_with_mark(e.utterance, e.turn_end), e.is_final) for e in entries]
                translated = [
                    self._addons.translations_of(e.utterance_id, e.utterance) for e in entries
                ]
                view = dataclasses.replace(self._view, state="aborted")
            if rows:
                self._console.print(transcript_table(rows, self._labels, translations=translated))
            self._console.print(status_line(view))

    def _stop_live(self) -> bool:
        """Take the live table off the screen; whether it was up."""
        live, self._live = self._live, None
        if live is None:
            return False
        self._screen.detach_live()
        live.stop()
        return True
