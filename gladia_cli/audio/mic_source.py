"""Microphones as AudioSources, for `gladia live` and for `gladia mix`.

PortAudio calls `_callback` on its own thread every 20 ms (a little less when that fits the
chunks sent better: `callback_frames`). The callback only copies the block
into a bounded queue: it never waits, so a slow network or a busy main thread cannot make the
device overrun. When the queue is full (about 30 s of audio not yet sent) the block is dropped
and counted; so are the device's own overflows (PortAudio's `input_overflow` flag). Both reach
the user through `take_warnings`: audio is never lost silently.

Capture starts when the source is opened, before the session is created, so the words said
right after pressing Enter are queued and sent once the connection is up.

Rates: the device records at its default rate (or `device_rate`); that rate is sent when the
live API accepts it (8000, 16000, 32000, 44100, 48000 Hz), otherwise the audio is resampled to
16 kHz with soxr (or to whatever `sample_rate` asks for).

Ending: `stop()` (Ctrl-C, from any thread) only sets a flag. The next callback queues its block
and returns `CallbackStop`, so everything captured before the stop is still yielded, then
`blocks()` ends. A stream that ends without being asked (the microphone was unplugged, its
sound server died) or that delivers nothing for `stall_seconds` is a lost device: what was
captured is yielded first, then `blocks()` raises AudioInputError.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import numpy as np

from gladia_cli.audio.blocks import FrameFifo, RateConverter
from gladia_cli.audio.devices import (
    InputDevice,
    find_device,
    list_input_devices,
    load_sounddevice,
    opening,
    portaudio_failure,
)
from gladia_cli.audio.source import (
    Int16Block,
    LiveCapture,
    PcmFormat,
    check_channels,
    check_input_rate,
    check_send_rate,
)
from gladia_cli.errors import AudioInputError
from gladia_cli.protocol.audio_format import SAMPLE_RATES

CALLBACK_SECONDS = 0.02  # PortAudio block: the queue's granularity and the added latency
QUEUE_SECONDS = 30.0  # audio held while the network is slower than the microphone
STALL_SECONDS = 5.0  # no audio for this long from a running stream: the device is lost
STOP_GRACE_SECONDS = 0.5  # wait this long for the last callback after stop()
FALLBACK_RATE = 16000
ORIGIN_WINDOW_SECONDS = 2.0  # the device clock's origin is the earliest estimate this recent
_POLL_SECONDS = 0.05
MIN_CALLBACK_SECONDS = 0.005  # smaller blocks only to fit a chunk: not below this


def callback_frames(device_rate: int, chunk_seconds: float | None = None) -> int:
    """PortAudio's block: about `CALLBACK_SECONDS`, or a little less so that it divides the
    chunk sent per frame. A chunk is then complete the moment a callback delivers its last
    frame: 50 ms chunks from 20 ms blocks would wait 10 ms more for every other chunk."""
    default = max(1, round(device_rate * CALLBACK_SECONDS))
    if chunk_seconds is None:
        return default
    chunk = round(device_rate * chunk_seconds)
    smallest = max(1, round(device_rate * MIN_CALLBACK_SECONDS))
    if chunk < 1:
        return default
    for count in range(-(-chunk // default), chunk // smallest + 1):
        if chunk % count == 0:
            return chunk // count
    return default


class MicSource:
    """One input device as an AudioSource; see the module docstring. Create with
    `open_mic_source`, which checks the device and settings before anything is billed."""

    def __init__(
        self,
        sd: ModuleType,
        device: InputDevice,
        *,
        channels: int,
        device_rate: int,
        sample_rate: int,
        queue_seconds: float = QUEUE_SECONDS,
        stall_seconds: float = STALL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        chunk_seconds: float | None = None,  # what the job sends per frame
    ) -> None:
        self._sd = sd
        self.device = device
        self.device_rate = device_rate
        self._format = PcmFormat(sample_rate, channels)
        self._block = callback_frames(device_rate, chunk_seconds)
        self._queue: queue.Queue[Int16Block] = queue.Queue(
            maxsize=max(2, round(queue_seconds * device_rate / self._block))
        )
        self._converter = RateConverter(device_rate, sample_rate, channels)
        self._stall_seconds = stall_seconds
        self._clock = clock
        self._stop_requested = threading.Event()
        self._stop_time = 0.0
        self._finished = threading.Event()
        self._close_lock = threading.Lock()
        self._closed = False
        self._started = False
        # Written only by the callback (one writer each), read by the consumer.
        self._position: tuple[int, float] = (0, 0.0)  # (frames captured, monotonic time)
        # (window start, earliest origin in the previous window, in this one): see origin().
        self._origins: tuple[float, float, float] | None = None
        self._dropped_frames = 0
        self._device_overflows = 0
        # Written only by the consumer.
        self._reported_dropped = 0
        self._reported_overflows = 0
        self._lost: AudioInputError | None = None
        with opening(device):
            self._stream = sd.InputStream(
                device=device.index,
                channels=channels,
                samplerate=device_rate,
                dtype="int16",
                blocksize=self._block,
                callback=self._callback,
                finished_callback=self._finished.set,
            )

    # --- PortAudio's thread -------------------------------------------------------------

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status.input_overflow:
            self._device_overflows += 1
        try:
            self._queue.put_nowait(indata.copy())
        except queue.Full:
            self._dropped_frames += frames
        now = self._clock()
        total = self._position[0] + frames
        self._position = (total, now)
        origin = now - total / self.device_rate  # as if the block were captured just now
        origins = self._origins
        if origins is None:
            self._origins = (now, origin, origin)
        elif now - origins[0] > ORIGIN_WINDOW_SECONDS:
            self._origins = (now, origins[2], origin)
        elif origin < origins[2]:
            self._origins = (origins[0], origins[1], origin)
        if self._stop_requested.is_set():
            raise self._sd.CallbackStop

    # --- AudioSource ----------------------------------------------------------------------

    @property
    def format(self) -> PcmFormat:
        return self._format

    @property
    def capture(self) -> LiveCapture:
        return self

    @property
    def labels(self) -> list[str] | None:
        return None

    @property
    def duration(self) -> float | None:
        return None

    @property
    def description(self) -> str:
        return self.device.description

    def start(self) -> None:
        """Start capturing (open_mic_source does it: audio is queued from then on)."""
        if self._started:
            return
        self._position = (0, self._clock())  # before the first callback can write it
        try:
            self._stream.start()
        except self._sd.PortAudioError as exc:
            raise portaudio_failure(self._sd, exc, f"starting {self.description}") from None
        self._started = True

    def blocks(self, frames: int) -> Iterator[Int16Block]:
        if frames < 1:
            raise ValueError(f"frames must be positive, not {frames}")
        self.start()
        fifo = FrameFifo(self._format.channels)
        for chunk in self._chunks():
            fifo.push(self._converter.convert(chunk))
            while len(fifo) >= frames:
                yield fifo.take(frames)
        fifo.push(self._converter.flush())
        while len(fifo):
            yield fifo.take(frames)
        if self._lost is not None:
            raise self._lost

    def read_available(self, wait: float = 0.0) -> Int16Block:
        """Everything captured and not yet read, at the sent rate, without blocking longer
        than `wait` for the first block (a mixer reads secondary microphones this way).
        Raises the lost-device error once the device is lost and its audio was read."""
        self.start()
        parts: list[Int16Block] = []
        try:
            first = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
        except queue.Empty:
            self._check_health()
            if self._lost is not None:
                raise self._lost from None
        else:
            parts.append(first)
        parts.extend(self._drain())
        if not parts:
            return np.zeros((0, self._format.channels), dtype=np.int16)
        return self._converter.convert(np.concatenate(parts))

    def origin(self) -> float | None:
        """When (time.monotonic) the device captured its first frame, by its own clock, or
        None before its first block: what keeps several devices aligned.

        Each block arrives some latency after it was captured, never before, so every
        arrival gives a bound, `arrival - frames so far / rate`, and the earliest bound of
        the last few seconds is the estimate: immune to jitter and to blocks delivered in
        bursts, and recent enough to follow the device's drift against the system clock."""
        origins = self._origins
        return None if origins is None else min(origins[1], origins[2])

    def captured_by(self, when: float) -> float:
        """Frames (at the device rate) the device has captured by `when`, by its clock."""
        origin = self.origin()
        return 0.0 if origin is None else max(0.0, (when - origin) * self.device_rate)

    def take_warnings(self) -> list[str]:
        warnings = []
        dropped = self._dropped_frames - self._reported_dropped
        if dropped:
            self._reported_dropped += dropped
            warnings.append(
                f"{self.description}: {dropped / self.device_rate:.1f} s of audio dropped: "
                "it was recorded faster than it could be sent (a slow connection?)"
            )
        overflows = self._device_overflows - self._reported_overflows
        if overflows:
            self._reported_overflows += overflows
            warnings.append(
                f"{self.description}: the device overflowed {overflows} time"
                f"{'s' if overflows > 1 else ''} (this computer was too busy to read it in "
                "time); a little audio was lost"
            )
        return warnings

    def stop(self) -> None:
        if not self._stop_requested.is_set():
            self._stop_time = self._clock()
            self._stop_requested.set()

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._stop_requested.set()
        # abort, never stop: Pa_StopStream waits for the device, which may never answer.
        try:
            self._stream.abort(ignore_errors=True)
            self._stream.close(ignore_errors=True)
        except self._sd.PortAudioError:
            pass

    # --- the consumer's side ------------------------------------------------------------

    def _chunks(self) -> Iterator[Int16Block]:
        """Raw blocks in capture order, until stopped, lost (recorded in `_lost`) or stalled."""
        while True:
            try:
                yield self._queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                self._check_health()
                if self._finished.is_set() or self._stopped_waiting() or self._lost is not None:
                    yield from self._drain()  # what came in after the last wait
                    return

    def _drain(self) -> Iterator[Int16Block]:
        while True:
            try:
                chunk = self._queue.get_nowait()
            except queue.Empty:
                return
            yield chunk

    def _stopped_waiting(self) -> bool:
        """Stopped, and the last callback did not come within the grace period."""
        return (
            self._stop_requested.is_set() and self._clock() - self._stop_time > STOP_GRACE_SECONDS
        )

    def _check_health(self) -> None:
        """Record a lost device: the stream ended unasked, or went silent for too long."""
        if self._lost is not None or self._stop_requested.is_set():
            return
        seconds = self._position[0] / self.device_rate
        if self._finished.is_set():
            self._lost = AudioInputError(
                f"lost {self.description} after {seconds:.1f} s of audio",
                hint="it was disconnected or its sound server stopped; the audio captured "
                "before was sent and transcribed",
            )
        elif self._started and self._clock() - self._position[1] > self._stall_seconds:
            self._lost = AudioInputError(
                f"{self.description} stopped delivering audio after {seconds:.1f} s",
                hint="it may be in use by another program or disconnected; the audio "
                "captured before was sent and transcribed",
            )


