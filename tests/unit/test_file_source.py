"""open_file_source: every input kind, format and failure, on audio generated in tmp_path."""

from __future__ import annotations

import http.server
import io
import os
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from gladia_cli.audio.codecs import float_to_int16
from gladia_cli.audio.file_source import open_file_source
from gladia_cli.audio.raw_format import RawFormat, parse_raw_format
from gladia_cli.audio.source import AudioSource
from gladia_cli.audio.wav_stream import WavError, parse_wav_header
from gladia_cli.errors import AudioInputError, UsageError

BLOCK = 1600  # frames per block asked of every source
Floats = npt.NDArray[np.float32]
Int16s = npt.NDArray[np.int16]


def tones(rate: int, seconds: float, channels: int = 1, amplitude: float = 0.5) -> Floats:
    """A sum of sines per channel, each channel with its own frequencies (so order shows)."""
    t = np.arange(round(rate * seconds)) / rate
    columns = [
        amplitude * 0.5 * (np.sin(2 * np.pi * (300 + 170 * c) * t) + np.sin(2 * np.pi * 1100 * t))
        for c in range(channels)
    ]
    return np.stack(columns, axis=1).astype(np.float32)


def read_all(src: AudioSource, frames: int = BLOCK) -> Int16s:
    blocks = list(src.blocks(frames))
    for block in blocks[:-1]:
        assert block.shape == (frames, src.format.channels)
    for block in blocks:
        assert block.dtype == np.int16
    return np.concatenate(blocks)


def read_until_error(src: AudioSource) -> tuple[Int16s, AudioInputError]:
    """Every block yielded before the error that must follow them."""
    got: list[Int16s] = []
    with pytest.raises(AudioInputError) as caught:
        for block in src.blocks(BLOCK):
            got.append(block)
    return np.concatenate(got), caught.value


def read_file(spec: Path | str, **kwargs: Any) -> tuple[AudioSource, Int16s]:
    src = open_file_source(str(spec), **kwargs)
    try:
        return src, read_all(src)
    finally:
        src.close()


def correlation(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    x, y = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    n = min(len(x), len(y))
    return float(np.corrcoef(x[:n], y[:n])[0, 1])


def peak_hz(mono: npt.ArrayLike, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(np.asarray(mono, dtype=np.float64)))
    return float(np.argmax(spectrum) * rate / (2 * (len(spectrum) - 1)))


def wav_bytes(
    samples: bytes,
    *,
    tag: int = 1,
    channels: int = 1,
    rate: int = 16000,
    bits: int = 16,
    data_size: int | None = None,
    riff_size: int | None = None,
    extra_chunks: bytes = b"",
    extensible: bool = False,
) -> bytes:
    """A hand-made WAV, to control what libsndfile-written files never contain."""
    align = channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    if extensible:
        guid = struct.pack("<H", tag) + bytes.fromhex("000000001000800000aa00389b71")
        fmt = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * align, align, bits)
        fmt += struct.pack("<HHI", 22, bits, 0) + guid
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    size = len(samples) if data_size is None else data_size
    body += b"data" + struct.pack("<I", size) + samples
    riff = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", riff) + body


# ------------------------------------------------------------------------------ formats

LOSSLESS = [
    ("WAV", "PCM_24", "wav"),
    ("WAV", "PCM_32", "wav"),
    ("WAV", "FLOAT", "wav"),
    ("WAV", "DOUBLE", "wav"),
    ("FLAC", "PCM_24", "flac"),
]
LOSSY = [
    ("WAV", "ULAW", "wav"),
    ("WAV", "ALAW", "wav"),
    ("OGG", "VORBIS", "ogg"),
    ("OGG", "OPUS", "opus"),
    ("MP3", "MPEG_LAYER_III", "mp3"),
]


@pytest.mark.parametrize(
    "container,subtype,ext", [("WAV", "PCM_16", "wav"), ("FLAC", "PCM_16", "flac")]
)
def test_16_bit_pcm_is_exact(tmp_path: Path, container: str, subtype: str, ext: str) -> None:
    source = float_to_int16(tones(16000, 2.0, channels=2))
    path = tmp_path / f"talk.{ext}"
    sf.write(path, source, 16000, format=container, subtype=subtype)
    src, got = read_file(path)
    assert src.format.sample_rate == 16000
    assert src.format.channels == 2
    assert src.duration == pytest.approx(2.0)
    assert src.description == f"talk.{ext}"
    assert src.labels is None
    np.testing.assert_array_equal(got, source)


