"""Audio input devices through PortAudio (the `sounddevice` module), imported on first use.

`sounddevice` loads the PortAudio shared library when it is imported, and on Linux its wheel
does not carry one: importing it on a machine without `libportaudio2` raises OSError. So it
is imported here, lazily, only by the commands that touch a microphone — `gladia file` and
`--help` never need PortAudio — and every PortAudio failure becomes an AudioInputError
(exit 5) with a hint, never a traceback.

A device is named on the command line by `mic` (the default input), an index from
`gladia devices`, or a case-insensitive substring of its name; `system` names the
computer's own sound (audio/monitors.py), a `SystemDevice`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any

from gladia_cli.errors import AudioInputError

DEFAULT_SPEC = "mic"
_SHOWN_NAMES = 5  # devices listed in a "not found" hint
_DEVICES_HINT = "run `gladia devices` to see the input devices"


@dataclass(frozen=True)
class InputDevice:
    """One PortAudio device that can record."""

    index: int
    name: str
    host_api: str
    input_channels: int
    default_rate: int
    is_default: bool

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        """Its channel's name when no --label is given."""
        return self.name

    @property
    def description(self) -> str:
        return f"microphone {self.name!r}"


@dataclass(frozen=True)
class SystemDevice(InputDevice):
    """ALSA's `pulse` device, recording a monitor of the sound server (its name)."""

    monitor: str = ""

    @property
    def label(self) -> str:
        return "system"

    @property
    def description(self) -> str:
        return f"the computer's sound ({self.monitor})"


_PULSE_SOURCE = "PULSE_SOURCE"
_opening = threading.Lock()


@contextlib.contextmanager
def opening(device: InputDevice) -> Iterator[None]:
    """Around PortAudio opening `device`: for a SystemDevice, libpulse's default source is
    its monitor. libpulse reads `PULSE_SOURCE` when ALSA's pulse device connects (when it
    is opened), so it is set only meanwhile; opens are serialised, so that a microphone
    opened at the same moment is not given the monitor."""
    if not isinstance(device, SystemDevice):
        yield
        return
    with _opening:
        previous = os.environ.get(_PULSE_SOURCE)
        os.environ[_PULSE_SOURCE] = device.monitor
        try:
            yield
        finally:
            if previous is None:
                del os.environ[_PULSE_SOURCE]
            else:
                os.environ[_PULSE_SOURCE] = previous


def find_device(spec: str, devices: list[InputDevice]) -> InputDevice:
    """`resolve_device`, and `system` / `system:NAME`: the computer's sound."""
    from gladia_cli.audio.monitors import PULSE_DEVICE, find_monitor, is_system_spec

    if not is_system_spec(spec.strip()):
        return resolve_device(spec, devices)
    monitor = find_monitor(spec.strip())
    pulse = next((d for d in devices if d.name == PULSE_DEVICE), None)
    if pulse is None:
        raise AudioInputError(
            "recording the computer's sound needs ALSA's pulse device, which PortAudio "
            "does not list",
            hint="install ALSA's PulseAudio plugin: sudo apt-get install libasound2-plugins "
            "(it also serves PipeWire)",
        )
    return SystemDevice(
        index=pulse.index,
        name=pulse.name,
        host_api=pulse.host_api,
        input_channels=min(pulse.input_channels, monitor.channels),
        # The pulse device's rate, as a microphone recorded through it: the sound server
        # converts; a mix of the two then needs no resampler (whose delay would put them
        # milliseconds apart).
        default_rate=pulse.default_rate,
        is_default=False,
        monitor=monitor.name,
    )


def load_sounddevice() -> ModuleType:
    """Import sounddevice, turning a missing PortAudio library into an AudioInputError."""
    try:
        import sounddevice
    except OSError as exc:  # sounddevice raises it when it cannot find the library
        raise AudioInputError(
            f"cannot use microphones: the PortAudio library is not available ({exc})",
            hint=_portaudio_install_hint(),
        ) from None
    module: ModuleType = sounddevice
    return module


