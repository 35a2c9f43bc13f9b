"""`system`, the computer's own sound, end to end: a private PulseAudio whose default output
is a null sink, `speakers`, apart from the virtual microphone's sink (`vsink`). What is
played into `speakers` is what the computer plays; `gladia` records its monitor."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from tests.mic.conftest import (
    MIC_WORDS,
    ROOM_DEVICE,
    Cli,
    VirtualMic,
    align,
    no_traceback,
    one_error,
    read_mono,
    virtual_mic,
)
from tests.support import GLADIA

pytestmark = [pytest.mark.mic, pytest.mark.slow]


@pytest.fixture(scope="module")
def room() -> Iterator[VirtualMic]:
    """The virtual microphone, and the computer's speakers (the default output)."""
    with virtual_mic(speakers=True) as mic:
        yield mic


def _words(text: str) -> set[str]:
    return {w.strip(".,?!").lower() for w in text.split()}


def _play_both(room: VirtualMic, to_mic: Path, to_speakers: Path) -> None:
    """Both at once, as in a call: each sink gets its own recording."""
    player = threading.Thread(target=room.play, args=(to_speakers,), kwargs={"sink": "speakers"})
    player.start()
    room.play(to_mic)
    player.join(60)


def test_devices_lists_the_monitors_apart(room: VirtualMic) -> None:
    done = subprocess.run(
        [*GLADIA, "devices"], check=False, env=room.env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    inputs, _, monitors = done.stdout.partition("monitors (the computer's sound)")
    assert "pulse" in inputs and "monitor" not in inputs
    lines = [line for line in monitors.splitlines() if ".monitor" in line]
    by_name = {line.split()[1 if line.lstrip().startswith("*") else 0]: line for line in lines}
    assert by_name["speakers.monitor"].lstrip().startswith("*")  # the default output's
    assert by_name["speakers.monitor"].rstrip().endswith("system")
    assert by_name["vsink.monitor"].rstrip().endswith("system:vsink")
    assert "* marks the default output's monitor" in done.stderr
    listed = subprocess.run(
        [*GLADIA, "devices", "--json"],
        check=False,
        env=room.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ".monitor" not in listed.stdout  # the JSON lists input devices, as before


def test_live_system_records_what_the_computer_plays(
    room: VirtualMic, speech: dict[str, Path], tmp_path: Path
) -> None:
    saved = tmp_path / "sent.wav"
    cli = Cli(
        "live", "system", "--local", "--local-engine", "scripted", "--save-audio", str(saved),
        env=room.env,
    )  # fmt: skip
    cli.wait_stderr("streaming the computer's sound (speakers.monitor)")
    _play_both(room, speech["budget"], speech["book_table"])
    time.sleep(0.5)
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.code == 0, run.stderr
    no_traceback(run)
    # What was sent is what the speakers played, not what the microphone heard.
    recorded, rate = sf.read(saved, dtype="int16")
    played = soxr.resample(read_mono(speech["book_table"]).astype(np.float32), 16000, rate)
    _, overlap, r = align(played, recorded.astype(np.float32))
    assert overlap == len(played) and r > 0.99, r
    heard = soxr.resample(read_mono(speech["budget"]).astype(np.float32), 16000, rate)
    assert align(heard, recorded.astype(np.float32))[2] < 0.5


def test_mix_mic_and_system_each_get_their_own_finals(
    room: VirtualMic, speech: dict[str, Path]
) -> None:
    cli = Cli(
        "mix", "mic", "system", "--local", "--format", "text", "--label", "me,them",
        env=room.env,
    )  # fmt: skip
    cli.wait_stderr("streaming a mix")
    _play_both(room, speech["budget"], speech["market"])
    time.sleep(0.8)  # the finals come once the endpointer heard the trailing silence
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.code == 0, run.stderr
    heard: dict[str, set[str]] = {}
    for line in run.stdout.splitlines():
        label, _, text = line.partition("] ")
        heard.setdefault(label.lstrip("["), set()).update(_words(text))
    assert MIC_WORDS["budget"] <= heard["me"], run.stdout
    assert MIC_WORDS["market"] <= heard["them"], run.stdout
    assert not heard["me"] & MIC_WORDS["market"] and not heard["them"] & MIC_WORDS["budget"]


def test_a_microphone_that_hears_the_speakers_stays_in_step_with_system(
    room: VirtualMic, speech: dict[str, Path], tmp_path: Path
) -> None:
    # The microphone and the monitor are two devices, two streams, two clocks: the mix
    # aligns and keeps them in step as it does two microphones.
    saved = tmp_path / "sent.wav"
    cli = Cli(
        "mix", f"mic:{ROOM_DEVICE}", "system", "--local", "--local-engine", "scripted",
        "--save-audio", str(saved), env=room.env,
    )  # fmt: skip
    cli.wait_stderr("streaming a mix")
    room.play(speech["budget"], sink="speakers")
    time.sleep(0.3)
    cli.signal(signal.SIGINT)
    run = cli.finish()
    assert run.code == 0, run.stderr
    assert f"({ROOM_DEVICE}, system)" in run.stderr  # the labels: the device, and system
    sent, rate = sf.read(saved, dtype="int16")
    mic, monitor = sent[:, 0].astype(np.float64), sent[:, 1].astype(np.float64)
    assert np.abs(mic).max() > 1000 and np.abs(monitor).max() > 1000  # both heard it
    n = 1 << (2 * len(mic)).bit_length()
    xc = np.fft.irfft(np.fft.rfft(monitor, n) * np.conj(np.fft.rfft(mic, n)), n)
    window = np.arange(-rate // 10, rate // 10)
    lag = int(window[np.argmax(xc[window % n])])
    # Each device's start is estimated from when its blocks arrive (audio/drift.py); with
    # both cores busy a monitor's first blocks come a few ms late (4.9 ms measured at load
    # 2): 15 ms is under one 20 ms block, far below what a word's timing can tell apart.
    assert abs(lag) < 0.015 * rate, f"channels {lag / rate * 1000:.1f} ms apart"


def test_system_without_a_sound_server_says_so_and_exits_5(tmp_path: Path) -> None:
    if shutil.which("pactl") is None:
        pytest.skip("pactl is not installed (apt-get install pulseaudio-utils)")
    nowhere = {
        "PULSE_SERVER": f"unix:{tmp_path}/nothing",
        "PULSE_RUNTIME_PATH": str(tmp_path),
        "HOME": str(tmp_path),
    }
    cli = Cli("live", "system", "--local", env={**os.environ, **nowhere})
    run = cli.finish()
    one_error(run, 5, "no sound server answers", "snd-aloop")
