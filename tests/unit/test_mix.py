"""Mixing: interleave, down-mix, source specs, drift compensation, MixSource over files, and
MicSource / device resolution over a fake PortAudio (no sound card, no daemon)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf
import soxr

from gladia_cli.audio.blocks import FrameFifo
from gladia_cli.audio.devices import InputDevice, resolve_device
from gladia_cli.audio.drift import DriftCompensator
from gladia_cli.audio.file_source import open_file_source
from gladia_cli.audio.mic_source import MicSource, open_mic_source
from gladia_cli.audio.mix_source import (
    MixSource,
    downmix,
    interleave,
    open_mix_source,
    parse_source_spec,
)
from gladia_cli.errors import AudioInputError, UsageError

Int16s = npt.NDArray[np.int16]


# --------------------------------------------------------------------------- interleave


def test_interleave_puts_track_i_in_channel_i() -> None:
    a = np.array([1, 2, 3], np.int16)
    b = np.array([10, 20, 30], np.int16)
    c = np.array([-1, -2, -3], np.int16)
    assert interleave([a, b, c]).tolist() == [[1, 10, -1], [2, 20, -2], [3, 30, -3]]


def test_interleave_pads_short_tracks_with_silence() -> None:
    out = interleave([np.array([1, 2, 3], np.int16), np.array([7], np.int16)])
    assert out.tolist() == [[1, 7], [2, 0], [3, 0]]
    assert out.dtype == np.int16 and out.flags.c_contiguous


def test_interleave_to_a_given_length_cuts_and_pads() -> None:
    out = interleave([np.arange(5, dtype=np.int16), np.arange(2, dtype=np.int16)], frames=3)
    assert out.tolist() == [[0, 0], [1, 1], [2, 0]]


def test_interleave_matches_numpy_stack_on_large_input() -> None:
    rng = np.random.default_rng(0)
    tracks = [rng.integers(-32768, 32767, 100_003, dtype=np.int16) for _ in range(5)]
    assert np.array_equal(interleave(tracks), np.stack(tracks, axis=1))
    assert interleave(tracks).tobytes() == np.stack(tracks, axis=1).tobytes()


def test_interleave_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError):
        interleave([])


def test_downmix_is_the_rounded_mean_and_cannot_overflow() -> None:
    block = np.array([[32767, 32767], [-32768, -32768], [1, 2], [100, -100]], np.int16)
    assert downmix(block).tolist() == [32767, -32768, 2, 0]
    mono = np.array([[5], [6]], np.int16)
    assert downmix(mono).tolist() == [5, 6]


def test_frame_fifo_reblocks_without_losing_or_reordering() -> None:
    fifo = FrameFifo(2)
    data = np.arange(40, dtype=np.int16).reshape(20, 2)
    for piece in (data[:3], data[3:4], data[4:17], data[17:]):
        fifo.push(piece)
    got = [fifo.take(6) for _ in range(4)]
    assert [len(g) for g in got] == [6, 6, 6, 2]
    assert np.array_equal(np.concatenate(got), data)
    assert len(fifo) == 0 and len(fifo.take(3)) == 0


# ------------------------------------------------------------------------- source specs


@pytest.mark.parametrize(
    ("text", "device"),
    [
        ("mic", "mic"),
        ("mic:2", "2"),
        ("mic:USB Audio", "USB Audio"),
        ("./mic", None),
        ("mic.wav", None),
        ("micro:phone.wav", None),
        ("talks/mic:2", None),
        ("-", None),
    ],
)
def test_only_mic_and_mic_colon_are_microphones(text: str, device: str | None) -> None:
    spec = parse_source_spec(text)
    assert spec.device == device
    assert spec.is_microphone is (device is not None)


def test_mic_colon_with_nothing_after_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="names no device"):
        parse_source_spec("mic:")


# ------------------------------------------------------------------- drift compensation


def _signal(frames: npt.NDArray[np.float64], rate: float) -> Int16s:
    """Low tones as a function of time, so a shifted copy shows its shift."""
    t = frames / rate
    wave = sum(np.sin(2 * np.pi * f * t + p) for f, p in ((97, 0.0), (151, 1.0), (229, 2.0)))
    return np.asarray(np.round(6000 * wave), dtype=np.int16)


def _lag(reference: Int16s, other: Int16s, window: int) -> int:
    """The shift of `other` against `reference` within ±window frames (>0: other is late),
    by FFT cross-correlation."""
    a = reference.astype(np.float64)
    b = other.astype(np.float64)
    n = 1 << (len(a) + len(b)).bit_length()
    xc = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)
    shifts = np.arange(-window, window + 1)
    return int(shifts[np.argmax(xc[shifts % n])])


def _simulate(
    ppm: float, *, seconds: float, start_offset: float = 0.0, rate: int = 16000, seed: int = 1
) -> tuple[Int16s, Int16s, DriftCompensator, list[float], list[float]]:
    """A master device and a secondary one `ppm` faster, both delivering 20 ms chunks with
    up to 10 ms of jitter; the secondary started `start_offset` s after the master.
    Returns (master column, secondary column, compensator, lags, ratios) per block."""
    rng = np.random.default_rng(seed)
    block, chunk = rate // 10, rate // 50
    secondary_rate = rate * (1 + ppm * 1e-6)
    comp = DriftCompensator(rate)
    master, secondary, lags, ratios = [], [], [], []
    delivered = 0  # secondary chunks delivered
    arrival = start_offset + chunk / secondary_rate + rng.uniform(0, 0.01)

    def deliver() -> None:
        nonlocal delivered, arrival
        frames = np.arange(delivered * chunk, (delivered + 1) * chunk, dtype=np.float64)
        # device frame i was captured at start_offset + i / secondary_rate
        comp.push(_signal(frames / secondary_rate * rate + start_offset * rate, rate))
        delivered += 1
        arrival = start_offset + (delivered + 1) * chunk / secondary_rate
        arrival += rng.uniform(0, 0.01)

    for k in range(int(seconds * rate / block)):
        now = (k + 1) * block / rate + 0.005  # the master's block k has arrived
        while arrival <= now:
            deliver()
        # Like the mixer: wait (up to 0.1 s) for enough of the secondary's audio.
        while comp.buffered < comp.input_needed(block) and arrival <= now + 0.1:
            now = arrival
            deliver()
        captured = max(0.0, (now - start_offset) * secondary_rate)
        captured += rng.uniform(-chunk / 2, chunk / 2)  # the mixer's estimate is this rough
        master_pending = now * rate - k * block
        lags.append(comp.lag(captured, master_pending))
        secondary.append(comp.pull(block, captured=captured, master_pending=master_pending))
        ratios.append(comp.ratio)
        master.append(_signal(np.arange(k * block, (k + 1) * block, dtype=np.float64), rate))
    return np.concatenate(master), np.concatenate(secondary), comp, lags, ratios


@pytest.mark.parametrize("start_offset", [0.0, 0.037, 0.25])
def test_a_secondary_device_that_starts_late_is_aligned_from_its_first_audio(
    start_offset: float,
) -> None:
    master, secondary, comp, _, _ = _simulate(0, seconds=20, start_offset=start_offset)
    late = int(start_offset * 16000)
    before = secondary[: max(0, late - 300)]
    assert np.abs(before).max(initial=0) <= 2  # silence until the device started
    # Aligned at once within what the device clocks tell (here ±10 ms of noise)…
    first = slice(late + 1000, late + 3 * 16000)
    assert abs(_lag(master[first], secondary[first], 400)) <= 0.012 * 16000
    # …and the controller removes the rest.
    last = slice(-4 * 16000, None)
    assert abs(_lag(master[last], secondary[last], 400)) <= 16  # 1 ms
    assert comp.realignments == 0 and comp.padded_frames < late + 400
    assert comp.underrun_frames < 400


@pytest.mark.parametrize("ppm", [300, -300, 80])
def test_clock_drift_is_absorbed_by_resampling_not_by_drops(ppm: float) -> None:
    master, secondary, comp, lags, ratios = _simulate(ppm, seconds=90)
    # The resampling ratio converges to the devices' rate ratio…
    steady = np.array(ratios[-300:])  # the last 30 s
    assert abs(steady.mean() - (1 + ppm * 1e-6)) < 30e-6
    # …the channels stay in step (P control leaves ppm × SETTLE_SECONDS: 3 ms at 300 ppm)…
    for start in range(10, 90, 10):
        window = slice(start * 16000, (start + 10) * 16000)
        assert abs(_lag(master[window], secondary[window], 400)) < 0.005 * 16000, start
    assert abs(np.mean(lags[-300:])) < 0.004 * 16000
    # …and nothing was dropped or inserted after the start.
    assert comp.dropped_frames == 0 and comp.realignments == 0
    assert comp.padded_frames + comp.underrun_frames < 300  # the very first block


def test_a_burst_beyond_the_realign_threshold_is_realigned_at_once() -> None:
    rate = 16000
    comp = DriftCompensator(rate)
    tone = _signal(np.arange(rate * 3, dtype=np.float64), rate)
    comp.push(tone[:3200].reshape(-1, 1))
    comp.pull(1600, captured=3200, master_pending=1600)
    # The device jumps 0.5 s ahead (it stalled, then delivered a backlog at once).
    comp.push(tone[3200:].reshape(-1, 1))
    for _ in range(5):
        comp.pull(1600, captured=len(tone), master_pending=1600)
    assert comp.realignments == 1
    assert comp.dropped_frames > 0.3 * rate


# ----------------------------------------------------------------- MixSource over files


def _tone_file(path: Path, rate: int, seconds: float, channels: int, freq: float) -> Path:
    t = np.arange(round(rate * seconds)) / rate
    mono = 0.4 * np.sin(2 * np.pi * freq * t)
    sf.write(path, np.repeat(mono[:, None], channels, axis=1), rate, subtype="PCM_16")
    return path


@pytest.fixture
def three_files(tmp_path: Path) -> list[Path]:
    return [
        _tone_file(tmp_path / "sami.wav", 16000, 1.0, 1, 300),
        _tone_file(tmp_path / "maxime.wav", 32000, 0.5, 1, 500),
        _tone_file(tmp_path / "mark.wav", 8000, 0.75, 2, 700),
    ]


def test_mix_of_files_at_different_rates_lengths_and_channel_counts(
    three_files: list[Path],
) -> None:
    opened = open_mix_source([str(p) for p in three_files])
    mix = opened.source
    try:
        assert mix.format.sample_rate == 32000 and mix.format.channels == 3
        assert mix.labels == ["sami", "maxime", "mark"]
        assert mix.duration == pytest.approx(1.0)
        assert not mix.has_microphone
        assert any("mark.wav has 2 channels" in note for note in opened.notes)
        blocks = list(mix.blocks(3200))
    finally:
        mix.close()
    assert all(len(b) == 3200 for b in blocks[:-1])
    audio = np.concatenate(blocks)
    assert abs(len(audio) - 32000) < 64  # the longest source, at the mix rate
    for channel, (path, freq) in enumerate(zip(three_files, (300, 500, 700), strict=True)):
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        expected = soxr.resample(data[:, 0], rate, 32000)
        got = audio[: len(expected), channel].astype(np.float32) / 32768
        assert np.corrcoef(expected[100:-100], got[100:-100])[0, 1] > 0.999, freq
        assert not audio[len(expected) + 64 :, channel].any()  # padded with silence


def test_mix_rate_can_be_forced(three_files: list[Path]) -> None:
    mix = open_mix_source([str(p) for p in three_files], sample_rate=16000).source
    try:
        audio = np.concatenate(list(mix.blocks(1600)))
    finally:
        mix.close()
    assert mix.format.sample_rate == 16000 and abs(len(audio) - 16000) < 64


def test_stop_ends_a_file_mix_promptly(three_files: list[Path]) -> None:
    mix = open_mix_source([str(p) for p in three_files]).source
    try:
        blocks = mix.blocks(320)
        next(blocks)
        mix.stop()
        rest = list(blocks)
    finally:
        mix.close()
    assert len(rest) <= 2


def test_a_truncated_file_is_mixed_to_its_cut_then_reported(
    tmp_path: Path, three_files: list[Path]
) -> None:
    whole = _tone_file(tmp_path / "cut.wav", 16000, 1.0, 1, 400)
    cut = tmp_path / "short.wav"
    cut.write_bytes(whole.read_bytes()[: 44 + 16000])  # half of it; the header says 1 s
    mix = open_mix_source([str(three_files[0]), str(cut)]).source
    got: list[Int16s] = []
    try:
        with pytest.raises(AudioInputError, match="truncated"):
            for block in mix.blocks(1600):
                got.append(block)
    finally:
        mix.close()
    audio = np.concatenate(got)
    assert len(audio) == 16000  # the whole of the other source
    assert audio[:7900, 1].any() and not audio[8100:, 1].any()


def test_mix_refuses_bad_source_lists(tmp_path: Path, three_files: list[Path]) -> None:
    with pytest.raises(UsageError, match="at most 8"):
        open_mix_source([str(three_files[0])] * 9)
    with pytest.raises(UsageError, match="only one"):
        open_mix_source(["-", "-"])
    with pytest.raises(UsageError, match="22050"):
        open_mix_source([str(three_files[0])], sample_rate=22050)
    with pytest.raises(AudioInputError, match="no such file"):
        open_mix_source([str(three_files[0]), str(tmp_path / "missing.wav")])


def test_mixsource_rejects_too_many_sources(three_files: list[Path]) -> None:
    sources = [open_file_source(str(three_files[0])) for _ in range(9)]
    try:
        with pytest.raises(UsageError):
            MixSource(sources, sample_rate=16000, labels=["x"] * 9)
    finally:
        for source in sources:
            source.close()


# ------------------------------------------------------------------ a fake PortAudio


class FakePortAudioError(Exception):
    pass


class FakeCallbackStop(Exception):  # sounddevice's name
    pass


class FakeStream:
    """Stands in for sounddevice.InputStream: the test plays the device's thread."""

    def __init__(self, *, callback: Callable[..., None], finished_callback: Callable[[], None],
                 channels: int, samplerate: float, blocksize: int, **_: Any) -> None:  # fmt: skip
        self.callback = callback
        self.finished_callback = finished_callback
        self.channels = channels
        self.blocksize = blocksize
        self.started = False
        self.finished = False
        self.closed = False

    def start(self) -> None:
        self.started = True

    def deliver(self, data: Int16s, *, overflow: bool = False) -> None:
        """One callback from the device's thread, as PortAudio makes it."""
        if self.finished:
            return
        status = SimpleNamespace(input_overflow=overflow)
        try:
            self.callback(data.reshape(-1, self.channels), len(data), None, status)
        except FakeCallbackStop:
            self.end()

    def end(self) -> None:
        """The stream finishes (after CallbackStop, or because the device went away)."""
        self.finished = True
        self.finished_callback()

    def abort(self, ignore_errors: bool = True) -> None:
        self.started = False

    def close(self, ignore_errors: bool = True) -> None:
        self.closed = True


