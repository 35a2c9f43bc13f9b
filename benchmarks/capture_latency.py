"""Capture → frame on the wire: the client's own share of the transcript's lag.

For each chunk size (50, 100, 200 ms) and each source path, one session streams to
`gladia serve --engine scripted` (its own process) over loopback through the real
`LiveStream` (client/stream.py), fed as `gladia file` / `gladia live` feed it: the source's
blocks of one chunk, encoded, `send_audio`. Two timestamps per chunk, on the same monotonic
clock:

- captured: for the file source (`FileSource`, paced at real time by `audio/pacing.py`),
  when the paced iterator hands the block over; for a microphone (`MicSource`), when the
  chunk's FIRST frame entered the device, by the device's clock (its origin estimated from
  the callbacks, as `MicSource.origin` does): the chunk then waits for the rest of its
  audio — that wait is the chunk duration, hence the target;
- on the wire: when the frame holding the chunk's last byte left the socket (the stream's
  `on_sent` hook, called after `send_bytes` returned).

Microphone paths: `mic (callback)` drives the real `MicSource` callback path with a
stand-in for sounddevice whose stream thread calls the callback with blocks of a WAV on a
real-time schedule (no sound card), of the size `gladia live` asks PortAudio for
(`callback_frames`: about 20 ms, dividing the chunk); `mic (pulse)` records a private PulseAudio
virtual microphone through PortAudio and ALSA (tests/mic's recipe), when PortAudio,
pulseaudio and ALSA's pulse plugin are installed (skipped otherwise).

The last column is the processing alone: from the callback that delivered the chunk's
last frame to the wire.

Target (issue 10): p99 ≤ the chunk duration + 5 ms. A miss prints MISSED; only a session
that fails makes the script exit non-zero.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import requests
import soundfile as sf
from _support import (
    ROOT,
    BenchmarkFailure,
    HelpFormatter,
    exit_on_sigterm,
    gladia_server,
    load_note,
    percentile,
    speech_like,
    table,
    temp_dir,
)

from gladia_cli.audio import codecs
from gladia_cli.audio.devices import InputDevice
from gladia_cli.audio.file_source import open_file_source
from gladia_cli.audio.mic_source import MicSource, callback_frames
from gladia_cli.audio.pacing import paced
from gladia_cli.audio.source import Int16Block
from gladia_cli.client.connection import WebSocketClientConnector
from gladia_cli.client.stream import LiveStream
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.resume import ResumeBuffer

RATE = 16000
WIRE = AudioFormat(sample_rate=RATE, channels=1)
CHUNKS_MS = (50, 100, 200)
MARGIN = 0.005  # the target: chunk duration + 5 ms
Clock = Callable[[], float]


class Marks:
    """(end byte offset, time) in stream order, appended from one thread, read after."""

    def __init__(self) -> None:
        self.ends: list[int] = []
        self.times: list[float] = []

    def add(self, end: int, when: float) -> None:
        if not self.ends or end > self.ends[-1]:
            self.ends.append(end)
            self.times.append(when)

    def time_of(self, byte: int) -> float | None:
        """When the mark holding `byte` was made."""
        index = bisect.bisect_right(self.ends, byte)
        return self.times[index] if index < len(self.times) else None


def _session(url: str) -> str:
    body = {
        "encoding": "wav/pcm",
        "bit_depth": 16,
        "sample_rate": RATE,
        "channels": 1,
        "messages_config": {"receive_acknowledgments": True, "receive_partial_transcripts": True},
    }
    response = requests.post(
        f"{url}/v2/live", json=body, headers={"x-gladia-key": "bench"}, timeout=10
    )
    if response.status_code != 201:
        raise BenchmarkFailure(f"POST /v2/live: {response.status_code} {response.text[:200]}")
    return str(response.json()["url"])


def stream_blocks(url: str, blocks: Iterator[Int16Block], seconds: float) -> Marks:
    """Stream `blocks` (each timestamped by its source) for `seconds`; the wire marks."""
    wire = Marks()
    failures: list[str] = []
    stream = LiveStream(
        _session(url),
        fmt=WIRE,
        connect=WebSocketClientConnector(send_timeout=10),
        on_message=lambda message: None,
        notice=failures.append,
        backlog=ResumeBuffer(),
        on_sent=lambda offset, length, now: wire.add(offset + length, now),
    )
    stream.open()
    deadline = time.monotonic() + seconds
    for block in blocks:
        stream.send_audio(codecs.encode(block, WIRE))  # wait=False: as a microphone does
        if time.monotonic() > deadline:
            break
    stream.stop()
    end = stream.wait(60)
    stream.release()
    if end is None or end.error is not None:
        raise BenchmarkFailure(f"the session did not end cleanly: {end and end.error} {failures}")
    return wire


# --- the file source ------------------------------------------------------------------


Delays = tuple[list[float], list[float]]  # from the chunk's start, from its last frame


def file_path(url: str, wav: Path, chunk_ms: int, seconds: float) -> Delays:
    frames = RATE * chunk_ms // 1000
    produced: list[float] = []
    source = open_file_source(str(wav))
    try:

        def timed() -> Iterator[Int16Block]:
            for block in paced(source.blocks(frames), RATE, 1.0):
                produced.append(time.monotonic())
                yield block

        wire = stream_blocks(url, timed(), seconds)
    finally:
        source.close()
    chunk_bytes = frames * WIRE.frame_bytes
    delays = []
    for index, started in enumerate(produced):
        sent = wire.time_of((index + 1) * chunk_bytes - 1)
        if sent is not None:
            delays.append(sent - started)
    return delays, delays  # a file's block is whole when it is handed over


# --- microphones ----------------------------------------------------------------------


class TimedMicSource(MicSource):
    """The real source, with the time of each callback noted before it runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._starts: list[int] = []  # frames before each callback's block
        self._ends: list[int] = []
        self._times: list[float] = []  # when each callback ran
        super().__init__(*args, **kwargs)

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        start = self._ends[-1] if self._ends else 0
        self._starts.append(start)
        self._ends.append(start + frames)
        self._times.append(time.monotonic())
        super()._callback(indata, frames, time_info, status)

    def delivered(self, frame: int) -> float | None:
        """When the callback that delivered frame `frame` ran."""
        index = bisect.bisect_right(self._starts, frame) - 1
        return self._times[index] if 0 <= index < len(self._times) else None

    def captured(self, frame: int) -> float | None:
        """When frame `frame` entered the device, by the device's clock: every callback
        runs after its block's last frame was captured, never before, so the earliest
        `callback time - frames so far / rate` of the run is the clock's origin (as
        `MicSource.origin` reckons it), free of the delivery jitter of single callbacks."""
        if not self._times:
            return None
        origin = min(
            t - end / self.device_rate for t, end in zip(self._times, self._ends, strict=True)
        )
        return origin + frame / self.device_rate


