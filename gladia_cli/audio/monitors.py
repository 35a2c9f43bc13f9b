"""The computer's own sound as a source: `system` (the monitor of the default output) or
`system:NAME` (a monitor whose name holds NAME), for `gladia live` and `gladia mix`.

On Linux, PulseAudio and PipeWire (through its PulseAudio server) give every output a
*monitor*: a source that records what the output plays. They are found with `pactl`, and
recorded like a microphone, through PortAudio and ALSA's `pulse` device, told which source
to record by `PULSE_SOURCE` while the stream is opened (libpulse reads it when the device
connects; audio/devices.py does that). So a monitor is one more `InputDevice` to the rest of
the code: `gladia mix mic system` keeps the two in step as it keeps two microphones.

Elsewhere there is no monitor to record: macOS and Windows need a loopback device (the
error says which), then recorded as a microphone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gladia_cli.errors import AudioInputError

SYSTEM_SPEC = "system"
MONITOR_SUFFIX = ".monitor"
PULSE_DEVICE = "pulse"  # ALSA's device for the PulseAudio server (libasound2-plugins)

Run = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class MonitorSource:
    """A source of the sound server that records an output."""

    name: str  # e.g. alsa_output.pci-0000_00_1f.3.analog-stereo.monitor
    channels: int
    rate: int
    is_default: bool  # the monitor of the default output

    @property
    def output(self) -> str:
        return self.name.removesuffix(MONITOR_SUFFIX)


def is_system_spec(spec: str) -> bool:
    """`system` or `system:NAME`."""
    return spec == SYSTEM_SPEC or spec.startswith(SYSTEM_SPEC + ":")


def _pactl(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    # LC_ALL=C: `pactl info`'s field names are translated otherwise.
    return subprocess.run(
        ["pactl", *args],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )


def unavailable(platform: str) -> AudioInputError:
    """Where no monitor can be recorded: what to do instead."""
    if platform == "darwin":
        return AudioInputError(
            "macOS cannot record the computer's sound directly",
            hint="install a loopback device (BlackHole, Loopback), make it the output (or a "
            "multi-output with your speakers), then record it: gladia live BlackHole",
        )
    if platform.startswith("win"):
        return AudioInputError(
            "Windows cannot record the computer's sound here directly",
            hint='enable "Stereo Mix" (Sound settings › Recording) or install a virtual cable '
            '(VB-CABLE), then record it: gladia live "Stereo Mix"',
        )
    return AudioInputError(
        f"recording the computer's sound is not supported on {platform}",
        hint="route the output to a loopback device and record it as a microphone (gladia devices)",
    )


def list_monitor_sources(
    *, run: Run = _pactl, which: Callable[[str], str | None] = shutil.which
) -> list[MonitorSource]:
    """The sound server's monitors; AudioInputError (with what to do) when there is no
    PulseAudio or PipeWire to ask."""
    if which("pactl") is None:
        raise AudioInputError(
            "recording the computer's sound needs pactl, to find the output's monitor",
            hint="install it: sudo apt-get install pulseaudio-utils (it also works with "
            "PipeWire); or record an ALSA loopback device (snd-aloop) as a microphone",
        )
    info = run(["info"])
    if info.returncode != 0:
        raise AudioInputError(
            "recording the computer's sound needs PulseAudio or PipeWire, and no sound "
            "server answers",
            hint="start one (PipeWire's pipewire-pulse, or pulseaudio --start), or record an "
            "ALSA loopback device (snd-aloop) as a microphone",
        )
    default_sink = ""
    for line in info.stdout.splitlines():
        field, _, value = line.partition(":")
        if field.strip() == "Default Sink":
            default_sink = value.strip()
    listed = run(["list", "short", "sources"])
    if listed.returncode != 0:
        raise AudioInputError(
            f"could not list the sound server's sources: {listed.stderr.strip() or 'pactl failed'}"
        )
    return parse_sources(listed.stdout, default_sink)


def parse_sources(text: str, default_sink: str) -> list[MonitorSource]:
    """`pactl list short sources` (index, name, driver, sample spec, state; tab-separated)
    → its monitors."""
    monitors = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) < 4 or not fields[1].endswith(MONITOR_SUFFIX):
            continue
        name, spec = fields[1], fields[3].split()
        channels = next((int(s[:-2]) for s in spec if s.endswith("ch") and s[:-2].isdigit()), 2)
        rate = next((int(s[:-2]) for s in spec if s.endswith("Hz") and s[:-2].isdigit()), 48000)
        is_default = bool(default_sink) and name == default_sink + MONITOR_SUFFIX
        monitors.append(MonitorSource(name, channels, rate, is_default))
    return monitors


def choose_monitor(spec: str, monitors: list[MonitorSource]) -> MonitorSource:
    """`system`: the default output's monitor; `system:NAME`: the one whose name holds NAME."""
    wanted = spec[len(SYSTEM_SPEC) + 1 :].strip().lower() if ":" in spec else ""
    if not monitors:
        raise AudioInputError(
            "the sound server has no output to record (no monitor source)",
            hint="connect or enable an output; `gladia devices` lists the monitors",
        )
    if not wanted:
        for monitor in monitors:
            if monitor.is_default:
                return monitor
        raise AudioInputError(
            "the sound server names no default output, so `system` cannot choose a monitor",
            hint="name one: system:NAME (`gladia devices` lists the monitors)",
        )
    exact = [m for m in monitors if wanted in (m.name.lower(), m.output.lower())]
    if exact:
        return exact[0]
    matches = [m for m in monitors if wanted in m.name.lower()]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(m.name for m in (matches or monitors)[:5])
    if matches:
        raise AudioInputError(
            f"{len(matches)} monitors match {wanted!r}: {names}", hint="give more of the name"
        )
    raise AudioInputError(
        f"no monitor matches {wanted!r}", hint=f"available: {names} (`gladia devices`)"
    )


def find_monitor(
    spec: str,
    *,
    platform: str = sys.platform,
    run: Run = _pactl,
    which: Callable[[str], str | None] = shutil.which,
) -> MonitorSource:
    """The monitor `spec` names, or the AudioInputError (exit 5) that says what to do."""
    if not platform.startswith("linux"):
        raise unavailable(platform)
    return choose_monitor(spec, list_monitor_sources(run=run, which=which))