@pytest.mark.parametrize("container,subtype,ext", LOSSLESS)
def test_high_resolution_formats_round_to_within_one_step(
    tmp_path: Path, container: str, subtype: str, ext: str
) -> None:
    source = tones(16000, 2.0, channels=2)
    path = tmp_path / f"talk.{ext}"
    sf.write(path, source, 16000, format=container, subtype=subtype)
    src, got = read_file(path)
    assert (src.format.sample_rate, src.format.channels) == (16000, 2)
    assert got.shape == source.shape
    diff = np.abs(got.astype(np.int32) - float_to_int16(source).astype(np.int32))
    assert diff.max() <= 1


@pytest.mark.parametrize("container,subtype,ext", LOSSY)
def test_lossy_formats_are_close_to_the_source(
    tmp_path: Path, container: str, subtype: str, ext: str
) -> None:
    rate = 48000 if subtype == "OPUS" else 16000  # Opus only encodes 8/12/16/24/48 kHz
    source = tones(rate, 2.0, channels=2)
    path = tmp_path / f"talk.{ext}"
    sf.write(path, source, rate, format=container, subtype=subtype)
    src, got = read_file(path)
    assert (src.format.sample_rate, src.format.channels) == (rate, 2)
    assert src.duration == pytest.approx(2.0, abs=0.05)
    assert abs(len(got) - 2 * rate) <= BLOCK
    for channel in range(2):
        assert correlation(got[:, channel], float_to_int16(source[:, channel])) > 0.95


def test_float_beyond_full_scale_clips_instead_of_wrapping(tmp_path: Path) -> None:
    path = tmp_path / "loud.wav"
    sf.write(path, np.array([[1.5], [-1.5], [0.5], [1.0], [-1.0]], np.float32), 16000, "FLOAT")
    _, got = read_file(path)
    assert got[:, 0].tolist() == [32767, -32768, 16384, 32767, -32768]


def test_three_channels_keep_their_order(tmp_path: Path) -> None:
    source = float_to_int16(tones(16000, 1.0, channels=3))
    source[:, 1] //= 4  # distinct levels too, so a swap cannot pass
    path = tmp_path / "meeting.wav"
    sf.write(path, source, 16000, subtype="PCM_16")
    src, got = read_file(path)
    assert src.format.channels == 3
    np.testing.assert_array_equal(got, source)


# -------------------------------------------------------------------------------- rates


def test_accepted_rate_is_kept(tmp_path: Path) -> None:
    source = float_to_int16(tones(44100, 1.5))
    path = tmp_path / "cd.wav"
    sf.write(path, source, 44100, subtype="PCM_16")
    src, got = read_file(path)
    assert src.format.sample_rate == 44100
    np.testing.assert_array_equal(got, source)


@pytest.mark.parametrize("rate", [22050, 11025])
def test_other_rates_are_resampled_to_16k(tmp_path: Path, rate: int) -> None:
    t = np.arange(rate * 3) / rate
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 1000 * t)], 1)
    path = tmp_path / "odd.wav"
    sf.write(path, stereo, rate, subtype="PCM_16")
    src, got = read_file(path)
    assert src.format.sample_rate == 16000
    assert src.format.channels == 2
    assert src.duration == pytest.approx(3.0)
    assert abs(len(got) - 48000) <= BLOCK
    assert peak_hz(got[:, 0], 16000) == pytest.approx(440, abs=2)
    assert peak_hz(got[:, 1], 16000) == pytest.approx(1000, abs=2)
    assert np.abs(got[8000:40000]).max() == pytest.approx(16384, rel=0.02)


def test_target_rate_forces_a_rate(tmp_path: Path) -> None:
    path = tmp_path / "cd.wav"
    sf.write(path, tones(44100, 2.0), 44100, subtype="PCM_16")
    src, got = read_file(path, target_rate=16000)
    assert src.format.sample_rate == 16000
    assert abs(len(got) - 32000) <= BLOCK
    with pytest.raises(UsageError, match="22050"):
        open_file_source(str(path), target_rate=22050)


# --------------------------------------------------------------------- failures at open


def test_too_many_channels(tmp_path: Path) -> None:
    path = tmp_path / "ten.wav"
    sf.write(path, tones(16000, 0.2, channels=10), 16000)
    with pytest.raises(AudioInputError, match="at most 8") as caught:
        open_file_source(str(path))
    assert "remix" in (caught.value.hint or "")


