"""Where data goes: stdout or `-o FILE`, one flushed line at a time; a closed pipe is an
ordinary end (`gladia file x.wav | head -3` exits 0, quietly)."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TextIO


class OutputClosed(Exception):
    """The reader of our output went away (broken pipe)."""


class Output:
    def __init__(self, stream: TextIO, *, owned: bool = False) -> None:
        self._stream = stream
        self._owned = owned
        self._lock = threading.Lock()  # lines come from the receiver and the main thread
        self.is_terminal = stream.isatty()

    @classmethod
    def open(cls, path: Path | None) -> Output:
        if path is None or str(path) == "-":
            return cls(sys.stdout)
        return cls(path.open("w", encoding="utf-8"), owned=True)

    def write(self, text: str) -> None:
        """Write and flush; raises OutputClosed when the reader is gone."""
        with self._lock:
            try:
                self._stream.write(text)
                self._stream.flush()
            except BrokenPipeError:
                _silence_stdout()
                raise OutputClosed from None

    def line(self, text: str) -> None:
        self.write(text + "\n")

    def close(self) -> None:
        if self._owned:
            self._stream.close()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush does not complain about the pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
