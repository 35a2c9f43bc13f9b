"""`gladia mix`: several sources as one multi-channel stream, channel i = source i.

A source is a file (anything `gladia file` reads, `-` for standard input), a microphone:
`mic` (the default input), `mic:2` (device index 2) or `mic:USB` (the device whose name holds
"USB"), or the computer's own sound: `system` (audio/monitors.py), recorded as a microphone.
Only an argument that is exactly `mic` or `system`, or starts with `mic:` or `system:`, is a
device; a file with such a name is given with a directory, e.g. `./mic:2`.

Every source becomes one channel: a multi-channel file is down-mixed to mono (the mean of its
channels), every track is brought to one rate (`--sample-rate`, else the highest rate among
the sources that the API accepts) with soxr, and a track that ends early is padded with
silence until the longest ends. Channels are interleaved with numpy (`interleave`), a strided
copy per channel, never a Python loop per sample.

Who sets the pace: with files only, the mix is read as fast as the job asks (`--pace` applies).
With a microphone, the first microphone is the master clock: a block is mixed each time it
delivers one, files are read at that pace (and are silence once they end), `--pace` does
not apply, and the mix goes on until Ctrl-C.

Secondary microphones are kept in step with the master by a `DriftCompensator`
(audio/drift.py: why two devices drift, and how it is corrected).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from gladia_cli.audio.blocks import FrameFifo, RateConverter
from gladia_cli.audio.drift import REALIGN_SECONDS, DriftCompensator
from gladia_cli.audio.mic_source import CALLBACK_SECONDS
from gladia_cli.audio.monitors import is_system_spec
from gladia_cli.audio.source import (
    AudioSource,
    Int16Block,
    LiveCapture,
    Mono,
    PcmFormat,
    check_send_rate,
)
from gladia_cli.errors import AudioInputError, UsageError
from gladia_cli.protocol.audio_format import MAX_CHANNELS, SAMPLE_RATES

MIC_PREFIX = "mic"
SECONDARY_WAIT_SECONDS = 0.1  # how long a mixed block waits for a secondary microphone


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
    """`mic`, `mic:2` and `mic:NAME` are microphones, `system` and `system:NAME` the
    computer's sound; everything else is a file."""
    if text == MIC_PREFIX:
        return SourceSpec(text, MIC_PREFIX)
    if is_system_spec(text):
        return SourceSpec(text, text)
    if text.startswith(MIC_PREFIX + ":"):
        device = text[len(MIC_PREFIX) + 1 :].strip()
        if not device:
            raise UsageError(
                f"{text!r} names no device",
                hint="use mic (the default input), mic:INDEX or mic:NAME; ./mic: for a file",
            )
        return SourceSpec(text, device)
    return SourceSpec(text, None)


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

    def __init__(self, mic: LiveCapture, rate: int) -> None:
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
        return any(s.capture is not None for s in self._sources)

    @property
    def format(self) -> PcmFormat:
        return self._format

    @property
    def capture(self) -> LiveCapture | None:
        return None  # a mix is not mixed again

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
        captures = {i: s.capture for i, s in enumerate(self._sources) if s.capture is not None}
        master_index = min(captures)
        master_source, master = self._sources[master_index], captures[master_index]
        scale = self._rate / master.device_rate
        files: dict[int, _FileTrack] = {}
        mic_tracks: dict[int, _MicTrack] = {}
        for index, source in enumerate(self._sources):
            capture = captures.get(index)
            if capture is None:
                files[index] = _FileTrack(source, self._rate)
            elif index != master_index:
                mic_tracks[index] = _MicTrack(capture, self._rate)
        self._mic_tracks = mic_tracks  # one assignment: take_warnings reads it meanwhile
        mixed = 0
        lost: AudioInputError | None = None
        for block in master_source.blocks(frames):
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
    from gladia_cli.audio.devices import find_device, list_input_devices, load_sounddevice
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
                device = find_device(spec.device, available)
                devices[index] = device
                labels[index] = device.label
                rate = device.default_rate
                rates.append(rate if rate in SAMPLE_RATES else FALLBACK_RATE)
        rate = sample_rate or max(rates)
        for index, _ in mic_specs:
            opened[index] = open_mic_source(devices[index], sample_rate=rate)
        for index, source in opened.items():
            if source.capture is None and source.format.sample_rate != rate:
                notes.append(
                    f"{parsed[index].text}: resampled from {source.format.sample_rate} to {rate} Hz"
                )
        mix = MixSource([opened[i] for i in range(len(parsed))], sample_rate=rate, labels=labels)
    except BaseException:
        for source in opened.values():
            source.close()
        raise
    return OpenedMix(mix, notes)
