"""A session's received audio, kept on disk so a three-hour session costs no memory."""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from gladia_cli.audio.wav import wav_header
from gladia_cli.protocol.audio_format import AudioFormat


def find_wav_data(head: bytes) -> int | None:
    """Offset of the audio after a RIFF/WAVE header at the start of `head`, or None.

    Gladia accepts raw audio with or without a WAV header; a header is recognised only at
    the very start of a session's stream.
    """
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(head):
        chunk_id = head[pos : pos + 4]
        (size,) = struct.unpack_from("<I", head, pos + 4)
        pos += 8
        if chunk_id == b"data":
            return pos
        pos += size + (size & 1)
    return None


class AudioStore:
    """Append-only stream bytes in a temporary file; readable back by offset."""

    def __init__(self, directory: str | None = None) -> None:
        self._file: BinaryIO = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115
        self.size = 0

    def append(self, data: bytes) -> None:
        if data:
            self._file.seek(0, os.SEEK_END)
            self._file.write(data)
            self.size += len(data)

    def read(self, offset: int, n: int) -> bytes:
        self._file.flush()
        return os.pread(self._file.fileno(), n, offset)

    def iter_wav(self, fmt: AudioFormat, skip: int = 0, block: int = 1 << 16) -> Iterator[bytes]:
        """The stored audio from `skip` on, as a WAV file, in blocks."""
        data_bytes = self.size - skip
        data_bytes -= data_bytes % fmt.frame_bytes
        yield wav_header(fmt, data_bytes)
        for offset in range(skip, skip + data_bytes, block):
            yield self.read(offset, min(block, skip + data_bytes - offset))

    def close(self) -> None:
        self._file.close()
