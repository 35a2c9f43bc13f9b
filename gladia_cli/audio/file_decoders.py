"""The decoders behind a FileSource: native-rate int16 frames from libsndfile (a file) or
from `wav_stream` (a WAV or raw byte stream as it arrives), and how each tells that its
input was cut short."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import requests
import soundfile as sf
import urllib3

from gladia_cli.audio.codecs import float_to_int16
from gladia_cli.audio.native_stderr import without_decoder_noise
from gladia_cli.audio.source import Int16Block
from gladia_cli.audio.wav_stream import WavStreamReader
from gladia_cli.errors import AudioInputError

_TRUNCATED_HINT = (
    "the input was cut short (an interrupted copy, download or recording); "
    "everything before the cut was read — transcribe a complete copy to get the rest"
)


class Decoder(Protocol):
    """Native-rate int16 frames from one input, before resampling and re-blocking."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def channels(self) -> int: ...

    def read(self, frames: int) -> Int16Block:
        """Up to `frames` frames, fewer only at the end; empty once ended."""
        ...

    def problem(self) -> AudioInputError | None:
        """Once `read` returned empty: what cut the audio short, if anything."""
        ...


def empty_block(channels: int) -> Int16Block:
    return np.zeros((0, channels), dtype=np.int16)


def truncated(name: str, promised: float | None, got: float, reason: str | None) -> AudioInputError:
    if promised is not None:
        message = (
            f"{name} is truncated: the header promises {promised:.1f} s, "
            f"only {got:.1f} s could be read"
        )
    else:
        message = f"{name} is truncated: it broke off after {got:.1f} s"
    if reason:
        message += f" ({reason})"
    return AudioInputError(message, hint=_TRUNCATED_HINT)


def libsndfile_reason(exc: BaseException) -> str:
    """libsndfile's own words, without soundfile's "Error opening 'path': " prefix."""
    return str(getattr(exc, "error_string", None) or exc).strip().rstrip(".")


class SoundFileDecoder:
    """A file libsndfile opened. Truncation shows as fewer frames than promised, or as a
    decode error partway (e.g. a cut FLAC).

    A file that does not state its length (a FLAC written to a pipe has no total in its
    header: libsndfile reports SF_COUNT_MAX frames) is different: libsndfile's FLAC reader
    signals the end by failing the read that crosses it, and the handle is unusable after.
    There the error is taken as the end, and the frames before it are recovered by reopening.
    """

    def __init__(
        self, path: Path, file: Any, name: str, *, promised: int | None, slack: int
    ) -> None:
        self._path = path
        self._file = file
        self._name = name
        self._promised = promised
        self._slack = slack
        self._dtype = "int16" if file.subtype == "PCM_16" else "float32"  # int16 is exact
        self._mp3 = file.format == "MP3"  # libmpg123 talks on stderr (native_stderr.py)
        self._frames_read = 0
        self._ended = False
        self._error: str | None = None
        self.sample_rate: int = file.samplerate
        self.channels: int = file.channels

    def read(self, frames: int) -> Int16Block:
        if self._ended:
            return empty_block(self.channels)
        try:
            with without_decoder_noise(self._mp3):
                data = self._file.read(frames, dtype=self._dtype, always_2d=True)
            block = self._decode(data)
        except (sf.SoundFileError, RuntimeError) as exc:
            self._ended = True
            if self._promised is not None:
                self._error = libsndfile_reason(exc)
                return empty_block(self.channels)
            block = self._read_tail(frames)
        self._frames_read += len(block)
        return block

    def _decode(self, data: Any) -> Int16Block:
        return data if self._dtype == "int16" else float_to_int16(data)

    def _read_tail(self, frames: int) -> Int16Block:
        """The longest read of fewer than `frames` frames that succeeds (bisection)."""
        best, low, high = empty_block(self.channels), 0, frames - 1
        while low < high:
            mid = (low + high + 1) // 2
            block = self._read_reopened(self._frames_read, mid)
            if block is None:
                high = mid - 1
            else:
                best, low = block, mid
        return best

    def _read_reopened(self, start: int, frames: int) -> Int16Block | None:
        try:
            with without_decoder_noise(self._mp3), sf.SoundFile(str(self._path)) as file:
                file.seek(start)
                data = file.read(frames, dtype=self._dtype, always_2d=True)
            return self._decode(data)
        except (sf.SoundFileError, RuntimeError):
            return None

    def problem(self) -> AudioInputError | None:
        short = self._promised is not None and self._promised - self._frames_read > self._slack
        if self._error is None and not short:
            return None
        rate = self.sample_rate
        promised = None if self._promised is None else self._promised / rate
        return truncated(self._name, promised, self._frames_read / rate, self._error)


class StreamDecoder:
    """A WAV or raw byte stream decoded as it arrives."""

    def __init__(self, reader: WavStreamReader, name: str, promised: int | None) -> None:
        self._reader = reader
        self._name = name
        self._promised = promised
        self.sample_rate = reader.format.sample_rate
        self.channels = reader.format.channels

    def read(self, frames: int) -> Int16Block:
        return self._reader.read(frames)

    def problem(self) -> AudioInputError | None:
        reader, rate = self._reader, self.sample_rate
        if reader.truncated:
            promised = None if self._promised is None else self._promised / rate
            reason = None if reader.error is None else stream_error_reason(reader.error)
            return truncated(self._name, promised, reader.frames_read / rate, reason)
        if reader.frames_read == 0:
            return AudioInputError(
                f"{self._name} holds no audio", hint="check the command that produces it"
            )
        return None


def stream_error_reason(exc: BaseException) -> str:
    """A short cause that cannot leak a URL (urllib3 messages may quote it)."""
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return "the server stopped sending"
    if isinstance(exc, urllib3.exceptions.HTTPError | requests.RequestException):
        return "the connection broke"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
