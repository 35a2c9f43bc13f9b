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
import os
import shlex
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

import numpy as np
import requests
import soundfile as sf
import urllib3

from gladia_cli.audio.blocks import FrameFifo, RateConverter
from gladia_cli.audio.channel_similarity import examine_file
from gladia_cli.audio.codecs import float_to_int16
from gladia_cli.audio.source import (
    Int16Block,
    PcmFormat,
    check_channels,
    check_input_rate,
    check_send_rate,
)
from gladia_cli.audio.wav_stream import (
    ALAW,
    IEEE_FLOAT,
    PCM,
    ULAW,
    Read,
    WavError,
    WavFormat,
    WavStreamReader,
    parse_wav_header,
    read_exact,
    wav_file_header,
)
from gladia_cli.errors import AudioInputError, UsageError
from gladia_cli.protocol.audio_format import MAX_CHANNELS, SAMPLE_RATES

STDIN_NAME = "standard input"
DEFAULT_RATE = 16000
RAW_SAMPLE_FORMATS: dict[str, tuple[int, int]] = {  # name → (WAV format tag, bytes/sample)
    "s16le": (PCM, 2),
    "s24le": (PCM, 3),
    "s32le": (PCM, 4),
    "f32le": (IEEE_FLOAT, 4),
    "u8": (PCM, 1),
    "ulaw": (ULAW, 1),
    "alaw": (ALAW, 1),
}

_SPOOL_CHUNK = 1 << 16
_SF_COUNT_MAX = 2**63 - 1  # libsndfile's frame count for "length unknown"
_CLOSE_WAIT = 2.0  # seconds close() waits for a read in progress on another thread
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    requests.RequestException,
    urllib3.exceptions.HTTPError,
)
_SUPPORTED_HINT = (
    "gladia reads WAV, FLAC, OGG (Vorbis, Opus), MP3, AIFF, AU, CAF and other libsndfile "
    "formats; convert anything else first, e.g. `ffmpeg -i INPUT -ar 16000 out.wav`"
)
_TRUNCATED_HINT = (
    "the input was cut short (an interrupted copy, download or recording); "
    "everything before the cut was read — transcribe a complete copy to get the rest"
)


# ----------------------------------------------------------------------------- raw format


@dataclass(frozen=True)
class RawFormat:
    """Headerless interleaved PCM (`--raw`): nothing in the bytes says what they hold."""

    sample_rate: int
    channels: int
    sample_format: str  # a key of RAW_SAMPLE_FORMATS

    @property
    def wav_format(self) -> WavFormat:
        """The same samples described as a WAV `fmt ` chunk, so one decoder serves both."""
        tag, width = RAW_SAMPLE_FORMATS[self.sample_format]
        return WavFormat(tag, self.channels, self.sample_rate, width * 8, width * self.channels)


def parse_raw_format(rate: int | None, channels: int | None, sample_format: str) -> RawFormat:
    """Validate the options describing headerless input (UsageError on a bad combination)."""
    name = sample_format.strip().lower()
    if name not in RAW_SAMPLE_FORMATS:
        raise UsageError(
            f"unknown raw sample format {sample_format!r}",
            hint="use one of " + ", ".join(RAW_SAMPLE_FORMATS),
        )
    missing = [
        option
        for option, value in (("--raw-rate", rate), ("--raw-channels", channels))
        if value is None
    ]
    if missing:
        raise UsageError(
            f"--raw needs {' and '.join(missing)}: headerless audio does not say its format",
            hint=f"for example: --raw {name} --raw-rate 16000 --raw-channels 1",
        )
    assert rate is not None and channels is not None
    check_input_rate("--raw-rate", rate, hint="give the input's rate in Hz")
    check_channels("--raw-channels", channels)
    return RawFormat(rate, channels, name)


# ------------------------------------------------------------------------------- decoders


class _Decoder(Protocol):
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


def _empty(channels: int) -> Int16Block:
    return np.zeros((0, channels), dtype=np.int16)


def _truncated(
    name: str, promised: float | None, got: float, reason: str | None
) -> AudioInputError:
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


def _libsndfile_reason(exc: BaseException) -> str:
    """libsndfile's own words, without soundfile's "Error opening 'path': " prefix."""
    return str(getattr(exc, "error_string", None) or exc).strip().rstrip(".")


