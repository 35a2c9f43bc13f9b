"""An append-only log of JSON texts in a file, one per line: a session's memory on disk.

A session keeps what it sent (for `result.messages`) and its final utterances (for the end
result) for as long as it is stored. Held in memory, a two-hour session costs tens of MiB
and a thousand stored sessions gigabytes; on disk, next to the session's audio, a log costs
its write buffer while it grows and nothing once closed. Reads open the file on demand.

The file is created at the first append (many sessions never log an entity) and held open
while the session appends; `close` releases the descriptor (a finished session must hold
none: a long-running server keeps many). An append after `close` (a client's error message
after the end) opens and closes the file again. `delete` removes the file; what is appended
after it (a recogniser's late event racing a DELETE) is ignored.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO


class MessageLog:
    """JSON texts appended one per line; `count` of them, read back in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self._file: TextIO | None = None
        self._closed = False
        self._deleted = False

    def append(self, text: str) -> None:
        """Add one JSON text (compact JSON has no newline: a line is a message)."""
        if "\n" in text:
            raise ValueError("a logged JSON text must fit on one line")
        if self._deleted:
            return
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8", newline="\n")
        self._file.write(text)
        self._file.write("\n")
        self.count += 1
        if self._closed:
            self._release()

    def append_json(self, value: Any) -> None:
        self.append(json.dumps(value, separators=(",", ":")))

    def texts(self) -> Iterator[str]:
        """The texts appended so far, in order (read from the file as they are iterated)."""
        if self._file is not None:
            self._file.flush()
        return self._read(self.count)

    def _read(self, count: int) -> Iterator[str]:
        if count == 0:
            return
        with self.path.open(encoding="utf-8", newline="\n") as file:
            for line in itertools.islice(file, count):
                yield line.rstrip("\n")

    def values(self) -> Iterator[Any]:
        """The texts appended so far, parsed."""
        return (json.loads(text) for text in self.texts())

    def close(self) -> None:
        """Release the file descriptor; the file stays (and may be appended to again)."""
        self._closed = True
        self._release()

    def _release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def delete(self) -> None:
        self.close()
        self._deleted = True
        self.count = 0
        self.path.unlink(missing_ok=True)
