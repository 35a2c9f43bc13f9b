"""Where a FileSource's bytes come from: a path, standard input or a pipe, an http(s) URL.

Each opener checks what it can before a session is created (missing, empty, a directory,
text, too many channels) and returns the decoder that fits how the bytes can be read:
libsndfile for a file (it seeks), `wav_stream` for WAV and raw as they arrive, and a
temporary spool file for anything else that arrives through a pipe or a download.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

import requests
import soundfile as sf
import urllib3

from gladia_cli.audio.file_decoders import (
    Decoder,
    SoundFileDecoder,
    StreamDecoder,
    libsndfile_reason,
    stream_error_reason,
    truncated,
)
from gladia_cli.audio.raw_format import RawFormat
from gladia_cli.audio.wav_stream import (
    Read,
    WavError,
    WavStreamReader,
    parse_wav_header,
    read_exact,
    wav_file_header,
)
from gladia_cli.errors import AudioInputError
from gladia_cli.protocol.audio_format import MAX_CHANNELS

STDIN_NAME = "standard input"
_SPOOL_CHUNK = 1 << 16
_SF_COUNT_MAX = 2**63 - 1  # libsndfile's frame count for "length unknown"
_NETWORK_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    requests.RequestException,
    urllib3.exceptions.HTTPError,
)
_SUPPORTED_HINT = (
    "gladia reads WAV, FLAC, OGG (Vorbis, Opus), MP3, AIFF, AU, CAF and other libsndfile "
    "formats; convert anything else first, e.g. `ffmpeg -i INPUT -ar 16000 out.wav`"
)


@dataclass
class OpenedInput:
    decoder: Decoder
    description: str
    duration: float | None
    path: Path | None = None  # a file libsndfile reads (and can read ahead), if any


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


def open_path(spec: str, raw: RawFormat | None, resources: contextlib.ExitStack) -> OpenedInput:
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
        return OpenedInput(StreamDecoder(reader, spec, None), path.name, frames / raw.sample_rate)
    return _open_soundfile(path, spec, path.name, resources, command_input=spec)


def _open_soundfile(
    path: Path,
    name: str,
    description: str,
    resources: contextlib.ExitStack,
    *,
    command_input: str = "INPUT",
) -> OpenedInput:
    try:
        file = resources.enter_context(sf.SoundFile(str(path)))
    except (sf.SoundFileError, RuntimeError) as exc:
        reason = "it is a text file" if _looks_like_text(path) else libsndfile_reason(exc)
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
    decoder = SoundFileDecoder(path, file, name, promised=promised, slack=slack)
    duration = None if promised is None else file.frames / file.samplerate
    return OpenedInput(decoder, description, duration, path)


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


def truncation(path: Path, name: str) -> AudioInputError | None:
    """Whether a file is cut short, told from its header without decoding it (WAV only; None
    for a whole file, or one libsndfile cannot open: the upload says what that is)."""
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError):
        return None
    promised = _promised_frames(path, info)
    if promised is None or promised <= info.frames or info.samplerate <= 0:
        return None
    found = truncated(name, promised / info.samplerate, info.frames / info.samplerate, None)
    found.hint = (
        "the file was cut short (an interrupted copy, download or recording): transcribe a "
        "complete copy, or stream what there is with: gladia file " + shlex.quote(name)
    )
    return found


def open_stdin(
    stdin: BinaryIO, is_terminal: bool, raw: RawFormat | None, resources: contextlib.ExitStack
) -> OpenedInput:
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
) -> OpenedInput:
    """Standard input, a pipe or a download: raw and WAV are decoded as they arrive,
    anything else is spooled to a temporary file first."""
    if raw is not None:
        reader = WavStreamReader(read, raw.wav_format, None, errors=errors)
        return OpenedInput(StreamDecoder(reader, name, None), description, None)
    try:
        head = read_exact(read, 12)
    except errors as exc:
        raise AudioInputError(f"reading {name} failed: {stream_error_reason(exc)}") from None
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
            raise AudioInputError(f"reading {name} failed: {stream_error_reason(exc)}") from None
        fmt = header.format
        if fmt.decodable:
            stream.recording = None
            _check_channels(name, fmt.channels)
            reader = WavStreamReader(stream.read, fmt, header.data_size, errors=errors)
            frames = header.frames
            duration = None if frames is None else frames / fmt.sample_rate
            return OpenedInput(StreamDecoder(reader, name, frames), description, duration)
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
                f"reading {name} failed: {stream_error_reason(exc)}",
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


def open_url(
    url: str, raw: RawFormat | None, timeout: float, resources: contextlib.ExitStack
) -> OpenedInput:
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
