"""Captions that fit: srt/vtt cues within --max-line-chars and --max-cue-seconds on a long
utterance, and `--format words` as TSV."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import soundfile as sf

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import run_cli
from tests.support import tone_bursts

TIME = re.compile(r"(\d\d):(\d\d):(\d\d)[,.](\d\d\d) --> (\d\d):(\d\d):(\d\d)[,.](\d\d\d)")


def _seconds(h: str, m: str, s: str, ms: str) -> float:
    return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


@pytest.fixture(scope="module")
def long_talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("captions") / "long.wav"
    sf.write(path, tone_bursts([(0.2, 24.0, 0)], total=25.0), 16000)  # one 24 s utterance
    return path


def _words_of(run_stdout: str) -> list[str]:
    return [line.split("\t")[5] for line in run_stdout.splitlines()[1:]]


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_a_long_utterance_becomes_cues_within_the_limits(
    fmt: str, long_talk: Path, scripted: LocalServer
) -> None:
    env = {"GLADIA_API_URL": scripted.url}
    common = ("file", str(long_talk), "--pace", "max", "--max-utterance", "60", "--label", "host")
    words = run_cli(*common, "-f", "words", env=env)
    assert words.code == 0, words.stderr
    spoken = _words_of(words.stdout)
    assert len(spoken) > 40  # one utterance of one word per 0.4 s

    run = run_cli(*common, "-f", fmt, "--max-line-chars", "30", "--max-cue-seconds", "4", env=env)
    assert run.code == 0, run.stderr
    body = run.stdout.removeprefix("WEBVTT\n\n")
    cues = [block.split("\n") for block in body.strip().split("\n\n")]
    assert len(cues) >= 6
    shown: list[str] = []
    for cue in cues:
        times = next(line for line in cue if "-->" in line)
        lines = cue[cue.index(times) + 1 :]
        found = TIME.search(times)
        assert found is not None
        start, end = _seconds(*found.groups()[:4]), _seconds(*found.groups()[4:])
        assert 0 < end - start <= 4.0
        assert 1 <= len(lines) <= 2
        label = "[host] " if fmt == "srt" else "<v host>"
        assert lines[0].startswith(label)  # the label on every cue
        lines[0] = lines[0].removeprefix(label)
        if fmt == "srt":
            assert len(label) + len(lines[0]) <= 30
        assert all(len(line) <= 30 for line in lines)
        shown += " ".join(lines).split()
    assert shown == spoken  # every word, in order, once


def test_words_format_is_tsv_with_a_header(long_talk: Path, scripted: LocalServer) -> None:
    run = run_cli(
        "file", str(long_talk), "--pace", "max", "-o", "-", "-f", "words",
        env={"GLADIA_API_URL": scripted.url},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "start\tend\tconfidence\tchannel\tlabel\tword"
    start, end, confidence, channel, label, word = lines[1].split("\t")
    assert float(start) < float(end) and 0 < float(confidence) <= 1
    assert (channel, label, word) == ("0", "ch0", "alpha")
    starts = [float(line.split("\t")[0]) for line in lines[1:]]
    assert starts == sorted(starts)


def test_tsv_extension_picks_words(long_talk: Path, scripted: LocalServer, tmp_path: Path) -> None:
    out = tmp_path / "words.tsv"
    run = run_cli(
        "file", str(long_talk), "--pace", "max", "-o", str(out),
        env={"GLADIA_API_URL": scripted.url},
    )  # fmt: skip
    assert run.code == 0 and run.stdout == "", run.stderr
    assert out.read_text().startswith("start\tend\t")


def test_caption_limits_are_checked_before_anything_runs(long_talk: Path) -> None:
    run = run_cli("file", str(long_talk), "--local", "--max-line-chars", "3")
    assert run.code == 2
    assert run.stderr.startswith("gladia: error: --max-line-chars 3 is out of range")
