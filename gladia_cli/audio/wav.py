"""WAV headers for raw live-API audio, and a writer whose file is valid at every moment."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from gladia_cli.errors import AudioInputError
from gladia_cli.protocol.audio_format import AudioFormat

_WAVE_FORMAT_TAGS = {"wav/pcm": 1, "wav/alaw": 6, "wav/ulaw": 7}
HEADER_BYTES = 44


def wav_header(fmt: AudioFormat, data_bytes: int) -> bytes:
    """A canonical 44-byte header for `data_bytes` of `fmt` audio."""
    block_align = fmt.frame_bytes
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack(
            "<IHHIIHH",
            16,
            _WAVE_FORMAT_TAGS[fmt.encoding],
            fmt.channels,
            fmt.sample_rate,
            fmt.sample_rate * block_align,
            block_align,
            fmt.sample_bytes * 8,
        )
        + b"data"
        + struct.pack("<I", data_bytes)
    )


class WavWriter:
    """`--save-audio`: appends exactly the bytes sent, and rewrites the two size fields after
    every write, so the file is a valid WAV even if the program is killed mid-session."""

    def __init__(self, path: Path, fmt: AudioFormat) -> None:
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise AudioInputError(
                f"cannot write {path}: {exc.strerror}", hint="choose a writable --save-audio path"
            ) from None
        self._fmt = fmt
        self.data_bytes = 0
        os.write(self._fd, wav_header(fmt, 0))

    def write(self, data: bytes) -> None:
        if not data:
            return
        os.pwrite(self._fd, data, HEADER_BYTES + self.data_bytes)
        self.data_bytes += len(data)
        os.pwrite(self._fd, struct.pack("<I", 36 + self.data_bytes), 4)
        os.pwrite(self._fd, struct.pack("<I", self.data_bytes), 40)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
