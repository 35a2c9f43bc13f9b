"""`system`, the computer's sound (audio/monitors.py, audio/devices.py): which monitor,
through which device, and what is said where it cannot be done. No sound server: pactl's
answers are given, PortAudio is the fake of tests/unit/test_mix.py."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from typing import Any

import pytest

from gladia_cli.audio.devices import InputDevice, SystemDevice, find_device
from gladia_cli.audio.mic_source import open_mic_source
from gladia_cli.audio.mix_source import parse_source_spec
from gladia_cli.audio.monitors import (
    choose_monitor,
    find_monitor,
    list_monitor_sources,
    parse_sources,
)
from gladia_cli.errors import AudioInputError, ExitCode
from tests.unit.test_mix import FakeSoundDevice, _device

# `pactl list short sources` on a laptop with PipeWire: two outputs, a microphone.
SOURCES = (
    "57\talsa_output.pci-0000_00_1f.3.analog-stereo.monitor\tPipeWire\ts32le 2ch 48000Hz\tIDLE\n"
    "58\talsa_input.pci-0000_00_1f.3.analog-stereo\tPipeWire\ts32le 2ch 48000Hz\tRUNNING\n"
    "73\tbluez_output.A0_B1.1.monitor\tPipeWire\ts16le 2ch 44100Hz\tSUSPENDED\n"
)
INFO = "Server Name: PulseAudio (on PipeWire 1.0.5)\nDefault Sink: bluez_output.A0_B1.1\n"
SPEAKERS = "alsa_output.pci-0000_00_1f.3.analog-stereo.monitor"
HEADSET = "bluez_output.A0_B1.1.monitor"


def _pactl(info: str = INFO, sources: str = SOURCES, code: int = 0) -> Any:
    def run(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        out = info if list(args) == ["info"] else sources
        return subprocess.CompletedProcess(["pactl", *args], code, out, "Connection refused")

    return run


def _found(name: str) -> str | None:
    return f"/usr/bin/{name}"


def test_the_monitors_are_the_sources_named_monitor_the_default_outputs_marked() -> None:
    monitors = list_monitor_sources(run=_pactl(), which=_found)
    assert [(m.name, m.channels, m.rate, m.is_default) for m in monitors] == [
        (SPEAKERS, 2, 48000, False),
        (HEADSET, 2, 44100, True),
    ]
    assert monitors[1].output == "bluez_output.A0_B1.1"


def test_system_is_the_default_outputs_monitor_and_system_name_another() -> None:
    monitors = parse_sources(SOURCES, "bluez_output.A0_B1.1")
    assert choose_monitor("system", monitors).name == HEADSET
    assert choose_monitor("system:pci", monitors).name == SPEAKERS
    assert choose_monitor("system:" + SPEAKERS, monitors).name == SPEAKERS
    with pytest.raises(AudioInputError, match="2 monitors match 'output'"):
        choose_monitor("system:output", monitors)
    with pytest.raises(AudioInputError, match="no monitor matches 'hdmi'") as caught:
        choose_monitor("system:hdmi", monitors)
    assert SPEAKERS in (caught.value.hint or "")
    with pytest.raises(AudioInputError, match="names no default output"):
        choose_monitor("system", parse_sources(SOURCES, ""))
    with pytest.raises(AudioInputError, match="no output to record"):
        choose_monitor("system", [])


@pytest.mark.parametrize(
    ("platform", "needle", "hint"),
    [
        ("darwin", "macOS cannot record the computer's sound", "BlackHole"),
        ("win32", "Windows cannot record the computer's sound", "Stereo Mix"),
    ],
)
def test_where_it_cannot_be_done_the_error_says_how(platform: str, needle: str, hint: str) -> None:
    with pytest.raises(AudioInputError) as caught:
        find_monitor("system", platform=platform, run=_pactl(), which=_found)
    assert needle in caught.value.message and hint in (caught.value.hint or "")
    assert int(caught.value.exit_code) == int(ExitCode.AUDIO_INPUT) == 5


def test_without_pactl_or_a_sound_server_the_error_says_what_to_do() -> None:
    with pytest.raises(AudioInputError, match="needs pactl") as caught:
        find_monitor("system", platform="linux", run=_pactl(), which=lambda _: None)
    assert "pulseaudio-utils" in (caught.value.hint or "")
    assert "loopback" in (caught.value.hint or "")
    with pytest.raises(AudioInputError, match="no sound server answers") as caught:
        find_monitor("system", platform="linux", run=_pactl(code=1), which=_found)
    assert "snd-aloop" in (caught.value.hint or "")


def _pulse_sd(monkeypatch: pytest.MonkeyPatch, *, with_pulse: bool = True) -> FakeSoundDevice:
    devices = [_device("HDA Intel PCH: ALC257 Analog (hw:0,0)"), _device("default", inputs=32)]
    if with_pulse:  # its rate, not the monitor's (48 kHz): both ends of a mix at one rate
        devices.insert(1, _device("pulse", inputs=32, rate=32000.0))
    sd = FakeSoundDevice(devices, default=2 if with_pulse else 1)
    monkeypatch.setattr("gladia_cli.audio.mic_source.load_sounddevice", lambda: sd)
    monkeypatch.setattr("gladia_cli.audio.devices.load_sounddevice", lambda: sd)
    monkeypatch.setattr(
        "gladia_cli.audio.monitors.find_monitor",
        lambda spec: choose_monitor(
            spec, parse_sources(SOURCES, "alsa_output.pci-0000_00_1f.3.analog-stereo")
        ),
    )
    return sd


def test_system_is_recorded_through_alsas_pulse_device_told_the_monitor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sd = _pulse_sd(monkeypatch)
    seen: list[str | None] = []
    make_stream = sd.InputStream

    def stream(**kwargs: Any) -> Any:
        seen.append(os.environ.get("PULSE_SOURCE"))  # what libpulse reads as it connects
        return make_stream(**kwargs)

    monkeypatch.setattr(sd, "InputStream", stream)
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    mic = open_mic_source("system", sample_rate=16000)
    try:
        assert isinstance(mic.device, SystemDevice)
        assert mic.device.index == 1 and mic.device.monitor == SPEAKERS
        assert mic.device_rate == 32000  # the pulse device's, as for a microphone on it
        assert mic.description == f"the computer's sound ({SPEAKERS})"
        assert mic.device.label == "system"
        assert seen == [SPEAKERS]
        assert "PULSE_SOURCE" not in os.environ  # only while the device was opened
        # A microphone opened after it records the default source, as before.
        other = open_mic_source("mic")
        assert seen == [SPEAKERS, None] and other.device.label == "default"
        other.close()
    finally:
        mic.close()


def test_without_alsas_pulse_device_system_says_which_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _pulse_sd(monkeypatch, with_pulse=False)
    with pytest.raises(AudioInputError, match="ALSA's pulse device") as caught:
        open_mic_source("system")
    assert "libasound2-plugins" in (caught.value.hint or "")


def test_mix_reads_system_as_a_device_and_anything_else_as_a_file() -> None:
    assert parse_source_spec("system").device == "system"
    assert parse_source_spec("system:hdmi").device == "system:hdmi"
    assert parse_source_spec("./system").device is None
    assert parse_source_spec("systems.wav").device is None


def test_find_device_leaves_microphones_alone() -> None:
    devices = [InputDevice(0, "USB mic", "ALSA", 1, 48000, True)]
    assert find_device("usb", devices) == devices[0]
    assert find_device("mic", devices) == devices[0]
