"""`--record FILE.jsonl` on file and mix, and `gladia replay`: the same output, no server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import Run, run_cli
from tests.support import KEY, tone_bursts

LABELS = "host,guest"


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("record") / "talk.wav"
    bursts = [(0.2, 3.0, 0), (1.0, 1.0, 1), (4.0, 2.0, 1)]
    sf.write(path, tone_bursts(bursts, total=7.0, channels=2), 16000)
    return path


def _recorded(talk: Path, server: LocalServer, record: Path, *args: str) -> Run:
    run = run_cli(
        "file", str(talk), "--pace", "max", "--multichannel", "--label", LABELS,
        "--record", str(record), *args,
        env={"GLADIA_API_URL": server.url},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    return run


@pytest.mark.parametrize("fmt", ["text", "srt", "vtt", "words", "jsonl"])
def test_replay_gives_the_same_output_as_the_live_run(
    fmt: str, talk: Path, scripted: LocalServer, tmp_path: Path
) -> None:
    record = tmp_path / "talk.jsonl"
    live = _recorded(talk, scripted, record, "-f", fmt)
    assert live.stdout.strip()
    # No server given, none reachable: the replay needs none.
    replayed = run_cli(
        "replay", str(record), "--speed", "max", "-f", fmt,
        env={"GLADIA_API_URL": "http://127.0.0.1:9"},
    )  # fmt: skip
    assert replayed.code == 0, replayed.stderr
    assert replayed.stdout == live.stdout


def test_the_recording_holds_every_message_and_no_secret(
    talk: Path, scripted: LocalServer, tmp_path: Path
) -> None:
    record = tmp_path / "talk.jsonl"
    live = _recorded(talk, scripted, record, "-f", "jsonl", "--events", "all")
    text = record.read_text()
    assert KEY not in text and "token" not in text and "ws://" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    header, entries = lines[0], lines[1:]
    assert header["gladia_recording"] == 1 and header["labels"] == ["host", "guest"]
    assert header["channels"] == 2 and header["session_id"] == live.jsonl()[0]["session_id"]
    assert [e["message"] for e in entries] == live.jsonl()  # every message, in order
    times = [e["t"] for e in entries]
    assert times == sorted(times) and all(t >= 0 for t in times)


def test_replay_as_a_table_with_other_labels(
    talk: Path, scripted: LocalServer, tmp_path: Path
) -> None:
    record = tmp_path / "talk.jsonl"
    _recorded(talk, scripted, record, "-f", "text")
    table = run_cli("replay", str(record), "--speed", "max", "-f", "table", "--label", "ann,bob")
    assert table.code == 0, table.stderr
    assert "bob" in table.stdout and "alpha bravo" in table.stdout
    assert "● done" in table.stdout and "sent 7.0 s" in table.stdout
    fast = run_cli("replay", str(record), "--speed", "1000x", "-f", "text")
    assert fast.code == 0 and "[guest] alpha bravo" in fast.stdout


def test_mix_records_too(talk: Path, scripted: LocalServer, tmp_path: Path) -> None:
    one, two = tmp_path / "one.wav", tmp_path / "two.wav"
    data, rate = sf.read(talk, dtype="int16")
    sf.write(one, data[:, 0], rate)
    sf.write(two, data[:, 1], rate)
    record = tmp_path / "mix.jsonl"
    live = run_cli(
        "mix", str(one), str(two), "--pace", "max", "-f", "srt", "--record", str(record),
        env={"GLADIA_API_URL": scripted.url},
    )  # fmt: skip
    assert live.code == 0, live.stderr
    replayed = run_cli("replay", str(record), "--speed", "max", "-f", "srt")
    assert replayed.stdout == live.stdout and "[one] " in replayed.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--speed", "fast"], "invalid --speed 'fast'"),
        (["-f", "json"], "not its result"),
        (["-f", "text", "--events", "transcript"], "--events chooses the messages jsonl"),
    ],
)
def test_replay_refuses_bad_options_in_one_line(
    args: list[str], needle: str, tmp_path: Path
) -> None:
    record = tmp_path / "r.jsonl"
    record.write_text('{"gladia_recording": 1, "channels": 1, "labels": []}\n')
    run = run_cli("replay", str(record), *args)
    assert run.code == 2 and "Traceback" not in run.stderr
    assert run.stderr.startswith("gladia: error: ") and needle in run.stderr


def test_replay_of_what_is_not_a_recording(tmp_path: Path) -> None:
    missing = run_cli("replay", str(tmp_path / "none.jsonl"))
    assert missing.code == 2 and "no such recording" in missing.stderr
    other = tmp_path / "other.jsonl"
    other.write_text('{"type": "transcript"}\n')
    run = run_cli("replay", str(other))
    assert run.code == 2 and "is not a gladia recording" in run.stderr


def test_record_paths_are_checked_before_anything_runs(talk: Path, tmp_path: Path) -> None:
    unreachable = {"GLADIA_API_URL": "http://127.0.0.1:9"}
    nowhere = run_cli(
        "file", str(talk), "--record", str(tmp_path / "no" / "r.jsonl"), env=unreachable
    )
    assert nowhere.code == 2 and "cannot write --record" in nowhere.stderr
    same = run_cli(
        "file", str(talk), "-o", str(tmp_path / "a.jsonl"), "--record", str(tmp_path / "a.jsonl"),
        env=unreachable,
    )  # fmt: skip
    assert same.code == 2 and "-o/--output and --record name the same file" in same.stderr
    dash = run_cli("file", str(talk), "--record", "-", env=unreachable)
    assert dash.code == 2 and "--record needs a file" in dash.stderr
