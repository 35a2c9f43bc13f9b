"""Where the unacknowledged backlog goes past its memory bound: an anonymous temporary file.

`tempfile.TemporaryFile` is unlinked at once, so nothing is left behind even after a kill;
the page cache keeps recent writes cheap to read back for a re-send.
"""

from __future__ import annotations

import os
import tempfile


class TemporaryFileOverflow:
    def __init__(self, directory: str | None = None) -> None:
        # Closed by close(), which the stream calls when it is over.
        self._file = tempfile.TemporaryFile(prefix="gladia-backlog-", dir=directory)  # noqa: SIM115
        self._fd = self._file.fileno()
        self._size = 0

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, self._size)
            self._size += written
            view = view[written:]

    def read(self, position: int, size: int) -> bytes:
        return os.pread(self._fd, size, position)

    def reset(self) -> None:
        os.ftruncate(self._fd, 0)
        self._size = 0

    def close(self) -> None:
        self._file.close()