def open_mic_source(
    spec: str | InputDevice,
    *,
    channels: int = 1,
    device_rate: int | None = None,
    sample_rate: int | None = None,
    queue_seconds: float = QUEUE_SECONDS,
    stall_seconds: float = STALL_SECONDS,
    chunk_seconds: float | None = None,
) -> MicSource:
    """Resolve `spec` (`mic`, an index, part of a name, `system`; or a device already
    found), check that the device can record `channels` at `device_rate` (default: its own
    rate), and start capturing.

    Raises AudioInputError (exit 5) for a missing PortAudio, a missing or unsuitable device,
    and UsageError for settings the live API does not take. The caller must `close()` it.
    """
    check_channels("--channels", channels)
    check_send_rate(sample_rate)
    if device_rate is not None:
        check_input_rate("--device-rate", device_rate, hint="give a rate in Hz")
    sd = load_sounddevice()
    device = spec if isinstance(spec, InputDevice) else find_device(spec, list_input_devices(sd))
    if channels > device.input_channels:
        raise AudioInputError(
            f"{device.name!r} has {device.input_channels} input channel"
            f"{'s' if device.input_channels != 1 else ''}, not {channels}",
            hint=f"use --channels {device.input_channels} or fewer, or another device "
            "(`gladia devices`)",
        )
    rate = device_rate or device.default_rate
    sent_rate = sample_rate or (rate if rate in SAMPLE_RATES else FALLBACK_RATE)
    try:
        with opening(device):
            sd.check_input_settings(
                device=device.index, channels=channels, dtype="int16", samplerate=rate
            )
    except (sd.PortAudioError, ValueError) as exc:
        raise AudioInputError(
            f"{device.name!r} cannot record {channels} channel"
            f"{'s' if channels > 1 else ''} at {rate} Hz: {exc}",
            hint=f"its default rate is {device.default_rate} Hz; try --device-rate "
            f"{device.default_rate} or another device (`gladia devices`)",
        ) from None
    try:
        source = MicSource(
            sd,
            device,
            channels=channels,
            device_rate=rate,
            sample_rate=sent_rate,
            queue_seconds=queue_seconds,
            stall_seconds=stall_seconds,
            chunk_seconds=chunk_seconds,
        )
    except (sd.PortAudioError, ValueError) as exc:
        raise portaudio_failure(sd, exc, f"opening {device.name!r}") from None
    try:
        source.start()
    except BaseException:
        source.close()
        raise
    return source