class FakeSoundDevice:
    PortAudioError = FakePortAudioError
    CallbackStop = FakeCallbackStop

    def __init__(self, devices: list[dict[str, Any]], default: int = -1) -> None:
        self._devices = devices
        self.default = SimpleNamespace(device=[default, default])
        self.streams: list[FakeStream] = []
        self.refuse: str | None = None

    def query_devices(self) -> list[dict[str, Any]]:
        return self._devices

    def query_hostapis(self, index: int | None = None) -> Any:
        apis = [{"name": "ALSA", "default_input_device": self.default.device[0]}]
        return apis if index is None else apis[index]

    def check_input_settings(self, **settings: Any) -> None:
        if self.refuse:
            raise FakePortAudioError(self.refuse)

    def InputStream(self, **kwargs: Any) -> FakeStream:  # sounddevice's name
        stream = FakeStream(**kwargs)
        self.streams.append(stream)
        return stream


def _device(name: str, inputs: int = 2, rate: float = 48000.0) -> dict[str, Any]:
    return {"name": name, "hostapi": 0, "max_input_channels": inputs, "default_samplerate": rate}


@pytest.fixture
def fake_sd(monkeypatch: pytest.MonkeyPatch) -> FakeSoundDevice:
    sd = FakeSoundDevice(
        [
            _device("HDA Intel PCH: ALC257 Analog (hw:0,0)"),
            _device("HDMI out", inputs=0),
            _device("USB Audio Interface", inputs=4, rate=44100.0),
            _device("Webcam microphone", inputs=1, rate=22050.0),
        ],
        default=0,
    )
    monkeypatch.setattr("gladia_cli.audio.mic_source.load_sounddevice", lambda: sd)
    monkeypatch.setattr("gladia_cli.audio.devices.load_sounddevice", lambda: sd)
    return sd


