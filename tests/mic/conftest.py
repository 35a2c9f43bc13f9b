"""Virtual microphones for end-to-end tests (testing-recipes.md §2).

A private PulseAudio daemon per fixture: a null sink per microphone, a remap source on its
monitor (the microphone), and a silent 20 ms "keeper" stream into each sink, without which
the sink renders in 2 s blocks and a capture loses its first seconds. The daemon is ready
2.1 s after the keeper connects (the keeper's latency only applies after the first block).

The CLI runs as a subprocess with `VirtualMic.env`, so PortAudio is initialised after the
daemon is up and reaches it through ALSA's `pulse` plugin: ALSA's `default` and `pulse`
devices record the default source `vmic`. With `pair=True`, two more: `left_mic` and
`right_mic` record the two channels of one stereo sink, `vpair` (so a stereo file played
into it reaches both microphones at the same instant, through two independent streams).
With `speakers=True`, the default output is a stereo sink of its own, `speakers`: what the
computer plays (`gladia live system` records its monitor), apart from the microphone; and
`room_mic`, a microphone that hears those speakers, as in a room (ALSA records their monitor
as `system` does, so the two differ only by how they are captured and mixed).
"""

from __future__ import annotations

import contextlib
import ctypes.util
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from tests.e2e.conftest import Run
from tests.support import GLADIA, KEY

DATA = Path(__file__).parent.parent / "data"
RATE = 16000
LEFT_DEVICE = "left_mic"
RIGHT_DEVICE = "right_mic"
TWO_CHANNEL_DEVICE = "two_channel_mic"
ROOM_DEVICE = "room_mic"  # with `speakers=True`: a microphone that hears the speakers
# ALSA devices PortAudio lists (with `pair=True`): the pair of microphones, and a device with
# exactly two channels (ALSA's pulse devices all claim 32), for the "too many channels" error.
ALSA_DEVICES = f"""
pcm.{LEFT_DEVICE} {{
    type pulse
    device pair_left
}}
pcm.{RIGHT_DEVICE} {{
    type pulse
    device pair_right
}}
pcm.pulse_plug {{
    type plug
    slave.pcm "pulse"
}}
pcm.{TWO_CHANNEL_DEVICE} {{
    type multi
    slaves.a.pcm "pulse_plug"
    slaves.a.channels 2
    bindings.0 {{ slave a; channel 0; }}
    bindings.1 {{ slave a; channel 1; }}
}}
"""

# Words of tests/data's fixtures that the local engine gets every time through a virtual
# microphone. Chosen when the engine was sphinx (the device's 44.1 kHz round trip cost it
# a few of the words it got from the files); whisper, the default now, gets every word of
# these sentences, so they stay a lower bound.
MIC_WORDS = {
    "book_table": {"like", "table"},
    "market": {"apples", "bread", "market"},
    "budget": {"talk", "budget", "year"},
}


def _missing_requirement() -> str | None:
    for tool in ("pulseaudio", "pactl", "pacat", "paplay"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)"
    if ctypes.util.find_library("portaudio") is None:
        return "PortAudio is not installed (apt-get install libportaudio2)"
    if not list(Path("/usr/lib").glob("**/alsa-lib/libasound_module_pcm_pulse.so")):
        return "ALSA's pulse plugin is not installed (apt-get install libasound2-plugins)"
    return None


@dataclass
class VirtualMic:
    directory: Path
    rate: int
    channels: int
    env: dict[str, str]  # for the CLI and the pulse tools
    daemon: subprocess.Popen[bytes]
    keepers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def play(self, path: Path, sink: str = "vsink") -> None:
        """Play a WAV into a microphone; returns when it has been played (real time)."""
        layout = channel_map(sf.info(str(path)).channels)
        subprocess.run(
            ["paplay", "-d", sink, f"--channel-map={layout}", str(path)],
            env=self.env,
            check=True,
            timeout=60,
        )

    def kill_daemon(self) -> None:
        """The sound server dies: every device it served is lost."""
        self.daemon.send_signal(signal.SIGKILL)
        self.daemon.wait(5)

    def stop(self) -> None:
        for keeper in self.keepers:
            keeper.terminate()
            keeper.wait(5)
        if self.daemon.poll() is None:
            self.daemon.terminate()
            self.daemon.wait(5)
        shutil.rmtree(self.directory, ignore_errors=True)


