"""An append-only log of JSON texts in a file, one per line: a session's memory on disk.

A session keeps what it sent (for `result.messages`) and its final utterances (for the end
result) for as long as it is stored. Held in memory, a two-hour session costs tens of MiB
and a thousand stored sessions gigabytes; on disk, next to the session's audio, a log costs
at most its buffer.

Appends are buffered (at most `BUFFER_BYTES` or `BUFFER_TEXTS`) and written in one go,
opening the file only for that: a log never holds a file descriptor, so a session costs
one (its audio) while it records and none once finished, however many logs it keeps. The
file is created at the first write (many sessions never log an entity). `delete` removes
it; what is appended after (a recogniser's late event racing a DELETE) is ignored.

A `durable` log writes each append at once (a session kept in `--data-dir`: what it logged
survives the server being killed). A log opened on an existing file counts its whole
lines; a line cut short by a kill is not one.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from gladia_cli.server.live.outbox import StoredText

BUFFER_BYTES = 64 * 1024
BUFFER_TEXTS = 256  # small texts cost more as objects than as characters
READ_PIECE = 64 * 1024  # bytes of a stored text read at a time


class MessageLog:
    """JSON texts appended one per line; `count` of them, read back in order."""

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        self.path = path
        self.count = _whole_lines(path)
        self._durable = durable
        self._buffer: list[str] = []
        self._buffered = 0  # characters in `_buffer`
        self._deleted = False

    def append(self, text: str) -> None:
        """Add one JSON text (compact JSON has no newline: a line is a message)."""
        if "\n" in text:
            raise ValueError("a logged JSON text must fit on one line")
        if self._deleted:
            return
        self._buffer.append(text)
        self._buffered += len(text) + 1
        self.count += 1
        if self._durable or self._buffered >= BUFFER_BYTES or len(self._buffer) >= BUFFER_TEXTS:
            self.flush()

    def append_pieces(self, pieces: Iterable[str]) -> StoredText | None:
        """Add one JSON text given in pieces, written as they come (a text of megabytes is
        never whole in memory); where it is in the file, or None once the log is deleted."""
        if self._deleted:
            return None
        self.flush()
        with self.path.open("ab") as file:
            offset = file.seek(0, 2)
            try:
                for piece in pieces:
                    if "\n" in piece:
                        raise ValueError("a logged JSON text must fit on one line")
                    file.write(piece.encode("utf-8"))
            except BaseException:
                file.truncate(offset)  # no text cut short in the log
                raise
            length = file.tell() - offset
            file.write(b"\n")
        self.count += 1
        return StoredText(self.path, offset, length)

    def append_json(self, value: Any) -> None:
        self.append(json.dumps(value, separators=(",", ":")))

    def flush(self) -> None:
        """Write what is buffered (the file is open only meanwhile)."""
        if not self._buffer:
            return
        with self.path.open("a", encoding="utf-8", newline="\n") as file:
            for text in self._buffer:  # one by one: an end message of megabytes is not copied
                file.write(text)
                file.write("\n")
        self._buffer.clear()
        self._buffered = 0

    def texts(self) -> Iterator[str]:
        """The texts appended so far, in order (read from the file as they are iterated)."""
        self.flush()
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

    def delete(self) -> None:
        self._deleted = True
        self._buffer.clear()
        self._buffered = self.count = 0
        self.path.unlink(missing_ok=True)


def read_stored(stored: StoredText) -> Iterator[bytes]:
    """A stored text's bytes, READ_PIECE at a time. The file is opened at once (a log
    deleted meanwhile raises FileNotFoundError before anything is read)."""
    file = stored.path.open("rb")
    file.seek(stored.offset)

    def pieces() -> Iterator[bytes]:
        with file:
            left = stored.length
            while left > 0:
                piece = file.read(min(READ_PIECE, left))
                if not piece:
                    raise OSError(f"{stored.path.name} is shorter than a text it stored")
                left -= len(piece)
                yield piece

    return pieces()


def _whole_lines(path: Path) -> int:
    """Lines ending with a newline in `path` (0 if there is no such file)."""
    try:
        with path.open("rb") as file:
            return sum(block.count(b"\n") for block in iter(lambda: file.read(1 << 16), b""))
    except FileNotFoundError:
        return 0
