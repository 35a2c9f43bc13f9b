"""Where data goes: stdout or `-o FILE`, one flushed line at a time; a closed pipe is an
ordinary end (`gladia file x.wav | head -3` exits 0, quietly)."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TextIO

from gladia_cli.errors import UsageError


class OutputClosed(Exception):
    """The reader of our output went away (broken pipe)."""


def is_stdout(path: Path | None) -> bool:
    return path is None or str(path) == "-"


def check_output_path(path: Path | None, option: str = "-o") -> None:
    """Refuse an `-o` path (or another `option`'s) that cannot be written, before anything
    else happens."""
    if is_stdout(path):
        return
    assert path is not None
    parent = path.parent
    if path.is_dir():
        raise UsageError(
            f"{option} {path} is a directory", hint=f"give a file name, e.g. {option} talk.srt"
        )
    if not parent.is_dir():
        raise UsageError(
            f"cannot write {option} {path}: there is no directory {parent}",
            hint=f"create it first (mkdir -p {parent}), or choose another path",
        )
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(
            f"cannot write {option} {path}: permission denied", hint="choose a path you can write"
        )


class Output:
    def __init__(
        self,
        stream: TextIO,
        *,
        owned: bool = False,
        guard: Callable[[], AbstractContextManager[None]] | None = None,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        self._stream = stream
        self._owned = owned
        # Taken around each write: the screen lifts the progress bar off a shared terminal.
        self._guard = guard or contextlib.nullcontext
        self._on_closed = on_closed or (lambda: None)
        self._lock = threading.Lock()  # lines come from the receiver and the main thread

    @classmethod
    def open(
        cls,
        path: Path | None,
        *,
        stdout: TextIO,
        guard: Callable[[], AbstractContextManager[None]] | None = None,
        on_closed: Callable[[], None] | None = None,
    ) -> Output:
        """stdout for None or `-`, else the file (created now; refused as a usage error)."""
        if is_stdout(path):
            return cls(stdout, guard=guard, on_closed=on_closed)
        assert path is not None
        try:
            return cls(path.open("w", encoding="utf-8"), owned=True)
        except OSError as exc:
            raise UsageError(
                f"cannot write -o {path}: {exc.strerror}", hint="choose a path you can write"
            ) from None

    def write(self, text: str) -> None:
        """Write and flush; raises OutputClosed when the reader is gone."""
        with self._lock, self._guard():
            try:
                self._stream.write(text)
                self._stream.flush()
            except BrokenPipeError:
                self._on_closed()
                raise OutputClosed from None

    def line(self, text: str) -> None:
        self.write(text + "\n")

    def close(self) -> None:
        if self._owned:
            self._stream.close()


def silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush does not complain about the pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