def test_unreadable_inputs_fail_at_open(tmp_path: Path) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("these are meeting notes, not audio\n" * 20)
    whole = io.BytesIO()
    sf.write(whole, tones(16000, 1.0), 16000, format="WAV", subtype="PCM_16")
    (tmp_path / "cut_header.wav").write_bytes(whole.getvalue()[:30])
    (tmp_path / "folder").mkdir()
    cases = {
        "missing.wav": "no such file: ",
        "folder": "is a directory",
        "empty.wav": "is empty",
        "notes.wav": "text file",
        "cut_header.wav": "cannot read",
    }
    for name, expected in cases.items():
        with pytest.raises(AudioInputError) as caught:
            open_file_source(str(tmp_path / name))
        assert expected in caught.value.message, name
        assert caught.value.hint, name
        assert "\n" not in caught.value.message


def test_zero_frames(tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros((0, 1), np.int16), 16000)
    with pytest.raises(AudioInputError, match="no audio"):
        open_file_source(str(path))


# -------------------------------------------------------------------------- truncation


def test_wav_cut_in_its_data_yields_the_readable_part_then_fails(tmp_path: Path) -> None:
    source = float_to_int16(tones(16000, 3.0))
    whole = io.BytesIO()
    sf.write(whole, source, 16000, format="WAV", subtype="PCM_16")
    data = whole.getvalue()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: 44 + 2 * 22_400 + 1])  # 1.4 s and half a sample
    src = open_file_source(str(path))
    try:
        got, error = read_until_error(src)
    finally:
        src.close()
    np.testing.assert_array_equal(got[:, 0], source[:22_400, 0])
    assert error.message == (
        f"{path} is truncated: the header promises 3.0 s, only 1.4 s could be read"
    )


def test_half_an_mp3_yields_the_readable_part_then_fails(tmp_path: Path) -> None:
    whole = tmp_path / "whole.mp3"
    sf.write(whole, tones(16000, 3.0), 16000, format="MP3")
    half = tmp_path / "half.mp3"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    src = open_file_source(str(half))
    try:
        got, error = read_until_error(src)
    finally:
        src.close()
    assert 0.8 * 16000 < len(got) < 2.0 * 16000
    assert "truncated" in error.message
    assert "3.0 s" in error.message


def test_flac_cut_short_yields_what_decodes(tmp_path: Path) -> None:
    whole = tmp_path / "whole.flac"
    sf.write(whole, float_to_int16(tones(16000, 3.0)), 16000, format="FLAC")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    src = open_file_source(str(cut))
    try:
        got, error = read_until_error(src)
    finally:
        src.close()
    assert len(got) >= 16000 // 2
    assert "truncated" in error.message


def test_flac_without_a_length_is_read_to_its_end(tmp_path: Path) -> None:
    """A FLAC written to a pipe has total_samples = 0; libsndfile then fails the read that
    crosses the end instead of returning short, which must not look like truncation."""
    source = float_to_int16(tones(16000, 2.0, channels=2))
    flac = io.BytesIO()
    sf.write(flac, source, 16000, format="FLAC")
    data = bytearray(flac.getvalue())
    assert data[:4] == b"fLaC"
    data[21] &= 0xF0  # STREAMINFO's 36-bit total sample count: low nibble of byte 21…
    data[22:26] = b"\0\0\0\0"  # …and the next four bytes
    path = tmp_path / "piped.flac"
    path.write_bytes(bytes(data))
    src, got = read_file(path)
    assert src.duration is None
    assert len(got) >= len(source) - 1  # libsndfile never yields the very last frame here
    np.testing.assert_array_equal(got, source[: len(got)])


# ------------------------------------------------------------------------ standard input


def test_parse_raw_format() -> None:
    assert parse_raw_format(16000, 2, "S16LE") == RawFormat(16000, 2, "s16le")
    with pytest.raises(UsageError, match="--raw needs --raw-rate:") as missing:
        parse_raw_format(None, 1, "s16le")
    assert missing.value.hint == "for example: --raw s16le --raw-rate 16000 --raw-channels 1"
    with pytest.raises(UsageError, match="--raw needs --raw-rate and --raw-channels"):
        parse_raw_format(None, None, "s16le")
    with pytest.raises(UsageError, match="--raw needs --raw-channels"):
        parse_raw_format(16000, None, "s16le")
    with pytest.raises(UsageError, match="unknown raw sample format"):
        parse_raw_format(16000, 1, "mp3")
    with pytest.raises(UsageError):
        parse_raw_format(16000, 9, "s16le")


