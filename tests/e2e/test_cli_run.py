"""The e2e tests run the CLI in-process (tests/cli_run.py): the same command lines give
the same exit code, stdout and stderr as the CLI in a process of its own."""

from __future__ import annotations

import re
import subprocess

import pytest

from gladia_cli.server.recognition.engines import whisper_models
from tests.cli_run import Run, clean_environ, run_in_process, run_subprocess
from tests.e2e.conftest import DATA
from tests.shared_models import SHARED

BUDGET = str(DATA / "budget.wav")
# What differs from one run to the next: ids the server makes, measured latencies.
VARYING = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "ID"),
    (re.compile(r"p(50|95) \d+(\.\d+)? m?s"), r"p\1 X s"),  # "1.2 s" or "828 ms"
    # The embedded server saying its recognition gave way (a loaded machine: the file
    # arrives at once, recognition is 2 s behind for a moment): a stated degradation,
    # there in one run and not in the other.
    (re.compile(r"gladia: warning: local server: session ID: recognition [^\n]*\n"), ""),
]

COMMAND_LINES = [
    ["--version"],
    ["file"],  # the help on stderr, exit 2
    ["file", BUDGET, "--pace", "fast"],
    ["file", BUDGET, "--dry-run"],
    ["file", "nosuch.wav"],
    ["devices"],  # PortAudio: what it writes on the descriptors counts too
    ["file", BUDGET, "--local", "-f", "srt", "--pace", "max"],
    ["transcribe", BUDGET, "--local", "-f", "text"],
]


def _steady(run: Run) -> tuple[int, str, str]:
    texts = [run.stdout, run.stderr]
    for pattern, replacement in VARYING:
        texts = [pattern.sub(replacement, text) for text in texts]
    return run.code, texts[0], texts[1]


@pytest.mark.parametrize("args", COMMAND_LINES, ids=[" ".join(a[:3]) for a in COMMAND_LINES])
def test_in_process_is_as_a_subprocess(args: list[str]) -> None:
    environ = clean_environ()
    inside = run_in_process(args, environ, None, 60)
    outside = run_subprocess(args, environ, None, 60)
    assert _steady(inside) == _steady(outside)


def test_in_process_runs_load_whisper_through_the_shared_models() -> None:
    """tests/shared_models.py: an in-process `--local` run's engine takes the model an
    earlier one loaded; the subprocess half of the `--local` lines above loads its own."""
    assert whisper_models.load_model == SHARED.load


def test_a_run_past_its_timeout_is_interrupted_and_fails_as_a_subprocess_does() -> None:
    meeting = str(DATA / "meeting_3ch.wav")  # 30 s at real-time pace
    args = ["file", meeting, "--local", "--pace", "realtime", "-f", "text"]
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_process(args, clean_environ(), None, 1.0)