class _CallbackStop(Exception):
    pass


class _PortAudioError(Exception):
    pass


class _StandInStream:
    """What `sd.InputStream` does for MicSource: a thread calls `callback` with one block
    every `blocksize / samplerate` seconds, on a schedule kept from the start (no drift),
    looping over the audio given."""

    def __init__(self, audio: npt.NDArray[np.int16], **kwargs: Any) -> None:
        self._audio = audio.reshape(-1, 1)
        self._block = int(kwargs["blocksize"])
        self._rate = float(kwargs["samplerate"])
        self._callback = kwargs["callback"]
        self._finished = kwargs["finished_callback"]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        status = SimpleNamespace(input_overflow=False)
        start, sent = time.monotonic(), 0
        try:
            while not self._stop.is_set():
                due = start + (sent + self._block) / self._rate  # the block is complete
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                at = sent % (len(self._audio) - self._block)
                self._callback(self._audio[at : at + self._block], self._block, None, status)
                sent += self._block
        except _CallbackStop:
            pass
        finally:
            self._finished()

    def abort(self, ignore_errors: bool = True) -> None:
        self._stop.set()

    def close(self, ignore_errors: bool = True) -> None:
        self._stop.set()


def _stand_in_sounddevice(audio: npt.NDArray[np.int16]) -> Any:
    return SimpleNamespace(
        InputStream=lambda **kwargs: _StandInStream(audio, **kwargs),
        CallbackStop=_CallbackStop,
        PortAudioError=_PortAudioError,
    )


DEVICE = InputDevice(0, "stand-in", "none", 1, RATE, True)


