"""`--translate` end to end: the translation under each utterance in text and in the table,
from the local server (offline, English is the target it serves: an English utterance is
its own translation, whatever the engine)."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from tests.e2e.conftest import Run, run_cli
from tests.support import tone_bursts


@pytest.fixture(scope="module")
def two_voices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("translate") / "two.wav"
    sf.write(path, tone_bursts([(0.2, 1.2, 0), (2.0, 1.0, 1)], total=4.0, channels=2), 16000)
    return path


def _run(path: Path, fmt: str) -> Run:
    run = run_cli(
        "file", str(path), "--local", "--local-engine", "scripted", "--pace", "max",
        "--multichannel", "--label", "Ann,Bob", "--translate", "en", "-f", fmt,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    return run


def test_text_has_each_translation_under_its_utterance(two_voices: Path) -> None:
    lines = _run(two_voices, "text").stdout.splitlines()
    originals = [line for line in lines if line.startswith("[")]
    ann, bob = originals[0], originals[1]
    assert lines[:4] == [ann, f"  [Ann] (en) {ann[6:]}", bob, f"  [Bob] (en) {bob[6:]}"]
    assert lines[5] == "## Translation (en)"  # and the section, as before


def test_the_table_has_each_translation_under_its_utterance(two_voices: Path) -> None:
    out = _run(two_voices, "table").stdout  # not a terminal: the table once, at the end
    rows = [line for line in out.splitlines() if "│" in line]
    texts = [row.split("│")[-1].strip() for row in rows]
    speakers = [row.split("│")[1].strip() for row in rows]
    assert speakers == ["Ann", "", "Bob", ""]
    assert texts[1] == f"(en) {texts[0]}" and texts[3] == f"(en) {texts[2]}"