def test_stdin_raw_s16le_with_a_partial_last_frame() -> None:
    source = float_to_int16(tones(16000, 1.0, channels=2))
    stdin = io.BytesIO(source.tobytes() + b"\x01\x02\x03")  # 3 bytes: not a whole frame
    src = open_file_source("-", raw=RawFormat(16000, 2, "s16le"), stdin=stdin)
    assert src.description == "standard input"
    assert src.duration is None
    np.testing.assert_array_equal(read_all(src), source)
    src.close()


def test_stdin_raw_f32le_at_another_rate_is_resampled() -> None:
    source = 0.5 * np.sin(2 * np.pi * 700 * np.arange(44100) / 22050)
    stdin = io.BytesIO(source.astype("<f4").tobytes())
    src = open_file_source("-", raw=RawFormat(22050, 1, "f32le"), stdin=stdin)
    got = read_all(src)
    src.close()
    assert src.format.sample_rate == 16000
    assert abs(len(got) - 32000) <= BLOCK
    assert peak_hz(got[:, 0], 16000) == pytest.approx(700, abs=2)


def test_stdin_raw_f32le_is_exact_at_an_accepted_rate() -> None:
    source = tones(8000, 1.0) * 3  # beyond ±1 too: clipped
    stdin = io.BytesIO(source.astype("<f4").tobytes())
    src = open_file_source("-", raw=RawFormat(8000, 1, "f32le"), stdin=stdin)
    np.testing.assert_array_equal(read_all(src), float_to_int16(source))
    src.close()


class _PipeWriter:
    """Writes `first` into a pipe, waits to be released, then writes `rest` and closes."""

    def __init__(self, first: bytes, rest: bytes) -> None:
        read_fd, self._write_fd = os.pipe()
        self.reader: BinaryIO = os.fdopen(read_fd, "rb")
        self.release = threading.Event()
        self.closed = threading.Event()
        self._first, self._rest = first, rest
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with os.fdopen(self._write_fd, "wb", buffering=0) as out:
            out.write(self._first)
            self.release.wait(10)
            out.write(self._rest)
        self.closed.set()

    def finish(self) -> None:
        self.release.set()
        self._thread.join(10)
        self.reader.close()


@pytest.mark.parametrize("container", ["raw", "wav"])
def test_stdin_streams_before_eof(container: str) -> None:
    source = float_to_int16(tones(16000, 1.0))
    pcm = source.tobytes()
    head = b""
    raw = None
    if container == "wav":
        head = wav_bytes(b"", data_size=0xFFFFFFFF, riff_size=0xFFFFFFFF)
    else:
        raw = RawFormat(16000, 1, "s16le")
    pipe = _PipeWriter(head + pcm[: 2 * BLOCK * 2], pcm[2 * BLOCK * 2 :])
    try:
        src = open_file_source("-", raw=raw, stdin=pipe.reader)
        blocks = src.blocks(BLOCK)
        first = next(blocks)
        assert not pipe.closed.is_set()  # the writer is still holding the pipe open
        np.testing.assert_array_equal(first, source[:BLOCK])
        pipe.release.set()
        rest = np.concatenate(list(blocks))
        np.testing.assert_array_equal(np.concatenate([first, rest]), source)
        src.close()
    finally:
        pipe.finish()


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF, 0x7FFFF000, 0x7FFFFF00])
def test_stdin_wav_with_placeholder_sizes_reads_to_eof(placeholder: int) -> None:
    source = float_to_int16(tones(16000, 1.0, channels=2))
    data = wav_bytes(source.tobytes() + b"\x07", channels=2, data_size=placeholder)
    src = open_file_source("-", stdin=io.BytesIO(data))
    assert src.duration is None
    np.testing.assert_array_equal(read_all(src), source)  # no truncation error either
    src.close()


