"""Whether the channels of a recording carry one and the same signal.

A stereo file of one voice (a mono recording saved as stereo, a centred mix) would be
transcribed once per channel — the same words twice, billed twice. `gladia file` sends it
as one channel instead, unless `--multichannel`. Genuinely different channels (one
speaker per channel, as in a 3-track meeting) must stay separate.

The test: every channel is compared with the first by their correlation at lag 0,
    r = Σxy / √(Σx² Σy²),
summed over the audio examined (so loud passages weigh more than near-silence). Channels are
the same signal when r ≥ 0.98 for each of them: identical channels give 1, a gain
difference changes nothing, lossy coding or dither costs a little. Anything else — a
channel silent while another speaks, two microphones a metre apart, a polarity flip (which
a mix-down would cancel) — keeps the channels apart. Digital silence on every channel
proves nothing either way and keeps them apart too.

What is examined, for a file that can be read ahead (`examine_file`): all of it when it
lasts up to `WHOLE_FILE_SECONDS`, else `WINDOWS` windows of `WINDOW_SECONDS` spread evenly
from start to end; reading stops as soon as the channels are clearly different, which for
real multi-track audio is within the first seconds of speech.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from gladia_cli.audio.native_stderr import without_decoder_noise

SAME = 0.98  # minimum correlation of each channel with the first
CLEARLY_DIFFERENT = 0.5  # below this, after DECISIVE_SECONDS of signal, stop reading
DECISIVE_SECONDS = 1.0
SILENCE = 1e-6  # mean power (full scale = 1.0) under which a channel carries nothing (-60 dB)
WHOLE_FILE_SECONDS = 120.0
WINDOWS = 60
WINDOW_SECONDS = 2.0


class ChannelComparison:
    """Accumulates the sums the correlation needs, block by block (float64, vectorised)."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self._xx = 0.0  # Σ x² of the first channel
        self._yy = np.zeros(channels - 1)  # Σ y² of each other channel
        self._xy = np.zeros(channels - 1)
        self._frames = 0
        self._signal_frames = 0  # frames in blocks where some channel was not silent

    def add(self, block: npt.NDArray[np.floating] | npt.NDArray[np.integer]) -> None:
        """`block`: shape (frames, channels), float in [-1, 1] or int16."""
        if len(block) == 0:
            return
        data = block.astype(np.float64)
        if np.issubdtype(block.dtype, np.integer):
            data /= 32768.0
        first, others = data[:, 0], data[:, 1:]
        self._xx += float(first @ first)
        self._yy += np.einsum("ij,ij->j", others, others)
        self._xy += first @ others
        self._frames += len(block)
        if float(np.max(np.mean(data * data, axis=0))) > SILENCE:
            self._signal_frames += len(block)

    def correlations(self) -> list[float]:
        """r of each channel after the first with the first (0 when either is silent)."""
        floor = SILENCE * max(1, self._frames)
        out = []
        for yy, xy in zip(self._yy, self._xy, strict=True):
            if self._xx <= floor or yy <= floor:
                out.append(0.0)
            else:
                out.append(float(xy / math.sqrt(self._xx * yy)))
        return out

    @property
    def same(self) -> bool:
        return self._signal_frames > 0 and all(r >= SAME for r in self.correlations())

    def clearly_different(self, rate: int) -> bool:
        if self._signal_frames < DECISIVE_SECONDS * rate:
            return False
        return min(self.correlations()) < CLEARLY_DIFFERENT


def examine_file(path: Path) -> bool:
    """Whether the channels of the audio file at `path` carry the same signal."""
    with sf.SoundFile(str(path)) as file:
        if file.channels < 2:
            return False
        comparison = ChannelComparison(file.channels)
        rate = file.samplerate
        window = max(1, int(WINDOW_SECONDS * rate))
        length = file.frames if 0 < file.frames < 2**62 else None
        if length is None or length <= WHOLE_FILE_SECONDS * rate:
            starts: list[int | None] = [None] * math.ceil(WHOLE_FILE_SECONDS / WINDOW_SECONDS)
        else:
            step = (length - window) / (WINDOWS - 1)
            starts = [round(i * step) for i in range(WINDOWS)]
        for start in starts:
            if start is not None:
                file.seek(start)
            with without_decoder_noise(file.format == "MP3"):
                block = file.read(window, dtype="float32", always_2d=True)
            comparison.add(block)
            if comparison.clearly_different(rate) or (start is None and len(block) < window):
                break
        return comparison.same
