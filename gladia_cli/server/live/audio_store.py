"""A session's received audio, kept on disk so a three-hour session costs no memory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from gladia_cli.audio.wav import wav_header
from gladia_cli.protocol.audio_format import AudioFormat


class AudioStore:
    """Append-only stream bytes in a file of the session's folder; readable back by offset.

    The file is held open only while the session records: a finished session costs no file
    descriptor (a long-running server keeps many), and reads open it on demand. `delete`
    removes it (eviction, DELETE, shutdown). Each append reaches the file at once (no
    buffer in the process): what was acknowledged survives the server being killed.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = path.open("w+b")
        self.size = 0

    @classmethod
    def existing(cls, path: Path) -> AudioStore:
        """A finished recording left by an earlier server (read back, never appended)."""
        store = cls.__new__(cls)
        store.path = path
        store._file = None
        store.size = path.stat().st_size if path.exists() else 0
        return store

    def append(self, data: bytes) -> None:
        if not data:
            return
        if self._file is None:
            raise ValueError("the recording is finished")
        self._file.seek(0, os.SEEK_END)
        self._file.write(data)
        self._file.flush()
        self.size += len(data)

    def read(self, offset: int, n: int) -> bytes:
        if n <= 0:
            return b""
        if self._file is not None:
            self._file.flush()
            return os.pread(self._file.fileno(), n, offset)
        with self.path.open("rb") as file:
            file.seek(offset)
            return file.read(n)

    def iter_wav(self, fmt: AudioFormat, skip: int = 0, block: int = 1 << 16) -> Iterator[bytes]:
        """The stored audio from `skip` on, as a WAV file, in blocks (one open file)."""
        data_bytes = self.size - skip
        data_bytes -= data_bytes % fmt.frame_bytes
        yield wav_header(fmt, data_bytes)
        if self._file is not None:
            self._file.flush()
        with self.path.open("rb") as file:
            file.seek(skip)
            left = data_bytes
            while left > 0:
                piece = file.read(min(block, left))
                if not piece:
                    return
                left -= len(piece)
                yield piece

    def finish(self) -> None:
        """Recording is over: release the file descriptor, keep the file."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def delete(self) -> None:
        self.finish()
        self.path.unlink(missing_ok=True)
