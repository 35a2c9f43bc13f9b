"""`gladia mix` of files end to end: the real CLI (in-process) with `--local`.

(Mixes with microphones need a virtual microphone: tests/mic/test_live.py.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from tests.e2e.conftest import DATA, Run, run_cli

NO_DEVICES = {  # PortAudio through ALSA, and no sound server to reach: no input device
    "PULSE_SERVER": "unix:/nonexistent/pulse/native",
    "PULSE_CLIENTCONFIG": "/nonexistent/client.conf",
}


def _write(path: Path, source: Path, rate: int, channels: int = 1) -> Path:
    data, native = sf.read(source, dtype="float32")
    resampled = soxr.resample(data, native, rate) if rate != native else data
    frames = np.repeat(resampled[:, None], channels, axis=1)
    sf.write(path, frames, rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def tracks(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three speakers: 16 kHz mono (5.0 s), 32 kHz mono (3.6 s), 44.1 kHz stereo (4.1 s)."""
    directory = tmp_path_factory.mktemp("tracks")
    return [
        _write(directory / "sami.wav", DATA / "book_table.wav", 16000),
        _write(directory / "maxime.wav", DATA / "budget.wav", 32000),
        _write(directory / "mark.wav", DATA / "market.wav", 44100, channels=2),
    ]


def _words_by_channel(run: Run) -> dict[int, set[str]]:
    heard: dict[int, set[str]] = {}
    for utterance in run.finals():
        words = {w.strip(".,?!").lower() for w in utterance["text"].split()}
        heard.setdefault(utterance["channel"], set()).update(words)
    return heard


def test_three_files_at_different_rates_and_lengths_make_one_three_channel_session(
    tracks: list[Path], tmp_path: Path
) -> None:
    saved = tmp_path / "sent.wav"
    run = run_cli(
        "mix", *map(str, tracks), "--local", "--pace", "max", "--format", "jsonl",
        "--save-audio", str(saved),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert "mark.wav has 2 channels: mixed down to one for channel 2" in run.stderr
    assert "(44100 Hz, 3 channels)" in run.stderr  # the highest rate among the sources
    heard = _words_by_channel(run)
    assert {"book", "table", "tonight"} <= heard[0], heard
    assert {"budget", "year"} <= heard[1], heard
    assert {"apples", "bread", "market"} <= heard[2], heard
    assert not heard[0] & {"budget", "market"} and not heard[1] & {"table", "market"}

    sent, rate = sf.read(saved, dtype="int16")
    assert rate == 44100 and sent.shape[1] == 3
    longest = sf.info(str(tracks[0])).duration
    assert abs(len(sent) / rate - longest) < 0.01  # as long as the longest source
    shorter = sf.info(str(tracks[1])).duration
    assert not sent[int((shorter + 0.01) * rate) :, 1].any()  # then padded with silence
    for channel, track in enumerate(tracks):
        data, native = sf.read(track, dtype="float32", always_2d=True)
        expected = soxr.resample(data.mean(axis=1), native, rate)
        got = sent[: len(expected), channel].astype(np.float32)
        assert np.corrcoef(expected, got)[0, 1] > 0.999, channel


def test_labels_default_to_the_file_names_and_follow_label(tracks: list[Path]) -> None:
    default = run_cli("mix", *map(str, tracks), "--local", "--pace", "max", "--format", "text")
    assert default.code == 0, default.stderr
    labels = {line.partition("]")[0].lstrip("[") for line in default.stdout.splitlines()}
    assert labels == {"sami", "maxime", "mark"}, default.stdout

    named = run_cli(
        "mix", *map(str, tracks), "--local", "--local-engine", "scripted", "--pace", "max",
        "--format", "srt", "--label", "host,guest1,guest2",
    )  # fmt: skip
    assert named.code == 0, named.stderr
    for label in ("host", "guest1", "guest2"):
        assert f"[{label}]" in named.stdout, named.stdout


def test_standard_input_can_be_one_of_the_sources(tracks: list[Path]) -> None:
    run = run_cli(
        "mix", str(tracks[1]), "-", "--local", "--local-engine", "scripted", "--pace", "max",
        "--format", "text", stdin=tracks[0].read_bytes(),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    labels = {line.partition("]")[0].lstrip("[") for line in run.stdout.splitlines()}
    assert labels == {"maxime", "stdin"}, run.stdout


def test_mix_errors(tracks: list[Path], tmp_path: Path) -> None:
    missing = run_cli("mix", str(tracks[0]), str(tmp_path / "nope.wav"), "--local")
    assert missing.code == 5 and "no such file" in missing.stderr
    empty_mic = run_cli("mix", str(tracks[0]), "mic:", "--local")
    assert empty_mic.code == 2 and "names no device" in empty_mic.stderr
    rate = run_cli("mix", str(tracks[0]), "--sample-rate", "22050", "--local")
    assert rate.code == 2 and "22050" in rate.stderr
    for run in (missing, empty_mic, rate):
        assert "Traceback" not in run.stderr
        assert sum(line.startswith("gladia: error:") for line in run.stderr.splitlines()) == 1


def test_a_microphone_with_no_device_is_an_input_error(tracks: list[Path]) -> None:
    run = run_cli("mix", str(tracks[0]), "mic", "--local", env=NO_DEVICES)
    assert run.code == 5, run.stderr
    assert "gladia: error: no audio input device found" in run.stderr
    assert "gladia: hint:" in run.stderr and "Traceback" not in run.stderr


def test_mix_without_sources_shows_help() -> None:
    run = run_cli("mix")
    assert run.code == 2, run.stderr  # a script that lost its arguments must not succeed
    assert run.stdout == ""
    assert "Usage: gladia mix" in run.stderr and "mic:INDEX" in run.stderr
    assert run.stderr.splitlines()[-2] == "gladia: error: gladia mix needs arguments"


def test_duration_stops_the_mix_after_that_much_audio(tracks: list[Path], tmp_path: Path) -> None:
    saved = tmp_path / "sent.wav"
    run = run_cli(
        "mix", *map(str, tracks), "--local", "--local-engine", "scripted", "--pace", "max",
        "--duration", "1.5", "--save-audio", str(saved), "-f", "jsonl",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    sent, rate = sf.read(saved, dtype="int16")
    assert len(sent) == round(1.5 * rate)  # exactly the first 1.5 s, every channel
    assert "1.5 s of audio" in run.stderr  # the summary: the session ended there
    assert "stopped by signal" not in run.stderr