def _read_in_thread(source: MicSource, frames: int) -> tuple[list[Int16s], list[BaseException],
                                                               threading.Thread]:  # fmt: skip
    got: list[Int16s] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            got.extend(source.blocks(frames))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return got, errors, thread


def test_mic_yields_everything_captured_before_stop_then_ends(fake_sd: FakeSoundDevice) -> None:
    mic = open_mic_source("usb", channels=2, sample_rate=44100)
    stream = fake_sd.streams[0]
    assert stream.started and stream.channels == 2 and stream.blocksize == 882
    sent = np.arange(882 * 2 * 7, dtype=np.int16).reshape(-1, 2)
    got, errors, thread = _read_in_thread(mic, 1000)
    for piece in np.split(sent[: 882 * 6], 6):
        stream.deliver(piece)
    mic.stop()
    stream.deliver(sent[882 * 6 :])  # the callback after the stop: kept, then CallbackStop
    thread.join(5)
    assert not thread.is_alive() and not errors
    assert stream.finished
    assert [len(b) for b in got] == [1000] * 6 + [882 * 7 - 6000]
    assert np.array_equal(np.concatenate(got), sent)
    mic.close()
    assert stream.closed


def test_mic_resamples_a_rate_the_api_does_not_take(fake_sd: FakeSoundDevice) -> None:
    mic = open_mic_source("Webcam")
    assert mic.device_rate == 22050 and mic.format.sample_rate == 16000
    stream = fake_sd.streams[0]
    got, errors, thread = _read_in_thread(mic, 1600)
    tone = (8000 * np.sin(2 * np.pi * 440 * np.arange(22050) / 22050)).astype(np.int16)
    for start in range(0, 22050, 441):
        stream.deliver(tone[start : start + 441])
    mic.stop()
    stream.deliver(np.zeros(441, np.int16))
    thread.join(5)
    assert not errors
    audio = np.concatenate(got)[:, 0]
    assert abs(len(audio) - 16000 - 320) < 40  # 1.02 s at 16 kHz
    expected = soxr.resample(tone.astype(np.float32), 22050, 16000)
    assert np.corrcoef(expected[200:15000], audio[200:15000])[0, 1] > 0.999
    mic.close()


