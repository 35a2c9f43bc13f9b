"""`gladia mix`: several sources as one multi-channel stream, channel i = source i.

A source is a file (anything `gladia file` reads, `-` for standard input) or a microphone:
`mic` (the default input), `mic:2` (device index 2) or `mic:USB` (the device whose name holds
"USB"). Only an argument that is exactly `mic` or starts with `mic:` is a microphone; a file
with such a name is given with a directory, e.g. `./mic:2`.

Every source becomes one channel: a multi-channel file is down-mixed to mono (the mean of its
channels), every track is brought to one rate (`--sample-rate`, else the highest rate among
the sources that the API accepts) with soxr, and a track that ends early is padded with
silence until the longest ends. Channels are interleaved with numpy (`interleave`), a strided
copy per channel, never a Python loop per sample.

Who sets the pace: with files only, the mix is read as fast as the job asks (`--pace` applies).
With a microphone, the first microphone is the master clock: a block is mixed each time it
delivers one, files are read at that pace (and are silence once they end), `--pace` does
not apply, and the mix goes on until Ctrl-C.

Clock drift between microphones. Two devices never run at exactly the same rate: their
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
  six runs out of six: as close as two bare captures of those devices are.
- Beyond ±0.2 s (a device that stalled, then delivered a burst) the compensator realigns at
  once, dropping or padding frames, and says so on stderr; a device that falls behind has its
  gap filled with silence, also reported.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gladia_cli.audio.blocks import FrameFifo, RateConverter
from gladia_cli.audio.mic_source import CALLBACK_SECONDS, MicSource
from gladia_cli.audio.source import AudioSource, Int16Block, PcmFormat, check_send_rate
from gladia_cli.errors import AudioInputError, UsageError
from gladia_cli.protocol.audio_format import MAX_CHANNELS, SAMPLE_RATES

MIC_PREFIX = "mic"
SETTLE_SECONDS = 10.0  # lag / (this) = rate correction: 1 ms of lag → 100 ppm faster
SMOOTHING_SECONDS = 2.0  # the lag is averaged over about this long (callback jitter)
MAX_CORRECTION = 0.005  # ±0.5 %: far beyond crystal tolerances, inaudible as pitch
REALIGN_SECONDS = 0.2  # a smoothed lag beyond this is corrected at once
SECONDARY_WAIT_SECONDS = 0.1  # how long a mixed block waits for a secondary microphone
VR_LOOKAHEAD = 256  # input frames soxr's variable-rate resampler holds back (measured: 240)

Mono = npt.NDArray[np.int16]  # shape (n,)


# ----------------------------------------------------------------------------- pure parts


def interleave(channels: Sequence[npt.NDArray[np.int16]], frames: int | None = None) -> Int16Block:
    """Mono int16 tracks → interleaved frames of shape (frames, len(channels)).

    `frames` defaults to the longest track; shorter tracks are padded with silence. One
    vectorised strided copy per channel: memory speed, whatever the length.
    """
    if not channels:
        raise ValueError("nothing to interleave")
    n = max(len(c) for c in channels) if frames is None else frames
    out = np.empty((n, len(channels)), dtype=np.int16)
    for index, track in enumerate(channels):
        column = np.asarray(track, dtype=np.int16).reshape(-1)[:n]
        out[: len(column), index] = column
        if len(column) < n:
            out[len(column) :, index] = 0
    return out


def downmix(block: Int16Block) -> Mono:
    """(n, channels) → (n,): the mean of the channels, rounded (cannot overflow int16)."""
    if block.shape[1] == 1:
        return block[:, 0]
    mean = block.mean(axis=1, dtype=np.float32)
    mono: Mono = np.rint(mean).astype(np.int16)
    return mono


@dataclass(frozen=True)
class SourceSpec:
    """One `gladia mix` argument: a microphone (`device` is its spec) or a file path."""

    text: str
    device: str | None  # None: a file

    @property
    def is_microphone(self) -> bool:
        return self.device is not None


def parse_source_spec(text: str) -> SourceSpec:
    """`mic`, `mic:2` and `mic:NAME` are microphones; everything else is a file."""
    if text == MIC_PREFIX:
        return SourceSpec(text, MIC_PREFIX)
    if text.startswith(MIC_PREFIX + ":"):
        device = text[len(MIC_PREFIX) + 1 :].strip()
        if not device:
            raise UsageError(
                f"{text!r} names no device",
                hint="use mic (the default input), mic:INDEX or mic:NAME; ./mic: for a file",
            )
        return SourceSpec(text, device)
    return SourceSpec(text, None)


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


# ---------------------------------------------------------------------------------- tracks


class _FileTrack:
    """A file (or standard input) read on demand, down-mixed and resampled to the mix rate."""

    def __init__(self, source: AudioSource, rate: int) -> None:
        self.source = source
        self._converter = RateConverter(source.format.sample_rate, rate, 1)
        self._fifo = FrameFifo(1)
        self._blocks: Iterator[Int16Block] | None = None
        self._rate = rate
        self.ended = False
        self.error: AudioInputError | None = None

    def fill(self, n: int) -> None:
        """Read until `n` frames are ready or the file ends."""
        if self._blocks is None:
            read = max(1, round(n * self.source.format.sample_rate / self._rate))
            self._blocks = self.source.blocks(read)
        while len(self._fifo) < n and not self.ended:
            try:
                block = next(self._blocks)
            except StopIteration:
                self._end()
            except AudioInputError as exc:  # a file cut short: the rest of the mix goes on
                self.error = exc
                self._end()
            else:
                self._fifo.push(self._converter.convert(downmix(block).reshape(-1, 1)))

    def _end(self) -> None:
        self.ended = True
        self._fifo.push(self._converter.flush())

    def take(self, n: int) -> Mono:
        self.fill(n)
        return self._fifo.take(n)[:, 0]


class _MicTrack:
    """A secondary microphone: read without blocking, kept in step with the master."""

    def __init__(self, mic: MicSource, rate: int) -> None:
        self.mic = mic
        self.compensator = DriftCompensator(rate)
        self._scale = rate / mic.device_rate
        self._reported = (0, 0)

    def captured(self, now: float) -> float:
        return self.mic.captured_by(now) * self._scale

    def collect(self, n: int, wait: float) -> None:
        """Take what the device delivered; wait up to `wait` s for enough for `n` frames."""
        deadline = time.monotonic() + wait
        self.compensator.push(self.mic.read_available())
        while self.compensator.buffered < self.compensator.input_needed(n):
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.compensator.push(self.mic.read_available(wait=min(left, CALLBACK_SECONDS)))

    def warnings(self, label: str, rate: int) -> list[str]:
        comp = self.compensator
        now = (comp.underrun_frames, comp.realignments)
        underrun, realigned = (a - b for a, b in zip(now, self._reported, strict=True))
        if realigned:
            self._reported = (self._reported[0], now[1])
            return [
                f"{label}: out of step with the first microphone by over "
                f"{REALIGN_SECONDS:g} s (a stall?); realigned"
            ]
        if underrun >= rate // 10:  # report the gaps that matter, and each once
            self._reported = now
            return [f"{label}: fell behind: {underrun / rate:.1f} s of silence in its place"]
        return []


# ---------------------------------------------------------------------------------- source


class MixSource:
    """Several sources, one channel each; see the module docstring. Owns its sources."""

    def __init__(
        self,
        sources: Sequence[AudioSource],
        *,
        sample_rate: int,
        labels: list[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 1 <= len(sources) <= MAX_CHANNELS:
            raise UsageError(f"mix takes 1 to {MAX_CHANNELS} sources, not {len(sources)}")
        self._sources = list(sources)
        self._rate = sample_rate
        self._labels = labels
        self._clock = clock
        self._format = PcmFormat(sample_rate, len(sources))
        self._stopping = threading.Event()
        self._mic_tracks: dict[int, _MicTrack] = {}
        self._warn_lock = threading.Lock()

    @property
    def has_microphone(self) -> bool:
        return any(isinstance(s, MicSource) for s in self._sources)

    @property
    def format(self) -> PcmFormat:
        return self._format

    @property
    def labels(self) -> list[str] | None:
        return list(self._labels)

    @property
    def duration(self) -> float | None:
        if self.has_microphone:
            return None
        durations = [s.duration for s in self._sources]
        return None if None in durations else max(d for d in durations if d is not None)

    @property
    def description(self) -> str:
        return f"a mix of {len(self._sources)} sources ({', '.join(self._labels)})"

    def blocks(self, frames: int) -> Iterator[Int16Block]:
        if frames < 1:
            raise ValueError(f"frames must be positive, not {frames}")
        if self.has_microphone:
            yield from self._mix_live(frames)
        else:
            yield from self._mix_files(frames)

    def _mix_files(self, frames: int) -> Iterator[Int16Block]:
        tracks = [_FileTrack(source, self._rate) for source in self._sources]
        while not self._stopping.is_set():
            columns = [track.take(frames) for track in tracks]
            n = max(len(c) for c in columns)
            if n == 0:
                break
            yield interleave(columns, n)
        _raise_first(t.error for t in tracks)

    def _mix_live(self, frames: int) -> Iterator[Int16Block]:
        mics = [i for i, s in enumerate(self._sources) if isinstance(s, MicSource)]
        master_index = mics[0]
        master = self._sources[master_index]
        assert isinstance(master, MicSource)
        scale = self._rate / master.device_rate
        files: dict[int, _FileTrack] = {}
        mic_tracks: dict[int, _MicTrack] = {}
        for index, source in enumerate(self._sources):
            if isinstance(source, MicSource):
                if index != master_index:
                    mic_tracks[index] = _MicTrack(source, self._rate)
            else:
                files[index] = _FileTrack(source, self._rate)
        self._mic_tracks = mic_tracks  # one assignment: take_warnings reads it meanwhile
        mixed = 0
        lost: AudioInputError | None = None
        for block in master.blocks(frames):
            n = len(block)
            columns: list[Mono] = [block[:, 0]] * len(self._sources)
            for index, track in files.items():
                columns[index] = track.take(n)
            for index, mic_track in self._mic_tracks.items():
                try:
                    waiting = lost is None and not self._stopping.is_set()
                    mic_track.collect(n, SECONDARY_WAIT_SECONDS if waiting else 0.0)
                except AudioInputError as exc:  # lost: end the mix after the master's tail
                    lost = lost or exc
                    self.stop()
                now = self._clock()
                master_pending = master.captured_by(now) * scale - mixed
                columns[index] = mic_track.compensator.pull(
                    n, captured=mic_track.captured(now), master_pending=master_pending
                )
            mixed += n
            yield interleave(columns, n)
        _raise_first([lost, *(t.error for t in files.values())])

    def take_warnings(self) -> list[str]:
        with self._warn_lock:
            warnings = [w for s in self._sources for w in s.take_warnings()]
            for index, track in list(self._mic_tracks.items()):
                warnings += track.warnings(self._labels[index], self._rate)
            return warnings

    def stop(self) -> None:
        self._stopping.set()
        for source in self._sources:
            source.stop()

    def close(self) -> None:
        for source in self._sources:
            source.close()


def _raise_first(errors: Iterable[AudioInputError | None]) -> None:
    for error in errors:
        if error is not None:
            raise error


# --------------------------------------------------------------------------------- opening


@dataclass
class OpenedMix:
    source: MixSource
    notes: list[str]  # what was done to the sources (down-mixes, resampling), for stderr


def open_mix_source(
    specs: Sequence[str],
    *,
    sample_rate: int | None = None,
    stdin: Any = None,
) -> OpenedMix:
    """Open every source (files first, then microphones, which start recording at once).

    Raises UsageError for a bad list or rate, AudioInputError for a source that cannot be
    read. On error, whatever was opened is closed.
    """
    from gladia_cli.audio.devices import list_input_devices, load_sounddevice, resolve_device
    from gladia_cli.audio.file_source import open_file_source
    from gladia_cli.audio.mic_source import FALLBACK_RATE, open_mic_source

    parsed = [parse_source_spec(text) for text in specs]
    if len(parsed) > MAX_CHANNELS:
        raise UsageError(
            f"{len(parsed)} sources, but Gladia takes at most {MAX_CHANNELS} channels",
            hint=f"mix at most {MAX_CHANNELS} sources",
        )
    if sum(1 for spec in parsed if spec.text == "-") > 1:
        raise UsageError("standard input (-) can be only one of the sources")
    check_send_rate(sample_rate)
    opened: dict[int, AudioSource] = {}
    labels: list[str] = [""] * len(parsed)
    notes: list[str] = []
    try:
        rates: list[int] = []
        for index, spec in enumerate(parsed):
            if spec.device is None:
                track = open_file_source(spec.text, stdin=stdin if spec.text == "-" else None)
                opened[index] = track
                labels[index] = Path(spec.text).stem if spec.text != "-" else "stdin"
                rates.append(track.format.sample_rate)
                if track.format.channels > 1:
                    notes.append(
                        f"{spec.text} has {track.format.channels} channels: mixed down to "
                        f"one for channel {index}"
                    )
        devices = {}
        mic_specs = [(i, s) for i, s in enumerate(parsed) if s.device is not None]
        if mic_specs:
            sd = load_sounddevice()
            available = list_input_devices(sd)
            for index, spec in mic_specs:
                assert spec.device is not None
                device = resolve_device(spec.device, available)
                devices[index] = device
                labels[index] = device.name
                rate = device.default_rate
                rates.append(rate if rate in SAMPLE_RATES else FALLBACK_RATE)
        rate = sample_rate or max(rates)
        for index, _ in mic_specs:
            opened[index] = open_mic_source(str(devices[index].index), sample_rate=rate)
        for index, source in opened.items():
            if not isinstance(source, MicSource) and source.format.sample_rate != rate:
                notes.append(
                    f"{parsed[index].text}: resampled from {source.format.sample_rate} to {rate} Hz"
                )
        mix = MixSource([opened[i] for i in range(len(parsed))], sample_rate=rate, labels=labels)
    except BaseException:
        for source in opened.values():
            source.close()
        raise
    return OpenedMix(mix, notes)
