"""Reading RIFF/WAVE as the bytes arrive: from a pipe, a download, or a file's header.

libsndfile needs a seekable file, so `arecord … | gladia file -` or a WAV served over HTTP
would otherwise have to be read to the end before the first block could be sent. This
parser reads the header, then decodes the `data` chunk block by block as it arrives.

It also answers what libsndfile hides: the `data` size a header declares. libsndfile
silently reports the frames a truncated file holds; comparing with the declared size is how
a file cut short is told from a complete one.

Sizes that streaming writers put in a header before they know the length are "unknown",
not promises: 0 (written first by writers that fix the header later), 0xFFFFFFFF (ffmpeg),
0x7FFFF000 (sox) and 0x7FFFFF00 / 0x80000000 (arecord) — everything from 0x7FFFF000 up.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gladia_cli.audio.codecs import decode, float_to_int16
from gladia_cli.audio.source import Int16Block
from gladia_cli.protocol.audio_format import AudioFormat

Read = Callable[[int], bytes]

PCM = 0x0001
IEEE_FLOAT = 0x0003
ALAW = 0x0006
ULAW = 0x0007
EXTENSIBLE = 0xFFFE

# WAVE_FORMAT_EXTENSIBLE sub-formats are GUIDs whose first two bytes are the format tag
# and whose last 14 bytes are this fixed KSDATAFORMAT suffix.
_KSDATAFORMAT_SUFFIX = bytes.fromhex("000000001000800000aa00389b71")
_PLACEHOLDER_MIN = 0x7FFF_F000
_MAX_FMT_BYTES = 1 << 16
_SKIP_BYTES = 1 << 16


class WavError(ValueError):
    """The bytes are not a WAV header this module understands (the text says why)."""


def is_placeholder_size(size: int) -> bool:
    """True for the sizes streaming writers use for "length not known yet"."""
    return size == 0 or size >= _PLACEHOLDER_MIN


def read_exact(read: Read, n: int) -> bytes:
    """Up to `n` bytes, fewer only at end of stream (pipes and sockets return short reads)."""
    chunks: list[bytes] = []
    missing = n
    while missing > 0:
        data = read(missing)
        if not data:
            break
        chunks.append(data)
        missing -= len(data)
    return b"".join(chunks)


@dataclass(frozen=True)
class WavFormat:
    """The `fmt ` chunk, with WAVE_FORMAT_EXTENSIBLE resolved to its sub-format tag."""

    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    block_align: int

    @property
    def sample_bytes(self) -> int:
        """Bytes per sample as stored (the container size, which may exceed the valid bits)."""
        return self.block_align // self.channels

    @property
    def decodable(self) -> bool:
        """Whether `decode` handles it: PCM 8/16/24/32, float 32/64, A-law, μ-law."""
        width = self.sample_bytes
        if self.format_tag == PCM:
            return width in (1, 2, 3, 4)
        if self.format_tag == IEEE_FLOAT:
            return width in (4, 8)
        return self.format_tag in (ALAW, ULAW) and width == 1

    def decode(self, data: bytes) -> Int16Block:
        """Whole frames of raw bytes → int16 of shape (frames, channels)."""
        if self.format_tag == IEEE_FLOAT:
            floats = np.frombuffer(data, dtype="<f4" if self.sample_bytes == 4 else "<f8")
            return float_to_int16(floats).reshape(-1, self.channels)
        encoding = {ALAW: "wav/alaw", ULAW: "wav/ulaw"}.get(self.format_tag, "wav/pcm")
        fmt = AudioFormat(
            encoding=encoding, bit_depth=self.sample_bytes * 8, channels=self.channels
        )
        return decode(data, fmt)


@dataclass(frozen=True)
class WavHeader:
    format: WavFormat
    data_size: int | None  # bytes the header declares; None for a streaming placeholder
    data_offset: int  # where the first sample starts

    @property
    def frames(self) -> int | None:
        return None if self.data_size is None else self.data_size // self.format.block_align


def _parse_fmt(body: bytes) -> WavFormat:
    if len(body) < 16:
        raise WavError(f"its fmt chunk is too short ({len(body)} bytes)")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == EXTENSIBLE and len(body) >= 40:
        guid = body[24:40]
        # An unknown GUID keeps the EXTENSIBLE tag: reported as undecodable, not misread.
        if guid[2:] == _KSDATAFORMAT_SUFFIX:
            tag = int.from_bytes(guid[:2], "little")
    if channels < 1 or rate < 1:
        raise WavError(f"its fmt chunk declares {channels} channels at {rate} Hz")
    if block_align < channels or block_align % channels:
        # Some writers leave block_align at 0: derive it from the bits per sample.
        block_align = channels * max(1, (bits + 7) // 8)
    return WavFormat(tag, channels, rate, bits, block_align)


class _Cursor:
    """Counts the bytes consumed, so the header knows where its data starts."""

    def __init__(self, read: Read) -> None:
        self._read = read
        self.offset = 0

    def take(self, n: int, what: str) -> bytes:
        data = read_exact(self._read, n)
        self.offset += len(data)
        if len(data) < n:
            raise WavError(f"it ends inside its {what}")
        return data

    def skip(self, n: int, what: str) -> None:
        while n > 0:
            step = min(n, _SKIP_BYTES)
            self.take(step, what)
            n -= step


def parse_wav_header(read: Read) -> WavHeader:
    """Read from the start of a RIFF/WAVE stream up to the first sample of its `data` chunk.

    Chunks other than `fmt ` and `data` (LIST, fact, bext, JUNK…) are skipped. Stops right at
    the data, so the same `read` then yields samples. Raises WavError if it is no WAV.
    """
    cursor = _Cursor(read)
    fmt: WavFormat | None = None
    for chunk_id, size in _chunks(cursor):
        if chunk_id == b"data":
            if fmt is None:
                raise WavError("its data chunk comes before its fmt chunk")
            data_size = None if is_placeholder_size(size) else size
            return WavHeader(fmt, data_size, cursor.offset)
        if chunk_id == b"fmt ":
            if size > _MAX_FMT_BYTES:
                raise WavError(f"its fmt chunk is implausibly large ({size} bytes)")
            fmt = _parse_fmt(cursor.take(_padded(size), "fmt chunk")[:size])
        else:
            cursor.skip(_padded(size), f"{chunk_id.decode('latin-1')!r} chunk")
    raise AssertionError("unreachable: _chunks ends only by raising")


def find_wav_data(head: bytes) -> int | None:
    """Offset of the audio after a RIFF/WAVE header at the start of `head`, or None.

    The local server's test for a header at the very start of a session's stream (Gladia
    accepts raw audio with or without one): only the chunk walk, no check of `fmt `, and
    None when `head` ends before the `data` chunk.
    """
    cursor = _Cursor(io.BytesIO(head).read)
    try:
        for chunk_id, size in _chunks(cursor):
            if chunk_id == b"data":
                return cursor.offset
            cursor.skip(_padded(size), "chunk")
    except WavError:
        return None
    return None


def _padded(size: int) -> int:
    return size + (size & 1)  # RIFF chunks are word-aligned


def _chunks(cursor: _Cursor) -> Iterator[tuple[bytes, int]]:
    """The RIFF chunk walk: (id, size) of each chunk after the RIFF/WAVE header, the cursor
    at its body; the caller takes or skips the body before asking for the next."""
    riff = cursor.take(12, "RIFF header")
    if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        raise WavError("it does not start with a RIFF/WAVE header")
    while True:
        chunk = cursor.take(8, "header (no data chunk)")
        yield chunk[:4], struct.unpack("<I", chunk[4:])[0]


def wav_file_header(path: Path) -> WavHeader | None:
    """The header of a WAV file as written, or None if it is not one this parser reads.

    Used to detect truncation: libsndfile reports only the frames present, so a file whose
    `data_offset + data_size` exceeds its length was cut short.
    """
    try:
        with path.open("rb") as file:
            return parse_wav_header(file.read)
    except (OSError, WavError):
        return None


class WavStreamReader:
    """Decoded frames of a `data` chunk, read from a stream as the bytes arrive.

    `read` must be positioned at the first sample (after `parse_wav_header`, or at the start
    of headerless PCM). Reading stops at the declared size (chunks after `data` are not
    audio) or at end of stream when the size is unknown. A partial final frame is dropped.
    An exception of a type in `errors` (a broken pipe, a dropped download) ends the stream
    like EOF, keeping every whole frame received; it is kept in `error` for the caller.
    """

    def __init__(
        self,
        read: Read,
        fmt: WavFormat,
        data_size: int | None,
        *,
        errors: tuple[type[BaseException], ...] = (OSError,),
    ) -> None:
        self.format = fmt
        self._read = read
        self._remaining = data_size
        self._errors = errors
        self._ended = False
        self.error: BaseException | None = None
        self.frames_read = 0

    @property
    def truncated(self) -> bool:
        """Ended (EOF or error) before the declared size was reached."""
        cut_short = self._remaining is not None and self._remaining >= self.format.block_align
        return self._ended and (cut_short or self.error is not None)

    def read(self, frames: int) -> Int16Block:
        """Up to `frames` frames; fewer only at the end; an empty array once ended."""
        want = frames * self.format.block_align
        if self._remaining is not None:
            want = min(want, self._remaining)
        data = b"" if self._ended else self._read_bytes(want)
        if len(data) < want or want == 0:
            self._ended = True
        if self._remaining is not None:
            self._remaining -= len(data)
        whole = len(data) - len(data) % self.format.block_align
        block = self.format.decode(data[:whole])
        self.frames_read += len(block)
        return block

    def _read_bytes(self, n: int) -> bytes:
        # read_exact, except that a failing stream keeps the bytes received before it failed.
        chunks: list[bytes] = []
        missing = n
        try:
            while missing > 0:
                data = self._read(missing)
                if not data:
                    break
                chunks.append(data)
                missing -= len(data)
        except self._errors as exc:
            self.error = exc
        return b"".join(chunks)