def test_stdin_wav_extensible_float_with_chunks_before_data() -> None:
    source = tones(48000, 0.5, channels=2, amplitude=1.6)
    junk = b"LIST" + struct.pack("<I", 5) + b"INFOx\0" + b"fact" + struct.pack("<I", 4) + b"\0" * 4
    data = wav_bytes(
        source.astype("<f4").tobytes(), tag=3, channels=2, rate=48000, bits=32,
        extra_chunks=junk, extensible=True,
    )  # fmt: skip
    src = open_file_source("-", stdin=io.BytesIO(data))
    assert (src.format.sample_rate, src.format.channels) == (48000, 2)
    assert src.duration == pytest.approx(0.5)
    np.testing.assert_array_equal(read_all(src), float_to_int16(source))
    src.close()


@pytest.mark.parametrize("tag,bits", [(1, 8), (1, 24), (1, 32), (6, 8), (7, 8)])
def test_stdin_wav_encodings_match_libsndfile(tmp_path: Path, tag: int, bits: int) -> None:
    subtype = {(1, 8): "PCM_U8", (1, 24): "PCM_24", (1, 32): "PCM_32", (6, 8): "ALAW"}
    path = tmp_path / "ref.wav"
    sf.write(path, tones(16000, 0.5), 16000, subtype=subtype.get((tag, bits), "ULAW"))
    _, from_file = read_file(path)
    src = open_file_source("-", stdin=io.BytesIO(path.read_bytes()))
    from_stdin = read_all(src)
    src.close()
    # The stream parser truncates 24/32-bit to their top 16 bits; libsndfile rounds.
    diff = np.abs(from_stdin.astype(np.int32) - from_file.astype(np.int32))
    assert diff.max() <= 1


def test_stdin_wav_shorter_than_declared_is_truncated() -> None:
    source = float_to_int16(tones(16000, 1.0))
    data = wav_bytes(source.tobytes(), data_size=2 * 16000 * 2)  # promises 2 s
    src = open_file_source("-", stdin=io.BytesIO(data))
    assert src.duration == pytest.approx(2.0)
    got, error = read_until_error(src)
    src.close()
    np.testing.assert_array_equal(got, source)
    assert "truncated: the header promises 2.0 s, only 1.0 s could be read" in error.message


def test_stdin_wav_stops_at_the_declared_size() -> None:
    source = float_to_int16(tones(16000, 0.5))
    trailing = b"LIST" + struct.pack("<I", 8) + b"INFOabcd"
    src = open_file_source("-", stdin=io.BytesIO(wav_bytes(source.tobytes()) + trailing))
    np.testing.assert_array_equal(read_all(src), source)
    src.close()


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    return spool


def test_stdin_flac_is_spooled_then_read(tmp_path: Path, spool_dir: Path) -> None:
    source = float_to_int16(tones(16000, 1.5, channels=2))
    flac = io.BytesIO()
    sf.write(flac, source, 16000, format="FLAC")
    src = open_file_source("-", stdin=io.BytesIO(flac.getvalue()))
    assert src.duration == pytest.approx(1.5)
    assert len(list(spool_dir.iterdir())) == 1
    np.testing.assert_array_equal(read_all(src), source)
    src.close()
    assert list(spool_dir.iterdir()) == []


def test_stdin_wav_in_an_encoding_the_parser_lacks_is_spooled(spool_dir: Path) -> None:
    adpcm = io.BytesIO()
    source = tones(16000, 1.0)
    sf.write(adpcm, source, 16000, format="WAV", subtype="IMA_ADPCM")
    src = open_file_source("-", stdin=io.BytesIO(adpcm.getvalue()))
    got = read_all(src)
    src.close()
    assert correlation(got, float_to_int16(source)) > 0.95
    assert list(spool_dir.iterdir()) == []


def test_stdin_empty_or_garbage() -> None:
    with pytest.raises(AudioInputError, match="standard input is empty"):
        open_file_source("-", stdin=io.BytesIO(b""))
    with pytest.raises(AudioInputError, match="cannot read standard input as audio"):
        open_file_source("-", stdin=io.BytesIO(b"\x00\x01garbage" * 100))
    with pytest.raises(AudioInputError, match="as WAV"):
        open_file_source("-", stdin=io.BytesIO(b"RIFF\0\0\0\0WAVEdata\0\0\0\0"))


def test_stdin_wav_with_too_many_channels_fails_at_open() -> None:
    data = wav_bytes(b"\0" * 40, channels=10)
    with pytest.raises(AudioInputError, match="10 channels; Gladia takes at most 8"):
        open_file_source("-", stdin=io.BytesIO(data))