def _portaudio_install_hint() -> str:
    if sys.platform == "darwin":
        return "install it with `brew install portaudio`"
    return (
        "install PortAudio: `sudo apt-get install libportaudio2` on Debian and Ubuntu "
        "(portaudio on Fedora and Arch); files work without it: `gladia file PATH`"
    )


def portaudio_failure(sd: ModuleType, exc: BaseException, doing: str) -> AudioInputError:
    """A PortAudio error (or a sounddevice ValueError) while `doing` something, for the user."""
    text = str(exc.args[0]) if isinstance(exc, sd.PortAudioError) and exc.args else str(exc)
    return AudioInputError(f"{doing} failed: {text}", hint=_DEVICES_HINT)


def list_input_devices(sd: ModuleType | None = None) -> list[InputDevice]:
    """Every device with at least one input channel, in PortAudio's order."""
    sd = sd or load_sounddevice()
    try:
        devices: list[dict[str, Any]] = list(sd.query_devices())
        host_apis: list[dict[str, Any]] = list(sd.query_hostapis())
        default = _default_input_index(sd)
    except (sd.PortAudioError, ValueError) as exc:
        raise portaudio_failure(sd, exc, "listing audio devices") from None
    return [
        InputDevice(
            index=index,
            name=str(info["name"]),
            host_api=str(host_apis[info["hostapi"]]["name"]),
            input_channels=int(info["max_input_channels"]),
            default_rate=round(float(info["default_samplerate"])),
            is_default=index == default,
        )
        for index, info in enumerate(devices)
        if info["max_input_channels"] > 0
    ]


def _default_input_index(sd: ModuleType) -> int | None:
    """PortAudio's default input device, or None (it says -1 when there is none)."""
    index = sd.default.device[0]  # (input, output); -1 or None: PortAudio's own default
    if isinstance(index, str):  # a user-set default by name; let PortAudio resolve it
        try:
            index = sd.query_devices(index, "input")["index"]
        except (sd.PortAudioError, ValueError):
            return None
    if index is None or int(index) < 0:
        try:
            index = sd.query_hostapis(0)["default_input_device"]
        except (sd.PortAudioError, ValueError, IndexError):
            return None
    return int(index) if index is not None and int(index) >= 0 else None


def no_input_device_error() -> AudioInputError:
    return AudioInputError(
        "no audio input device found",
        hint="connect a microphone, check that your sound server (PulseAudio, PipeWire) is "
        "running and that this user may record; then `gladia devices`",
    )


def resolve_device(spec: str, devices: list[InputDevice]) -> InputDevice:
    """The device `spec` names: `mic` (the default input), an index, or part of a name.

    An exact name wins over substrings; several substring matches are an error (naming
    them), so a recording never silently comes from the wrong microphone.
    """
    if not devices:
        raise no_input_device_error()
    wanted = spec.strip()
    if wanted.lower() in (DEFAULT_SPEC, "default", ""):
        for device in devices:
            if device.is_default:
                return device
        if wanted.lower() == DEFAULT_SPEC:
            return devices[0]  # no default declared: the first input device will do
    if wanted.isdigit():
        for device in devices:
            if device.index == int(wanted):
                return device
        raise _not_found(f"no input device has index {wanted}", devices)
    exact = [d for d in devices if d.name.lower() == wanted.lower()]
    if exact:
        return exact[0]
    matches = [d for d in devices if wanted.lower() in d.name.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = ", ".join(f"{d.index} {d.name!r}" for d in matches[:_SHOWN_NAMES])
        raise AudioInputError(
            f"{len(matches)} input devices match {wanted!r}: {names}",
            hint="give more of the name, or the device's index",
        )
    raise _not_found(f"no input device matches {wanted!r}", devices)


def _not_found(message: str, devices: list[InputDevice]) -> AudioInputError:
    shown = ", ".join(f"{d.index} {d.name!r}" for d in devices[:_SHOWN_NAMES])
    more = f" and {len(devices) - _SHOWN_NAMES} more" if len(devices) > _SHOWN_NAMES else ""
    return AudioInputError(
        message,
        hint=f"available: {shown}{more}; use `mic` for the default, or `gladia devices`",
    )
