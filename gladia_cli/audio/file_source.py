"""Audio files, standard input and URLs as AudioSources for `gladia file`.

Everything that makes an input unusable is found at open, before a session is created and
billed: a missing or empty file, an unknown format, too many channels. What can only be
found at the end — a file cut short — is raised after every readable block was yielded.

Where the bytes come from decides how they are read:

- a file: libsndfile (WAV, FLAC, OGG/Vorbis/Opus, MP3, AIFF…), block by block;
- a pipe (standard input, a named pipe) or an http(s) URL holding WAV: parsed as it
  arrives (`wav_stream`), so `arecord … | gladia file -` is live;
- a pipe or URL holding anything else: libsndfile needs to seek, so it is copied to a
  temporary file until EOF first (disk, not memory) and read from there;
- `--raw`: headerless interleaved PCM, decoded as it arrives.

Output is int16 at a rate the API accepts: 16-bit PCM is read as int16 (exact), everything
else as float32 then clipped to int16; a rate the API does not take is resampled to 16 kHz.
"""

from __future__ import annotations

import contextlib
import math
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import numpy as np
import soundfile as sf

from gladia_cli.audio.blocks import FrameFifo, RateConverter
from gladia_cli.audio.channel_similarity import examine_file
from gladia_cli.audio.file_decoders import Decoder, empty_block
from gladia_cli.audio.file_inputs import open_path, open_stdin, open_url
from gladia_cli.audio.raw_format import RawFormat, parse_raw_format
from gladia_cli.audio.source import Int16Block, LiveCapture, PcmFormat, check_send_rate
from gladia_cli.protocol.audio_format import SAMPLE_RATES

# parse_raw_format is imported from here by cli/file_cmd.py (changed on another branch);
# new code imports it from audio/raw_format.
__all__ = ["FileSource", "RawFormat", "open_file_source", "parse_raw_format"]

DEFAULT_RATE = 16000
_CLOSE_WAIT = 2.0  # seconds close() waits for a read in progress on another thread


class FileSource:
    """An AudioSource over one decoder: resampled to `format.sample_rate`, cut into exact
    blocks, stoppable from another thread, and owning the resources in `resources`."""

    def __init__(
        self,
        decoder: Decoder,
        *,
        description: str,
        duration: float | None,
        sample_rate: int,
        resources: contextlib.ExitStack,
        merge_channels: bool = False,
    ) -> None:
        self._decoder = decoder
        self._description = description
        self._duration = duration
        # Channels found to carry the same signal are sent as one (their mean).
        self.merged_channels = decoder.channels if merge_channels else 0
        self._format = PcmFormat(sample_rate, 1 if merge_channels else decoder.channels)
        self._resources = resources
        self._stopping = threading.Event()
        self._io_lock = threading.Lock()  # close() must not free a file mid-read
        self._closed = False

    @property
    def format(self) -> PcmFormat:
        return self._format

    @property
    def labels(self) -> list[str] | None:
        return None

    @property
    def capture(self) -> LiveCapture | None:
        return None

    @property
    def duration(self) -> float | None:
        return self._duration

    @property
    def description(self) -> str:
        return self._description

    def blocks(self, frames: int) -> Iterator[Int16Block]:
        if frames < 1:
            raise ValueError(f"frames must be positive, not {frames}")
        in_rate, out_rate = self._decoder.sample_rate, self._format.sample_rate
        converter = RateConverter(in_rate, out_rate, self._format.channels)
        read_size = max(1, math.ceil(frames * in_rate / out_rate))
        fifo = FrameFifo(self._format.channels)
        while True:
            if self._stopping.is_set():
                return
            chunk = self._read(read_size)
            ended = len(chunk) == 0
            fifo.push(converter.flush() if ended else converter.convert(chunk))
            while len(fifo) >= frames or (ended and len(fifo)):
                if self._stopping.is_set():
                    return
                yield fifo.take(frames)
            if ended:
                break
        if not self._stopping.is_set() and (problem := self._decoder.problem()) is not None:
            raise problem

    def _read(self, frames: int) -> Int16Block:
        with self._io_lock:
            if self._closed:
                return empty_block(self._format.channels)
            block = self._decoder.read(frames)
        if self.merged_channels:
            summed = block.astype(np.int32).sum(axis=1, keepdims=True)
            block = (summed // self.merged_channels).astype(np.int16)  # exact for copies
        return block

    def take_warnings(self) -> list[str]:
        return []  # a file's problems end the stream: they are raised, not warned

    def stop(self) -> None:
        """Thread-safe: `blocks` ends at the next block boundary, without an exception. A read
        blocked on a pipe or socket finishes first (it returns when data or EOF comes)."""
        self._stopping.set()

    def close(self) -> None:
        self._stopping.set()
        # Wait briefly for a read in progress; a read blocked on a socket is unblocked by
        # closing it, so proceed anyway after the wait.
        locked = self._io_lock.acquire(timeout=_CLOSE_WAIT)
        try:
            self._closed = True
            self._resources.close()
        finally:
            if locked:
                self._io_lock.release()


def open_file_source(
    spec: str,
    *,
    target_rate: int | None = None,
    raw: RawFormat | None = None,
    stdin: BinaryIO | None = None,
    http_timeout: float = 30.0,
    merge_copies: bool = False,
    stdin_isatty: bool | None = None,
) -> FileSource:
    """Open a path, `-` (standard input) or an http(s) URL; see the module docstring.

    `merge_copies`: send channels that carry the same signal as one (`gladia file` without
    `--multichannel`); only input libsndfile reads from a file is examined — standard
    input and URLs decoded as they arrive (WAV, raw) keep their channels, since looking
    ahead would hold a live stream back.

    Raises AudioInputError for unusable input and UsageError for a `target_rate` the API
    does not accept. The caller must `close()` the source.
    """
    check_send_rate(target_rate)
    resources = contextlib.ExitStack()
    try:
        if spec == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            is_terminal = stream.isatty() if stdin_isatty is None else stdin_isatty
            opened = open_stdin(stream, is_terminal, raw, resources)
        elif urlsplit(spec).scheme.lower() in ("http", "https"):
            opened = open_url(spec, raw, http_timeout, resources)
        else:
            opened = open_path(spec, raw, resources)
    except BaseException:
        resources.close()
        raise
    native = opened.decoder.sample_rate
    rate = target_rate or (native if native in SAMPLE_RATES else DEFAULT_RATE)
    merge = merge_copies and opened.decoder.channels > 1 and _copies(opened.path)
    return FileSource(
        opened.decoder,
        description=opened.description,
        duration=opened.duration,
        sample_rate=rate,
        resources=resources,
        merge_channels=merge,
    )


def _copies(path: Path | None) -> bool:
    """Whether the channels of the file carry the same signal (channel_similarity)."""
    if path is None:
        return False
    try:
        return examine_file(path)
    except (sf.SoundFileError, RuntimeError, OSError):
        return False  # unreadable in part: the stream itself will say what is wrong