class _SoundFileDecoder:
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
        self._frames_read = 0
        self._ended = False
        self._error: str | None = None
        self.sample_rate: int = file.samplerate
        self.channels: int = file.channels

    def read(self, frames: int) -> Int16Block:
        if self._ended:
            return _empty(self.channels)
        try:
            block = self._decode(self._file.read(frames, dtype=self._dtype, always_2d=True))
        except (sf.SoundFileError, RuntimeError) as exc:
            self._ended = True
            if self._promised is not None:
                self._error = _libsndfile_reason(exc)
                return _empty(self.channels)
            block = self._read_tail(frames)
        self._frames_read += len(block)
        return block

    def _decode(self, data: Any) -> Int16Block:
        return data if self._dtype == "int16" else float_to_int16(data)

    def _read_tail(self, frames: int) -> Int16Block:
        """The longest read of fewer than `frames` frames that succeeds (bisection)."""
        best, low, high = _empty(self.channels), 0, frames - 1
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
            with sf.SoundFile(str(self._path)) as file:
                file.seek(start)
                return self._decode(file.read(frames, dtype=self._dtype, always_2d=True))
        except (sf.SoundFileError, RuntimeError):
            return None

    def problem(self) -> AudioInputError | None:
        short = self._promised is not None and self._promised - self._frames_read > self._slack
        if self._error is None and not short:
            return None
        rate = self.sample_rate
        promised = None if self._promised is None else self._promised / rate
        return _truncated(self._name, promised, self._frames_read / rate, self._error)


class _StreamDecoder:
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
            reason = None if reader.error is None else _stream_error_reason(reader.error)
            return _truncated(self._name, promised, reader.frames_read / rate, reason)
        if reader.frames_read == 0:
            return AudioInputError(
                f"{self._name} holds no audio", hint="check the command that produces it"
            )
        return None