def test_overflows_are_counted_and_reported_never_silent(fake_sd: FakeSoundDevice) -> None:
    mic = open_mic_source("mic", sample_rate=48000, queue_seconds=0.1)  # room for 5 blocks
    stream = fake_sd.streams[0]
    block = np.ones(960, np.int16)
    for _ in range(8):  # nobody reads: three do not fit
        stream.deliver(block)
    stream.deliver(block, overflow=True)  # and the device itself overran once
    warnings = mic.take_warnings()
    assert len(warnings) == 2
    assert "0.1 s of audio dropped" in warnings[0]
    assert "overflowed 1 time" in warnings[1]
    assert mic.take_warnings() == []  # each reported once
    mic.close()


def test_a_lost_device_yields_its_audio_then_raises(fake_sd: FakeSoundDevice) -> None:
    mic = open_mic_source("0")
    stream = fake_sd.streams[0]
    got, errors, thread = _read_in_thread(mic, 4800)
    for _ in range(12):
        stream.deliver(np.full(960, 7, np.int16))
    stream.end()  # unplugged: the stream finishes without being asked
    thread.join(5)
    assert sum(len(b) for b in got) == 960 * 12
    assert len(errors) == 1 and isinstance(errors[0], AudioInputError)
    assert "lost microphone" in errors[0].message and "0.2 s" in errors[0].message
    mic.close()


