"""Re-blocking and rate conversion of streamed int16 frames, shared by every audio path
(file and microphone sources, the mixer, the local server's recognisers)."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from gladia_cli.audio.source import Int16Block


class FrameFifo:
    """Frames of shape (n, channels) in, any number out: re-blocking without per-frame work."""

    def __init__(self, channels: int) -> None:
        self._channels = channels
        self._parts: deque[Int16Block] = deque()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def push(self, frames: Int16Block) -> None:
        if len(frames):
            self._parts.append(frames)
            self._count += len(frames)

    def take(self, n: int) -> Int16Block:
        """The oldest `n` frames (fewer if fewer are held)."""
        n = min(n, self._count)
        if self._parts and len(self._parts[0]) == n:  # the common case: no copy
            self._count -= n
            return self._parts.popleft()
        taken: list[Int16Block] = []
        missing = n
        while missing:
            head = self._parts[0]
            if len(head) <= missing:
                taken.append(self._parts.popleft())
                missing -= len(head)
            else:
                taken.append(head[:missing])
                self._parts[0] = head[missing:]
                missing = 0
        self._count -= n
        if not taken:
            return np.zeros((0, self._channels), dtype=np.int16)
        return taken[0] if len(taken) == 1 else np.concatenate(taken)

    def drop(self, n: int) -> int:
        """Discard up to `n` of the oldest frames; returns how many were dropped."""
        return len(self.take(n))


class RateConverter:
    """Device rate → sent rate: soxr's streaming resampler, or nothing when they match."""

    def __init__(self, in_rate: int, out_rate: int, channels: int) -> None:
        self._resampler: Any = None
        if in_rate != out_rate:
            import soxr

            self._resampler = soxr.ResampleStream(
                in_rate, out_rate, channels, dtype="int16", quality="HQ"
            )
        self._channels = channels

    def convert(self, frames: Int16Block, *, last: bool = False) -> Int16Block:
        if self._resampler is None:
            return frames
        out: Int16Block = self._resampler.resample_chunk(
            np.ascontiguousarray(frames, dtype=np.int16), last=last
        )
        return out.reshape(-1, self._channels)

    def flush(self) -> Int16Block:
        return self.convert(np.zeros((0, self._channels), dtype=np.int16), last=True)