def test_named_pipe_is_read_like_stdin(tmp_path: Path) -> None:
    source = float_to_int16(tones(16000, 0.5))
    fifo = tmp_path / "capture.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with fifo.open("wb") as out:  # blocks until the source opens the other end
            out.write(wav_bytes(source.tobytes(), data_size=0xFFFFFFFF))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    src, got = read_file(fifo)
    writer.join(5)
    assert src.description == "capture.fifo"
    np.testing.assert_array_equal(got, source)


def test_parse_wav_header_rejects_non_wav() -> None:
    with pytest.raises(WavError):
        parse_wav_header(io.BytesIO(b"OggS" + b"\0" * 40).read)
    header = parse_wav_header(io.BytesIO(wav_bytes(b"\0" * 64, channels=2)).read)
    assert (header.format.channels, header.data_size, header.data_offset) == (2, 64, 44)


def test_raw_file_path(tmp_path: Path) -> None:
    source = float_to_int16(tones(16000, 1.0))
    path = tmp_path / "capture.pcm"
    path.write_bytes(source.tobytes())
    src, got = read_file(path, raw=RawFormat(16000, 1, "s16le"))
    assert src.duration == pytest.approx(1.0)
    np.testing.assert_array_equal(got, source)


# ---------------------------------------------------------------------------------- URLs


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if not self.path.startswith("/dropped/"):
            super().do_GET()
            return
        # Announces the whole file, sends 60% of it, then drops the connection.
        body = (Path(self.directory) / self.path.removeprefix("/dropped/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) * 6 // 10])
        self.wfile.flush()
        self.close_connection = True


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()

    def handler(*args: Any, **kwargs: Any) -> _QuietHandler:
        return _QuietHandler(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_url_wav_is_streamed(http_root: tuple[Path, str]) -> None:
    root, base = http_root
    source = float_to_int16(tones(16000, 1.0, channels=2))
    sf.write(root / "call.wav", source, 16000, subtype="PCM_16")
    src = open_file_source(f"{base}/call.wav?token=secret")
    assert src.description == "call.wav"
    assert src.duration == pytest.approx(1.0)
    np.testing.assert_array_equal(read_all(src), source)
    src.close()


def test_url_flac_is_downloaded_then_read(http_root: tuple[Path, str], spool_dir: Path) -> None:
    root, base = http_root
    source = float_to_int16(tones(16000, 1.0))
    sf.write(root / "call.flac", source, 16000)
    src = open_file_source(f"{base}/call.flac")
    assert src.description == "call.flac"
    np.testing.assert_array_equal(read_all(src), source)
    src.close()
    assert list(spool_dir.iterdir()) == []


def test_url_download_dropped_midway_yields_what_arrived(http_root: tuple[Path, str]) -> None:
    root, base = http_root
    source = float_to_int16(tones(16000, 2.0))
    sf.write(root / "call.wav", source, 16000, subtype="PCM_16")
    src = open_file_source(f"{base}/dropped/call.wav")
    got, error = read_until_error(src)
    src.close()
    assert len(got) >= 19_000  # 1.2 s arrived (19 191 frames): all of it is yielded
    np.testing.assert_array_equal(got, source[: len(got)])
    assert "truncated: the header promises 2.0 s" in error.message


def test_url_errors(http_root: tuple[Path, str]) -> None:
    _, base = http_root
    with pytest.raises(AudioInputError) as caught:
        open_file_source(f"{base}/missing.wav?sig=secret")
    assert caught.value.message.startswith(f"cannot download {base}/missing.wav: HTTP 404 ")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(AudioInputError, match="connection refused") as caught:
        open_file_source(f"http://127.0.0.1:{port}/a.wav?sig=secret", http_timeout=5)
    assert "secret" not in caught.value.message


# ------------------------------------------------------------------------------ stopping


def test_stop_from_another_thread_ends_iteration(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, tones(16000, 10.0), 16000, subtype="PCM_16")
    src = open_file_source(str(path))
    got: list[int] = []
    failures: list[BaseException] = []
    first = threading.Event()

    def consume() -> None:
        try:
            for block in src.blocks(BLOCK):
                got.append(len(block))
                first.set()
                time.sleep(0.01)  # paced, like the streamer
        except BaseException as exc:
            failures.append(exc)

    worker = threading.Thread(target=consume)
    worker.start()
    assert first.wait(5)
    src.stop()
    worker.join(5)
    assert not worker.is_alive()
    assert failures == []
    assert 1 <= len(got) < 100
    src.close()
    src.close()  # idempotent
