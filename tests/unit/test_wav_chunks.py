"""The RIFF chunk walk, shared by the client's WAV reader and the server's header check."""

from __future__ import annotations

import io
import struct

from gladia_cli.audio.wav import wav_header
from gladia_cli.audio.wav_stream import find_wav_data, parse_wav_header
from gladia_cli.protocol.audio_format import AudioFormat

FMT = AudioFormat(sample_rate=16000, channels=1)


def _with_list_chunk(body: bytes) -> bytes:
    """A header with an odd-sized LIST chunk (padded to even) between `fmt ` and `data`."""
    canonical = wav_header(FMT, 4)
    fmt_end = 12 + 8 + 16
    extra = b"LIST" + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)
    return canonical[:fmt_end] + extra + canonical[fmt_end:]


def test_the_data_offset_is_found_past_other_chunks() -> None:
    assert find_wav_data(wav_header(FMT, 4) + b"\1\2\3\4") == 44
    head = _with_list_chunk(b"abc")
    assert find_wav_data(head + b"\1\2\3\4") == len(head)
    assert parse_wav_header(io.BytesIO(head).read).data_offset == len(head)


def test_no_offset_for_raw_audio_or_a_header_cut_short() -> None:
    assert find_wav_data(b"\0" * 64) is None
    assert find_wav_data(b"RIFF") is None
    head = _with_list_chunk(b"abcd")
    assert find_wav_data(head[:-4]) is None  # ends inside the data chunk's header
    assert find_wav_data(head[:40]) is None  # ends inside the LIST chunk
