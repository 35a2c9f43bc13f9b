"""The process's surroundings, made once at the edge (`cli/app.py`) and passed down.

Standard streams, whether each is a terminal, whether stdout and stderr are the *same*
terminal, the rich consoles that draw on them, and the environment variables: as httpie's
`Environment` does, so that nothing below the command layer calls `isatty()` or reads
`sys.stdout` on its own, and tests can hand in StringIO streams and flags of their choosing.

Cheap to import (`--help` builds one): rich is imported only when a console is asked for.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # closed, or not a real stream
        return False


def _same_file(a: Any, b: Any) -> bool:
    """Whether two streams write to the same file (the same terminal, for two ttys)."""
    try:
        return os.path.samestat(os.fstat(a.fileno()), os.fstat(b.fileno()))
    except (AttributeError, ValueError, OSError):  # StringIO and friends have no descriptor
        return False


def _stdin() -> BinaryIO:
    # A closed descriptor (`<&-`) leaves Python with None: an empty stream stands in, and
    # cli/preflight.py says so in one line when the command would read it.
    return sys.stdin.buffer if sys.stdin is not None else io.BytesIO()


def _text(stream: TextIO | None) -> TextIO:
    # Likewise for `>&-` / `2>&-`: writes go nowhere rather than crash before the check.
    return stream if stream is not None else io.StringIO()


@dataclass
class Environment:
    stdin: BinaryIO = field(default_factory=_stdin)
    stdout: TextIO = field(default_factory=lambda: _text(sys.stdout))
    stderr: TextIO = field(default_factory=lambda: _text(sys.stderr))
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # None: ask the stream. Tests set them to draw "on a terminal" into a StringIO.
    stdin_isatty: bool | None = None
    stdout_isatty: bool | None = None
    stderr_isatty: bool | None = None
    shared_terminal: bool | None = None  # stdout and stderr are one and the same terminal
    # Show tracebacks: GLADIA_DEBUG, or a command's --debug (cli/options.py sets it as the
    # command line is read, so cli/app.py knows it for an error raised before the command).
    debug: bool = False

    def __post_init__(self) -> None:
        self.debug = self.debug or bool(self.environ.get("GLADIA_DEBUG"))
        if self.stdin_isatty is None:
            self.stdin_isatty = _isatty(self.stdin)
        if self.stdout_isatty is None:
            self.stdout_isatty = _isatty(self.stdout)
        if self.stderr_isatty is None:
            self.stderr_isatty = _isatty(self.stderr)
        if self.shared_terminal is None:
            self.shared_terminal = bool(self.stdout_isatty and self.stderr_isatty) and _same_file(
                self.stdout, self.stderr
            )

    @property
    def no_color(self) -> bool:
        """https://no-color.org: set and not empty."""
        return bool(self.environ.get("NO_COLOR"))

    def terminal_size(self) -> os.terminal_size:
        """Columns and lines of the terminal on stdout (else stderr), read now: it changes."""
        for stream in (self.stdout, self.stderr):
            try:
                return os.get_terminal_size(stream.fileno())
            except (AttributeError, ValueError, OSError):
                continue
        return shutil.get_terminal_size()

    def _console(self, stream: TextIO, is_terminal: bool) -> Console:
        from rich.console import Console

        return Console(
            file=stream,
            force_terminal=is_terminal,
            no_color=self.no_color,
            highlight=False,  # server text is never "highlighted" as code or numbers
            emoji=False,
            _environ=dict(self.environ),
        )

    @cached_property
    def stdout_console(self) -> Console:
        """Draws on stdout: the live table (data for people)."""
        return self._console(self.stdout, bool(self.stdout_isatty))

    @cached_property
    def stderr_console(self) -> Console:
        """Draws on stderr: notices, warnings, the progress bar."""
        return self._console(self.stderr, bool(self.stderr_isatty))
