"""Conversions between the live API's raw encodings and int16 samples, vectorised with numpy.

The API takes interleaved PCM at 8/16/24/32 bits (8-bit unsigned, as in WAV; the others
signed little-endian) and 8-bit A-law and μ-law (G.711). The client sends what the user
chose; the server decodes whatever a session declared.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from gladia_cli.protocol.audio_format import AudioFormat

Int16Array = npt.NDArray[np.int16]


def _ulaw_table() -> Int16Array:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> Int16Array:
    codes = np.arange(256, dtype=np.int32) ^ 0x55
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(sign != 0, magnitude, -magnitude).astype(np.int16)


ULAW_TO_INT16 = _ulaw_table()
ALAW_TO_INT16 = _alaw_table()


def _encode_by_table(samples: Int16Array, table: Int16Array) -> npt.NDArray[np.uint8]:
    # Nearest code by value: sort the 256 decoded levels once, then binary-search each sample.
    order = np.argsort(table, kind="stable")
    levels = table[order].astype(np.int32)
    x = samples.astype(np.int32).ravel()
    idx = np.clip(np.searchsorted(levels, x), 1, len(levels) - 1)
    nearer_left = (x - levels[idx - 1]) <= (levels[idx] - x)
    best = np.where(nearer_left, idx - 1, idx)
    return order[best].astype(np.uint8).reshape(samples.shape)


def decode(data: bytes, fmt: AudioFormat) -> Int16Array:
    """Raw bytes (whole frames) → int16 array of shape (frames, channels)."""
    if fmt.encoding == "wav/ulaw":
        samples = ULAW_TO_INT16[np.frombuffer(data, dtype=np.uint8)]
    elif fmt.encoding == "wav/alaw":
        samples = ALAW_TO_INT16[np.frombuffer(data, dtype=np.uint8)]
    elif fmt.bit_depth == 16:
        samples = np.frombuffer(data, dtype="<i2").astype(np.int16, copy=False)
    elif fmt.bit_depth == 8:
        samples = ((np.frombuffer(data, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(
            np.int16
        )
    elif fmt.bit_depth == 24:
        raw = np.frombuffer(data, dtype=np.uint8).reshape(-1, 3)
        # The two most significant bytes of each little-endian 24-bit sample form the int16.
        samples = (raw[:, 1].astype(np.uint16) | (raw[:, 2].astype(np.uint16) << 8)).view(np.int16)
    elif fmt.bit_depth == 32:
        samples = (np.frombuffer(data, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise ValueError(f"unsupported bit depth {fmt.bit_depth}")
    frames: Int16Array = samples.reshape(-1, fmt.channels)
    return frames


def encode(samples: Int16Array, fmt: AudioFormat) -> bytes:
    """int16 samples (any shape, interleaved order) → the raw bytes of `fmt`."""
    if fmt.encoding == "wav/ulaw":
        return _encode_by_table(samples, ULAW_TO_INT16).tobytes()
    if fmt.encoding == "wav/alaw":
        return _encode_by_table(samples, ALAW_TO_INT16).tobytes()
    if fmt.bit_depth == 16:
        return samples.astype("<i2", copy=False).tobytes()
    if fmt.bit_depth == 8:
        return ((samples.astype(np.int32) >> 8) + 128).astype(np.uint8).tobytes()
    if fmt.bit_depth == 24:
        wide = samples.astype("<i4").ravel() << 8
        return wide.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    if fmt.bit_depth == 32:
        return (samples.astype("<i4") << 16).tobytes()
    raise ValueError(f"unsupported bit depth {fmt.bit_depth}")


def float_to_int16(samples: npt.NDArray[np.floating]) -> Int16Array:
    """Float samples in [-1, 1] → int16, clipped (float files may hold values beyond ±1)."""
    scaled = np.rint(np.asarray(samples, dtype=np.float32) * 32768.0)
    clipped: Int16Array = np.clip(scaled, -32768, 32767).astype(np.int16)
    return clipped
