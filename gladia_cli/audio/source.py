"""What every audio source gives the streamer: int16 PCM blocks in one fixed format."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from gladia_cli.errors import UsageError
from gladia_cli.protocol.audio_format import (
    MAX_CHANNELS,
    MAX_INPUT_RATE,
    MIN_INPUT_RATE,
    SAMPLE_RATES,
)

Int16Block = npt.NDArray[np.int16]  # shape (frames, channels)
Mono = npt.NDArray[np.int16]  # shape (frames,)


def check_send_rate(rate: int | None) -> None:
    """A rate asked for (`--sample-rate`, a config file) must be one the live API takes."""
    if rate is not None and rate not in SAMPLE_RATES:
        raise UsageError(
            f"cannot send audio at {rate} Hz",
            hint="the live API takes " + ", ".join(map(str, SAMPLE_RATES)) + " Hz",
        )


def check_channels(option: str, channels: int) -> None:
    """A channel count asked for (`--channels`, `--raw-channels`) must fit one session."""
    if not 1 <= channels <= MAX_CHANNELS:
        raise UsageError(
            f"invalid {option} {channels}",
            hint=f"Gladia takes 1 to {MAX_CHANNELS} channels per session",
        )


def check_input_rate(option: str, rate: int, hint: str) -> None:
    """The rate an input is said to run at (`--device-rate`, `--raw-rate`) must be plausible."""
    if not MIN_INPUT_RATE <= rate <= MAX_INPUT_RATE:
        raise UsageError(f"invalid {option} {rate}", hint=hint)


@dataclass(frozen=True)
class PcmFormat:
    sample_rate: int
    channels: int


class LiveCapture(Protocol):
    """A device recording at its own pace (a microphone), as `gladia mix` reads it: how far
    it has captured at a given moment, and what it delivered, without blocking."""

    @property
    def device_rate(self) -> int: ...

    def captured_by(self, when: float) -> float:
        """Frames (at `device_rate`) captured by the monotonic time `when`."""
        ...

    def read_available(self, wait: float = 0.0) -> Int16Block:
        """What arrived since the last read; waits up to `wait` s if nothing has."""
        ...


class AudioSource(Protocol):
    """A source of interleaved int16 audio.

    `blocks` yields arrays of shape (n, channels), n ≤ `frames` (only the last may be
    shorter). A problem found only at the end (a truncated file, a lost device) is raised
    after every readable block was yielded, so what was read is still sent and transcribed.
    `stop` may be called from another thread (Ctrl-C): `blocks` then ends soon, cleanly.
    """

    @property
    def format(self) -> PcmFormat: ...

    @property
    def labels(self) -> list[str] | None:
        """Default channel labels (`mix` uses the file names), or None."""
        ...

    @property
    def capture(self) -> LiveCapture | None:
        """The live device behind the source (it sets the pace and has no end), or None
        for a source read on demand (a file)."""
        ...

    @property
    def duration(self) -> float | None:
        """Seconds of audio when known in advance (for progress), else None."""
        ...

    @property
    def description(self) -> str:
        """A few words for messages: the file name, the device name."""
        ...

    def blocks(self, frames: int) -> Iterator[Int16Block]: ...

    def take_warnings(self) -> list[str]:
        """Problems met since the last call (e.g. audio overflows), for the user; thread-safe.
        The job polls this a few times a second and prints each on stderr."""
        ...

    def stop(self) -> None: ...

    def close(self) -> None: ...
