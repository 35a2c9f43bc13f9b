"""libmpg123's messages kept off the user's stderr.

libsndfile decodes MP3 with libmpg123, which writes its complaints about the frames it
decodes straight to file descriptor 2 (`[src/libmpg123/layer3.c:…] error: part2_3_length
… too large`: 66 lines for one ordinary MP3, even with `--quiet`), and offers no way to turn
them off. So while an MP3 is decoded, descriptor 2 points at a scratch file; what lands
there is written back to the real stderr afterwards, libmpg123's lines left out. A message
from another thread in that window (a fraction of a millisecond per block) is thus
delayed, never lost. One window at a time, process-wide: two decoders must not swap the
descriptor under each other.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from typing import IO

_NOISE = re.compile(rb"^\[[^\]]*libmpg123[^\]]*\] (error|warning|note): ")


class _Scratch:
    """The scratch file, made on first use and kept for the process (one per read would
    cost a file creation ten times a second), and the lock of its window."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._file: IO[bytes] | None = None

    def file(self) -> IO[bytes]:
        if self._file is None:
            self._file = tempfile.TemporaryFile()  # noqa: SIM115  # kept open on purpose
        return self._file


_scratch = _Scratch()


def noise(line: bytes) -> bool:
    """Whether a line on stderr is one of libmpg123's."""
    return _NOISE.match(line) is not None


@contextlib.contextmanager
def without_decoder_noise(active: bool = True) -> Iterator[None]:
    """While in the block, libmpg123's lines on descriptor 2 are dropped (when `active`)."""
    if not active:
        yield
        return
    with _scratch.lock:
        try:
            saved = os.dup(2)
        except OSError:  # stderr closed (2>&-): nothing to keep clean
            yield
            return
        scratch = _scratch.file()
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(scratch.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            scratch.seek(0)
            written = scratch.read()
            scratch.seek(0)
            scratch.truncate()
            kept = b"".join(line for line in written.splitlines(keepends=True) if not noise(line))
            if kept:
                with contextlib.suppress(OSError):
                    os.write(2, kept)