def test_a_device_that_stops_delivering_is_lost_too(fake_sd: FakeSoundDevice) -> None:
    mic = open_mic_source("mic", stall_seconds=0.3)
    stream = fake_sd.streams[0]
    got, errors, thread = _read_in_thread(mic, 960)
    stream.deliver(np.ones(960, np.int16))
    started = time.monotonic()
    thread.join(5)
    assert time.monotonic() - started < 2
    assert sum(len(b) for b in got) == 960
    assert errors and "stopped delivering audio" in str(errors[0])
    mic.close()


def test_stop_before_any_audio_ends_even_if_no_callback_comes(fake_sd: FakeSoundDevice) -> None:
    mic = open_mic_source("mic")
    mic.stop()
    started = time.monotonic()
    assert list(mic.blocks(960)) == []
    assert time.monotonic() - started < 2
    mic.close()
    mic.close()  # twice is harmless


def test_open_mic_errors(fake_sd: FakeSoundDevice) -> None:
    with pytest.raises(AudioInputError, match="has 1 input channel, not 2") as caught:
        open_mic_source("webcam", channels=2)
    assert caught.value.hint and "--channels 1" in caught.value.hint
    with pytest.raises(AudioInputError, match="no input device matches 'bluetooth'") as caught:
        open_mic_source("bluetooth")
    assert caught.value.hint and "USB Audio Interface" in caught.value.hint
    with pytest.raises(UsageError, match="--channels 9"):
        open_mic_source("mic", channels=9)
    with pytest.raises(UsageError, match="22050"):
        open_mic_source("mic", sample_rate=22050)
    fake_sd.refuse = "Invalid sample rate"
    with pytest.raises(AudioInputError, match="cannot record 1 channel at 12345 Hz"):
        open_mic_source("mic", device_rate=12345)
    assert fake_sd.streams == []