def mic_path(url: str, source: TimedMicSource, chunk_ms: int, seconds: float) -> Delays:
    frames = RATE * chunk_ms // 1000
    try:
        wire = stream_blocks(url, source.blocks(frames), seconds)
    finally:
        source.close()
    from_start, from_last = [], []
    chunk_bytes = frames * WIRE.frame_bytes
    for index in range(wire.ends[-1] // chunk_bytes if wire.ends else 0):
        first = source.captured(index * frames)
        last = source.delivered((index + 1) * frames - 1)
        sent = wire.time_of((index + 1) * chunk_bytes - 1)
        if first is not None and last is not None and sent is not None:
            from_start.append(sent - first)
            from_last.append(sent - last)
    return from_start, from_last


def stand_in_mic(audio: npt.NDArray[np.int16], chunk_ms: int) -> TimedMicSource:
    return TimedMicSource(
        _stand_in_sounddevice(audio),
        DEVICE,
        channels=1,
        device_rate=RATE,
        sample_rate=RATE,
        chunk_seconds=chunk_ms / 1000,  # as `gladia live` opens it
    )


@contextlib.contextmanager
def pulse_mic() -> Iterator[Callable[[int], TimedMicSource] | str]:
    """A factory of sources on a virtual PulseAudio microphone, or why there is none."""
    sys.path.insert(0, str(ROOT))
    from tests.mic.conftest import _missing_requirement, virtual_mic

    reason = _missing_requirement()
    if reason:
        yield reason
        return
    with virtual_mic() as mic:
        os.environ.update(mic.env)  # PortAudio, loaded below, reaches the private daemon
        from gladia_cli.audio.devices import list_input_devices, load_sounddevice, resolve_device

        sd = load_sounddevice()
        device = resolve_device("mic", list_input_devices(sd))

        def make(chunk_ms: int) -> TimedMicSource:
            source = TimedMicSource(
                sd,
                device,
                channels=1,
                device_rate=RATE,
                sample_rate=RATE,
                chunk_seconds=chunk_ms / 1000,
            )
            source.start()
            return source

        yield make


# --- the report -----------------------------------------------------------------------


def _row(name: str, chunk_ms: int, delays: Delays) -> list[object]:
    from_start, from_last = delays
    if not from_start:
        raise BenchmarkFailure(f"{name}, {chunk_ms} ms: no chunk reached the wire")
    target = chunk_ms / 1000 + MARGIN
    p99 = percentile(from_start, 99)
    ms = [1000 * percentile(from_start, q) for q in (50, 95, 99)]
    verdict = "met" if p99 <= target else "MISSED"
    return [
        name,
        chunk_ms,
        len(from_start),
        *ms,
        1000 * max(from_start),
        chunk_ms + 5,
        verdict,
        1000 * percentile(from_last, 99),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per session")
    parser.add_argument("--chunks", default="50,100,200", help="chunk durations, ms")
    parser.add_argument("--no-pulse", action="store_true", help="skip the virtual microphone")
    args = parser.parse_args()
    exit_on_sigterm()
    chunks = [int(c) for c in args.chunks.split(",")]
    rows: list[list[object]] = []
    notes: list[str] = []
    with temp_dir() as folder, gladia_server("scripted") as server:
        audio = speech_like(args.seconds + 1.0, seed=1)
        wav = folder / "speech.wav"
        sf.write(wav, audio, RATE, subtype="PCM_16")
        for chunk_ms in chunks:
            rows.append(_row("file", chunk_ms, file_path(server.url, wav, chunk_ms, args.seconds)))
            source = stand_in_mic(audio, chunk_ms)
            delays = mic_path(server.url, source, chunk_ms, args.seconds)
            rows.append(_row("mic (callback)", chunk_ms, delays))
        if args.no_pulse:
            notes.append("mic (pulse): skipped (--no-pulse)")
        else:
            with pulse_mic() as pulse:
                if isinstance(pulse, str):
                    notes.append(f"mic (pulse): skipped ({pulse})")
                else:
                    for chunk_ms in chunks:
                        delays = mic_path(server.url, pulse(chunk_ms), chunk_ms, args.seconds)
                        rows.append(_row("mic (pulse)", chunk_ms, delays))
    blocks = ", ".join(
        f"{1000 * callback_frames(RATE, c / 1000) / RATE:g} ms for {c} ms chunks" for c in chunks
    )
    headers = ["source", "chunk ms", "chunks", "p50 ms", "p95 ms", "p99 ms", "max ms"]
    print(table([*headers, "target p99 ms", "p99", "after last frame p99 ms"], rows))
    print()
    print(
        f"captured → frame on the wire, {args.seconds:g} s per session; file: from the paced "
        "block, mic: from the capture of the chunk's first frame (callback blocks of "
        f"{blocks}). {load_note()}"
    )
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchmarkFailure as exc:
        print(f"capture_latency: {exc}", file=sys.stderr)
        sys.exit(1)
