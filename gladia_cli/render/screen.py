"""What a person sees: one terminal that stdout and stderr may share.

Three kinds of writers draw on it from several threads: data lines (stdout: text, jsonl…),
notices (stderr), and at most one *live region* that is redrawn in place — the live table
(on stdout) or the progress bar (on stderr). When the two streams are the same terminal,
one writer's bytes land in the middle of the other's drawing unless they take turns; the
`Screen` is where they do:

- a notice printed while the live table is up goes through the table's own console, so
  rich prints it above the table instead of through it;
- a data line or a notice printed while the progress bar is up clears the bar first and
  draws it again after, so the bar is only ever on the last line, never between data lines.

The bar is drawn by hand (carriage return, erase line) rather than with rich's `Live`:
it is one line cropped to the width, so clearing it is exact whatever else was written.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.text import Text

from gladia_cli.environment import Environment

if TYPE_CHECKING:
    from rich.live import Live

_CLEAR_LINE = "\r\x1b[2K"
_UP = "\x1b[1A"  # cursor up one line


class Screen:
    def __init__(self, env: Environment) -> None:
        self.env = env
        # Re-entrant: a notice may be printed while the bar is being redrawn (rich's own
        # console lock is separate and always taken inside this one).
        self._lock = threading.RLock()
        self._live: Live | None = None
        self._bar: str | None = None  # the bar as drawn (ANSI), None when not shown
        self._changes = 0  # bars drawn or cleared: a lifted bar that changed is not restored

    # --- the live table ------------------------------------------------------------------

    def attach_live(self, live: Live) -> None:
        """The live table is up: notices on a shared terminal go through its console."""
        with self._lock:
            self._live = live

    def detach_live(self) -> None:
        with self._lock:
            self._live = None

    # --- notices ---------------------------------------------------------------------------

    def notice(self, text: Text) -> None:
        """One line for people, on stderr (above the live table when they share a terminal)."""
        with self._lock:
            if self._live is not None and self.env.shared_terminal:
                # soft_wrap: one notice is one line for the terminal to wrap, as on stderr.
                self._live.console.print(text, soft_wrap=True)
                return
            with self._bar_lifted():
                self.env.stderr_console.print(text, soft_wrap=True)

    # --- data lines ------------------------------------------------------------------------

    @contextlib.contextmanager
    def writing_data(self) -> Iterator[None]:
        """Around a write to stdout: lifts the progress bar if it is on the same terminal."""
        if not self.env.shared_terminal:
            yield
            return
        with self._lock, self._bar_lifted():
            yield

    # --- the progress bar ------------------------------------------------------------------

    def show_bar(self, renderable: RenderableType, *, max_lines: int = 1) -> None:
        """Draw (or redraw) the bar on the last line of stderr; only on a terminal.

        `max_lines`: a region of up to that many lines (the many-inputs view: one line per
        running file and an overall bar), each cropped to the width, so it can be cleared
        exactly by going back up over them."""
        if not self.env.stderr_isatty:
            return
        console = self.env.stderr_console
        # One line, one column short of the width: a full line would leave the cursor
        # waiting to wrap, and the next carriage return would clear the wrong line.
        width = max(1, console.size.width - 1)
        with self._lock:  # a capture takes whatever the console prints meanwhile
            with console.capture() as captured:
                console.print(renderable, width=width, crop=True, no_wrap=True, end="")
            lines = captured.get().rstrip("\n").split("\n")[: max(1, max_lines)]
            drawn = "\n".join(lines)
            self._write_stderr(self._clearing() + drawn)
            self._bar = drawn
            self._changes += 1

    def clear_bar(self) -> None:
        with self._lock:
            if self._bar is not None:
                self._write_stderr(self._clearing())
                self._bar = None
            self._changes += 1

    def _clearing(self) -> str:
        """What erases the region drawn now, leaving the cursor where it began."""
        if self._bar is None:
            return _CLEAR_LINE
        return _CLEAR_LINE + (_UP + _CLEAR_LINE) * self._bar.count("\n")

    @contextlib.contextmanager
    def _bar_lifted(self) -> Iterator[None]:
        """Within: the bar is off the screen; after: drawn again where the cursor is."""
        bar, changes = self._bar, self._changes
        if bar is not None:
            self._write_stderr(self._clearing())
            self._bar = None  # meanwhile, nothing of it is on the screen
        try:
            yield
        finally:
            if bar is not None and self._changes == changes:
                self._write_stderr(_CLEAR_LINE + bar)
                self._bar = bar

    def _write_stderr(self, text: str) -> None:
        stream = self.env.stderr
        stream.write(text)
        stream.flush()