def channel_map(channels: int) -> str:
    """The layout ALSA's pulse plugin records with (mono; stereo; then aux0, aux1…)."""
    if channels == 1:
        return "mono"
    return ",".join(["front-left", "front-right"] + [f"aux{i}" for i in range(channels - 2)])


def _pactl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["pactl", *args], env=env, capture_output=True, text=True, timeout=10, check=False
    )


@contextlib.contextmanager
def virtual_mic(
    rate: int = RATE, channels: int = 1, *, pair: bool = False, speakers: bool = False
) -> Iterator[VirtualMic]:
    """Start a daemon with the microphone(s); see the module docstring."""
    reason = _missing_requirement()
    if reason:
        pytest.skip(reason)
    directory = Path(tempfile.mkdtemp(prefix="vmic-"))
    socket = directory / "native"
    (directory / "client.conf").write_text("autospawn = no\n")
    env = {
        **os.environ,
        "HOME": str(directory),
        "XDG_RUNTIME_DIR": str(directory),
        "XDG_CONFIG_HOME": str(directory),
        "PULSE_SERVER": f"unix:{socket}",
        "PULSE_COOKIE": str(directory / "cookie"),
        "PULSE_CLIENTCONFIG": str(directory / "client.conf"),
        "PULSE_RUNTIME_PATH": str(directory),
    }
    # The layout ALSA's pulse plugin records with, everywhere: nothing is remixed between
    # the player, the sink, the source and the recorder.
    layout = channel_map(channels)
    modules = [
        f"module-native-protocol-unix auth-anonymous=1 socket={socket}",
        f"module-null-sink sink_name=vsink rate={rate} channels={channels} channel_map={layout}",
        f"module-remap-source source_name=vmic master=vsink.monitor channel_map={layout}",
    ]
    sinks = ["vsink"]
    if pair:
        stereo = channel_map(2)
        modules.append(
            f"module-null-sink sink_name=vpair rate={rate} channels=2 channel_map={stereo}"
        )
        for side in ("left", "right"):
            modules.append(
                f"module-remap-source source_name=pair_{side} master=vpair.monitor channels=1 "
                f"master_channel_map=front-{side} channel_map=mono remix=no"
            )
        sinks.append("vpair")
    if speakers:
        stereo = channel_map(2)
        modules.append(
            f"module-null-sink sink_name=speakers rate={rate} channels=2 channel_map={stereo}"
        )
        sinks.append("speakers")
    if pair or speakers:
        asound = directory / "asound.conf"
        room = f"pcm.{ROOM_DEVICE} {{\n    type pulse\n    device speakers.monitor\n}}\n"
        asound.write_text((ALSA_DEVICES if pair else "") + (room if speakers else ""))
        env["ALSA_CONFIG_PATH"] = f"/usr/share/alsa/alsa.conf:{asound}"
    command = [
        "pulseaudio",
        "-n",
        "--daemonize=no",
        "--exit-idle-time=-1",
        "--use-pid-file=no",
        "--disable-shm=yes",
        "--log-target=stderr",
        "--log-level=error",
    ]
    for module in modules:
        command += ["-L", module]
    daemon = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    mic = VirtualMic(directory, rate, channels, env, daemon)
    try:
        for _ in range(200):
            if _pactl(env, "info").returncode == 0:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("pulseaudio did not start")
        _pactl(env, "set-default-source", "vmic")
        _pactl(env, "set-default-sink", "speakers" if speakers else "vsink")
        for sink in sinks:
            sink_channels = channels if sink == "vsink" else 2
            with Path("/dev/zero").open("rb") as zeros:
                mic.keepers.append(
                    subprocess.Popen(
                        [
                            *("pacat", "-p", "-d", sink, "--latency-msec=20", "--raw"),
                            *(f"--rate={rate}", f"--channels={sink_channels}", "--format=s16le"),
                        ],
                        stdin=zeros,
                        env=env,
                    )
                )
        for _ in range(100):
            inputs = _pactl(env, "list", "short", "sink-inputs").stdout.strip().splitlines()
            if len(inputs) >= len(sinks):
                break
            time.sleep(0.05)
        time.sleep(2.1)
        yield mic
    finally:
        mic.stop()