def _stream_error_reason(exc: BaseException) -> str:
    """A short cause that cannot leak a URL (urllib3 messages may quote it)."""
    if isinstance(exc, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return "the server stopped sending"
    if isinstance(exc, urllib3.exceptions.HTTPError | requests.RequestException):
        return "the connection broke"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


# -------------------------------------------------------------------------------- source


class FileSource:
    """An AudioSource over one decoder: resampled to `format.sample_rate`, cut into exact
    blocks, stoppable from another thread, and owning the resources in `resources`."""

    def __init__(
        self,
        decoder: _Decoder,
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
                return _empty(self._format.channels)
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


# --------------------------------------------------------------------------------- opening


@dataclass
class _Opened:
    decoder: _Decoder
    description: str
    duration: float | None
    path: Path | None = None  # a file libsndfile reads (and can read ahead), if any


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
            opened = _open_stdin(stream, is_terminal, raw, resources)
        elif urlsplit(spec).scheme.lower() in ("http", "https"):
            opened = _open_url(spec, raw, http_timeout, resources)
        else:
            opened = _open_path(spec, raw, resources)
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


def _check_channels(name: str, channels: int, command_input: str = "INPUT") -> None:
    if channels <= MAX_CHANNELS:
        return
    src = shlex.quote(command_input)
    raise AudioInputError(
        f"{name} has {channels} channels; Gladia takes at most {MAX_CHANNELS} per session",
        hint=(
            f"keep the first {MAX_CHANNELS} with `sox {src} first8.wav remix "
            + " ".join(str(i) for i in range(1, MAX_CHANNELS + 1))
            + f"`, or mix down to mono with `sox {src} mono.wav remix -`"
        ),
    )


def _open_path(spec: str, raw: RawFormat | None, resources: contextlib.ExitStack) -> _Opened:
    path = Path(spec)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AudioInputError(
            f"no such file: {spec}", hint="check the path (use - to read standard input)"
        ) from None
    except OSError as exc:
        raise AudioInputError(f"cannot read {spec}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise AudioInputError(f"{spec} is a directory", hint="give an audio file, not a folder")
    try:
        file = resources.enter_context(path.open("rb"))
    except OSError as exc:
        raise AudioInputError(
            f"cannot read {spec}: {exc.strerror}", hint="check the file's permissions"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        # A named pipe or device (/dev/stdin, `<(arecord …)`): read it like standard input.
        return _open_stream(file.read, spec, path.name, raw, resources)
    if info.st_size == 0:
        raise AudioInputError(f"{spec} is empty", hint="the recording or copy may have failed")
    if raw is not None:
        frames = info.st_size // raw.wav_format.block_align
        if frames == 0:
            raise AudioInputError(f"{spec} holds no audio (less than one frame)")
        reader = WavStreamReader(file.read, raw.wav_format, None)
        return _Opened(_StreamDecoder(reader, spec, None), path.name, frames / raw.sample_rate)
    return _open_soundfile(path, spec, path.name, resources, command_input=spec)


def _open_soundfile(
    path: Path,
    name: str,
    description: str,
    resources: contextlib.ExitStack,
    *,
    command_input: str = "INPUT",
) -> _Opened:
    try:
        file = resources.enter_context(sf.SoundFile(str(path)))
    except (sf.SoundFileError, RuntimeError) as exc:
        reason = "it is a text file" if _looks_like_text(path) else _libsndfile_reason(exc)
        raise AudioInputError(
            f"cannot read {name} as audio: {reason}",
            hint="it may be damaged or not what its name says; " + _SUPPORTED_HINT,
        ) from None
    _check_channels(name, file.channels, command_input)
    if file.frames <= 0:
        raise AudioInputError(f"{name} holds no audio (0 frames)", hint="check the recording")
    promised = _promised_frames(path, file)
    # libmpg123 estimates an MP3's length (a Xing header or the bitrate): allow 1% or 0.1 s.
    slack = max(file.frames // 100, file.samplerate // 10) if file.format == "MP3" else 0
    decoder = _SoundFileDecoder(path, file, name, promised=promised, slack=slack)
    duration = None if promised is None else file.frames / file.samplerate
    return _Opened(decoder, description, duration, path)


def _looks_like_text(path: Path) -> bool:
    """A first kilobyte of UTF-8 without NUL bytes: a log or a page saved as `.wav`."""
    try:
        with path.open("rb") as file:
            head = file.read(1024)
        head.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return False  # a multi-byte character cut at 1024 bytes reads as binary: harmless
    return bool(head) and b"\0" not in head


def _promised_frames(path: Path, file: Any) -> int | None:
    """Frames the file claims, None if it does not say. For WAV, libsndfile silently reports
    only what is present, so a `data` size beyond the end of the file is scaled to frames by
    hand (any encoding: the bytes present hold `file.frames`)."""
    frames: int = file.frames
    if frames >= _SF_COUNT_MAX:
        return None
    if file.format not in ("WAV", "WAVEX"):
        return frames
    header = wav_file_header(path)
    if header is None or header.data_size is None:
        return frames
    available = path.stat().st_size - header.data_offset
    if available <= 0 or header.data_size <= available:
        return frames
    return round(frames * header.data_size / available)


def _open_stdin(
    stdin: BinaryIO, is_terminal: bool, raw: RawFormat | None, resources: contextlib.ExitStack
) -> _Opened:
    if is_terminal:  # reading would wait for the user to type audio
        raise AudioInputError(
            "standard input is a terminal, not audio",
            hint="pipe audio in, e.g. `arecord -f S16_LE -r 16000 | gladia file -`",
        )
    return _open_stream(stdin.read, STDIN_NAME, STDIN_NAME, raw, resources)


class _Replay:
    """A byte stream whose first bytes (read to sniff the format) are put back, and which can
    record what passes so a header read for nothing is replayed into a spool file."""

    def __init__(self, head: bytes, read: Read) -> None:
        self._pending = head
        self._read = read
        self.recording: bytearray | None = None

    def read(self, n: int) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
        else:
            data = self._read(n)
        if self.recording is not None:
            self.recording += data
        return data

    def rewind(self) -> None:
        if self.recording is not None:
            self._pending = bytes(self.recording) + self._pending
            self.recording = None


def _open_stream(
    read: Read,
    name: str,
    description: str,
    raw: RawFormat | None,
    resources: contextlib.ExitStack,
    *,
    errors: tuple[type[BaseException], ...] = (OSError,),
    suffix: str = "",
) -> _Opened:
    """Standard input, a pipe or a download: raw and WAV are decoded as they arrive,
    anything else is spooled to a temporary file first."""
    if raw is not None:
        reader = WavStreamReader(read, raw.wav_format, None, errors=errors)
        return _Opened(_StreamDecoder(reader, name, None), description, None)
    try:
        head = read_exact(read, 12)
    except errors as exc:
        raise AudioInputError(f"reading {name} failed: {_stream_error_reason(exc)}") from None
    if not head:
        raise AudioInputError(
            f"{name} is empty",
            hint="pipe audio in, e.g. `arecord -f S16_LE -r 16000 | gladia file -`",
        )
    stream = _Replay(head, read)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        stream.recording = bytearray()
        try:
            header = parse_wav_header(stream.read)
        except WavError as exc:
            raise AudioInputError(
                f"cannot read {name} as WAV: {exc}", hint=_SUPPORTED_HINT
            ) from None
        except errors as exc:
            raise AudioInputError(f"reading {name} failed: {_stream_error_reason(exc)}") from None
        fmt = header.format
        if fmt.decodable:
            stream.recording = None
            _check_channels(name, fmt.channels)
            reader = WavStreamReader(stream.read, fmt, header.data_size, errors=errors)
            frames = header.frames
            duration = None if frames is None else frames / fmt.sample_rate
            return _Opened(_StreamDecoder(reader, name, frames), description, duration)
        stream.rewind()  # ADPCM, GSM…: libsndfile may decode what this parser does not
    path = _spool(stream.read, name, resources, errors=errors, suffix=suffix)
    return _open_soundfile(path, name, description, resources)


def _spool(
    read: Read,
    name: str,
    resources: contextlib.ExitStack,
    *,
    errors: tuple[type[BaseException], ...],
    suffix: str,
) -> Path:
    """Copy a stream to a temporary file (removed by close()) so libsndfile can seek in it."""
    fd, temp = tempfile.mkstemp(prefix="gladia-", suffix=suffix)
    path = Path(temp)
    resources.callback(path.unlink, missing_ok=True)
    with os.fdopen(fd, "wb") as out:
        try:
            while chunk := read(_SPOOL_CHUNK):
                out.write(chunk)
        except errors as exc:
            raise AudioInputError(
                f"reading {name} failed: {_stream_error_reason(exc)}",
                hint="formats other than WAV are read to the end before streaming starts",
            ) from None
    return path


# ------------------------------------------------------------------------------------ URLs


def _shown_url(url: str) -> str:
    """scheme://host/path: no credentials, query string or fragment in messages."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def _url_name(url: str) -> str:
    parts = urlsplit(url)
    return unquote(PurePosixPath(parts.path).name) or parts.netloc.rpartition("@")[2]


def _http_hint(status: int) -> str:
    if status in (401, 403):
        return "the server refused access; a signed link may have expired"
    if status == 404:
        return "check the URL"
    if status >= 500:
        return "the server failed; try again later"
    return "check the URL"


def _connection_reason(exc: requests.ConnectionError) -> str:
    text = str(exc)
    if "refused" in text.lower():
        return "connection refused"
    if "resolve" in text.lower() or "name or service" in text.lower():
        return "unknown host"
    return "connection failed"


def _open_url(
    url: str, raw: RawFormat | None, timeout: float, resources: contextlib.ExitStack
) -> _Opened:
    shown = _shown_url(url)
    # Messages below are built from `shown`, never from the exception (it quotes the URL).
    try:
        response = requests.get(url, stream=True, timeout=timeout)
    except requests.Timeout:
        raise AudioInputError(
            f"cannot download {shown}: no answer within {timeout:g} s",
            hint="check the URL and your network connection",
        ) from None
    except requests.ConnectionError as exc:
        raise AudioInputError(
            f"cannot download {shown}: {_connection_reason(exc)}",
            hint="check the URL and your network connection",
        ) from None
    except requests.RequestException:
        raise AudioInputError(
            f"cannot download {shown}: invalid URL", hint="check the URL"
        ) from None
    resources.callback(response.close)
    if response.status_code >= 400:
        raise AudioInputError(
            f"cannot download {shown}: HTTP {response.status_code} {response.reason}".rstrip(),
            hint=_http_hint(response.status_code),
        )
    response.raw.decode_content = True  # undo a Content-Encoding such as gzip
    return _open_stream(
        response.raw.read1,  # what has arrived: a dropped connection loses nothing
        shown,
        _url_name(url),
        raw,
        resources,
        errors=_NETWORK_ERRORS,
        suffix=PurePosixPath(urlsplit(url).path).suffix,
    )
