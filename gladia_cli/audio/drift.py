"""Playing a secondary microphone's audio at the master microphone's pace (`gladia mix`).

Two devices never run at exactly the same rate: their
crystals differ by up to ±100 ppm (0.36 s an hour), so a second microphone, read naively,
would slowly fall out of step with the first, its queue growing without bound or running dry.
Each secondary microphone goes through a `DriftCompensator`:

- Alignment: each device's clock is estimated from when its blocks arrive (the earliest
  `arrival - frames / rate` of the last seconds: `MicSource.origin`), so both can say how
  much they had captured at the same instant. From that the compensator computes the lag:
  how much more of the secondary's captured audio is still unplayed than of the master's.
  At the secondary's first audio it drops or pads that many frames, so both channels start
  at the same instant (device latencies are taken to be equal).
- Tracking: the lag, smoothed over `SMOOTHING_SECONDS`, drives a proportional controller that
  sets the ratio of a variable-rate soxr resampler (`vr=True`, changes slewed over one
  block): ratio = 1 + lag / (SETTLE_SECONDS × rate), clamped to ±0.5 %. A drift of ε then
  settles with a residual misalignment of ε × SETTLE_SECONDS (100 ppm → 1 ms), the
  resampling is smooth (no dropped or repeated samples, no clicks), and 100 ppm is
  caught up within seconds. Measured on a simulated device (tests/unit/test_mix.py: 20 ms
  callbacks with up to 10 ms of jitter, clock estimates off by up to ±10 ms): 300 ppm fast or
  slow, the ratio averages 1 ± 0.00032 over the last minute (±90 ppm of jitter from the
  noisy estimates: a 0.009 % pitch wobble, inaudible) and the channels stay 2–3.6 ms apart,
  with nothing dropped or inserted. With two virtual microphones on one PulseAudio daemon
  (one clock) fed the same speech, the two mixed channels came out 0.1 ms or less apart in
  six runs out of six on a quiet machine (as close as two bare captures of those devices
  are), and up to 3.6 ms apart in a whole test suite's run (the first blocks' arrival
  times are what the start is estimated from).
- Beyond ±0.2 s (a device that stalled, then delivered a burst) the compensator realigns at
  once, dropping or padding frames, and says so on stderr; a device that falls behind has its
  gap filled with silence, also reported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gladia_cli.audio.blocks import FrameFifo
from gladia_cli.audio.source import Int16Block, Mono

SETTLE_SECONDS = 10.0  # lag / (this) = rate correction: 1 ms of lag → 100 ppm faster
SMOOTHING_SECONDS = 2.0  # the lag is averaged over about this long (callback jitter)
MAX_CORRECTION = 0.005  # ±0.5 %: far beyond crystal tolerances, inaudible as pitch
REALIGN_SECONDS = 0.2  # a smoothed lag beyond this is corrected at once
VR_LOOKAHEAD = 256  # input frames soxr's variable-rate resampler holds back (measured: 240)


class DriftCompensator:
    """Plays a secondary device's audio at the master's pace (see the module docstring).

    Pure: no threads, no clocks. The mixer pushes what the device delivered and, for every
    master block, pulls exactly as many frames, telling how far each device has captured.
    """

    def __init__(
        self,
        rate: int,
        *,
        settle_seconds: float = SETTLE_SECONDS,
        smoothing_seconds: float = SMOOTHING_SECONDS,
        max_correction: float = MAX_CORRECTION,
        realign_seconds: float = REALIGN_SECONDS,
    ) -> None:
        import soxr

        self._rate = rate
        self._settle = settle_seconds * rate
        self._smoothing = smoothing_seconds * rate
        self._max_correction = max_correction
        self._realign = realign_seconds * rate
        # vr=True: the ratio given at construction is the largest that will be used.
        self._resampler: Any = soxr.ResampleStream(
            1.0 + max_correction, 1.0, 1, dtype="int16", quality="HQ", vr=True
        )
        self._resampler.set_io_ratio(1.0, 1.0)
        self._input = FrameFifo(1)
        self._output = FrameFifo(1)
        # Where output frames come from: each produced frame advances the resampler's input
        # by the ratio then in force (soxr's own delay() under-reports the VR pipeline).
        self._produced = 0.0
        self._fed = 0  # frames given to the resampler
        self._offset = 0  # frames dropped minus silence inserted, before the resampler
        self._smoothed_lag: float | None = None
        self.ratio = 1.0
        self.dropped_frames = 0  # to align or realign
        self.padded_frames = 0  # silence, to align or realign
        self.underrun_frames = 0  # silence for a device that fell behind
        self.realignments = 0

    @property
    def buffered(self) -> int:
        """Input frames waiting."""
        return len(self._input)

    def push(self, frames: Int16Block) -> None:
        self._input.push(frames.reshape(-1, 1))

    def position(self) -> float:
        """Index, in the device's captured audio, of the next frame to be played."""
        return self._produced - len(self._output) * self.ratio + self._offset

    def lag(self, captured: float, master_pending: float) -> float:
        """Frames by which this device's unplayed audio exceeds the master's (> 0: behind)."""
        return (captured - self.position()) - master_pending

    def input_needed(self, n: int) -> int:
        """Input frames the next `pull(n)` needs to find waiting, about."""
        held = self._fed - self._produced  # inside the resampler
        short = max(0, n - len(self._output))
        return max(0, math.ceil(short * self.ratio + VR_LOOKAHEAD - held))

    def pull(self, n: int, *, captured: float, master_pending: float) -> Mono:
        """The `n` frames that go with the master's next block.

        `captured`: frames this device has captured so far (at the mix rate);
        `master_pending`: frames the master has captured that are not yet mixed.
        """
        if self._smoothed_lag is None:
            if not len(self._input):  # the device has not delivered yet: silence
                return np.zeros(n, np.int16)
            self._shift(self.lag(captured, master_pending))  # its first audio: align
            self._smoothed_lag = 0.0
        else:
            lag = self.lag(captured, master_pending)
            alpha = min(1.0, n / self._smoothing)
            self._smoothed_lag += alpha * (lag - self._smoothed_lag)
            if abs(self._smoothed_lag) > self._realign:
                self._shift(lag)
                self._smoothed_lag = 0.0
                self.realignments += 1
        correction = self._smoothed_lag / self._settle
        ratio = 1.0 + max(-self._max_correction, min(self._max_correction, correction))
        if ratio != self.ratio:
            self._resampler.set_io_ratio(ratio, 1.0, n)
            self.ratio = ratio
        for _ in range(8):  # soxr's start-up delay may need a second feed
            short = n - len(self._output)
            if short <= 0:
                break
            want = max(1, math.ceil(short * ratio))
            chunk = self._input.take(want)
            if len(chunk) < want:  # the device fell behind: silence in its place
                self.underrun_frames += want - len(chunk)
                self._offset -= want - len(chunk)
                chunk = np.concatenate([chunk, np.zeros((want - len(chunk), 1), np.int16)])
            produced = self._resampler.resample_chunk(chunk).reshape(-1, 1)
            self._fed += len(chunk)
            self._produced += len(produced) * ratio
            self._output.push(produced)
        out = self._output.take(n)[:, 0]
        if len(out) < n:  # only while soxr fills its pipeline at the very start
            out = np.concatenate([out, np.zeros(n - len(out), np.int16)])
        return out

    def _shift(self, lag: float) -> None:
        """Remove a lag at once: drop frames if behind, insert silence if ahead."""
        frames = round(lag)
        if frames > 0:
            dropped = self._input.drop(frames)
            self.dropped_frames += dropped
            self._offset += dropped
        elif frames < 0:
            rest = self._input.take(len(self._input))
            self._input.push(np.zeros((-frames, 1), np.int16))
            self._input.push(rest)
            self.padded_frames += -frames
            self._offset += frames