@pytest.fixture(scope="module")
def vmic() -> Iterator[VirtualMic]:
    """One mono microphone (ALSA `default`), a two-channel device on it (`two_channel_mic`),
    and a pair of microphones fed by one stereo sink (`left_mic`, `right_mic`)."""
    with virtual_mic(pair=True) as mic:
        yield mic


@pytest.fixture(scope="module")
def vmic3() -> Iterator[VirtualMic]:
    """A three-channel microphone."""
    with virtual_mic(channels=3) as mic:
        yield mic


@pytest.fixture
def fresh_vmic() -> Iterator[VirtualMic]:
    """A microphone of its own, for a test that kills the daemon."""
    with virtual_mic() as mic:
        yield mic


# ------------------------------------------------------------------------------ speech


@pytest.fixture(scope="session")
def speech() -> dict[str, Path]:
    """tests/data's speech fixtures by name (book_table, budget, meeting_3ch…)."""
    listed = json.loads((DATA / "fixtures.json").read_text())
    entries = listed["fixtures"] if isinstance(listed, dict) else listed
    return {Path(entry["file"]).stem: DATA / entry["file"] for entry in entries}


def read_mono(path: Path) -> npt.NDArray[np.int16]:
    data, rate = sf.read(path, dtype="int16", always_2d=True)
    assert rate == RATE
    mono: npt.NDArray[np.int16] = data[:, 0]
    return mono


def align(src: npt.NDArray[Any], rec: npt.NDArray[Any]) -> tuple[int, int, float]:
    """Where `src` sits inside `rec` (FFT cross-correlation): (lag, overlap, Pearson r)."""
    a = src.astype(np.float64)
    b = rec.astype(np.float64)
    n = 1 << (len(a) + len(b)).bit_length()
    xc = np.fft.irfft(np.fft.rfft(b, n) * np.conj(np.fft.rfft(a, n)), n)[: len(b)]
    lag = int(np.argmax(xc))
    m = min(len(a), len(b) - lag)
    return lag, m, float(np.corrcoef(a[:m], b[lag : lag + m])[0, 1])


# ------------------------------------------------------------------------------- the CLI


class Cli:
    """`gladia ARGS` running in the background, its output collected as it comes."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        environ = {
            **env,
            "GLADIA_API_KEY": KEY,
            "XDG_CONFIG_HOME": "/nonexistent",  # no user config file
            "NO_COLOR": "1",
        }
        for name in ("GLADIA_API_URL", "GLADIA_REGION", "GLADIA_CONFIG"):
            environ.pop(name, None)
        self.process = subprocess.Popen(
            [*GLADIA, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
        )
        self._out: list[str] = []
        self._err: list[str] = []
        self._changed = threading.Condition()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self._out)),
            threading.Thread(target=self._read, args=(self.process.stderr, self._err)),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, lines: list[str]) -> None:
        for raw in stream:
            with self._changed:
                lines.append(raw.decode(errors="replace"))
                self._changed.notify_all()

    def wait_stderr(self, needle: str, timeout: float = 30) -> None:
        """Until stderr holds `needle` (fails on timeout or if the CLI exits first)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while needle not in "".join(self._err):
                left = deadline - time.monotonic()
                assert left > 0 and self.process.poll() is None, "".join(self._err)
                self._changed.wait(min(left, 0.1))

    def wait_stdout(self, needle: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while needle not in "".join(self._out):
                left = deadline - time.monotonic()
                assert left > 0 and self.process.poll() is None, "".join(self._err)
                self._changed.wait(min(left, 0.1))

    def signal(self, sig: int = signal.SIGINT) -> None:
        self.process.send_signal(sig)

    def finish(self, timeout: float = 30) -> Run:
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for reader in self._readers:
                reader.join(5)
        return Run(code, "".join(self._out), "".join(self._err))


def no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr


def one_error(run: Run, code: int, *needles: str) -> None:
    assert run.code == code, (run.code, run.stderr)
    no_traceback(run)
    errors = [line for line in run.stderr.splitlines() if line.startswith("gladia: error:")]
    assert len(errors) == 1, run.stderr
    for needle in needles:
        assert needle in run.stderr, run.stderr