# ------------------------------------------------------------------- device resolution


DEVICES = [
    InputDevice(0, "pulse", "ALSA", 32, 44100, False),
    InputDevice(3, "USB Audio: mic (hw:2,0)", "ALSA", 2, 48000, False),
    InputDevice(4, "USB Audio: line (hw:2,1)", "ALSA", 2, 48000, False),
    InputDevice(7, "default", "ALSA", 32, 44100, True),
]


@pytest.mark.parametrize(
    ("spec", "index"),
    [("mic", 7), ("default", 7), ("3", 3), ("PULSE", 0), ("line", 4), ("usb audio: mic", 3)],
)
def test_resolve_device(spec: str, index: int) -> None:
    assert resolve_device(spec, DEVICES).index == index


def test_resolve_device_refuses_ambiguity_and_unknowns() -> None:
    with pytest.raises(AudioInputError, match="2 input devices match 'usb'"):
        resolve_device("usb", DEVICES)
    with pytest.raises(AudioInputError, match="no input device has index 5"):
        resolve_device("5", DEVICES)
    with pytest.raises(AudioInputError, match="no audio input device found"):
        resolve_device("mic", [])


def test_without_a_declared_default_mic_is_the_first_input() -> None:
    no_default = [InputDevice(2, "only", "ALSA", 1, 16000, False)]
    assert resolve_device("mic", no_default).index == 2
