"""`-o FILE` picks the format from its extension; help lists grouped options and examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import DATA, run_cli


@pytest.mark.parametrize(
    ("name", "looks_like"),
    [
        ("talk.srt", lambda text: text.startswith("1\n00:00:00,")),
        ("talk.vtt", lambda text: text.startswith("WEBVTT\n")),
        ("talk.txt", lambda text: text.splitlines()[0].startswith("alpha bravo charlie")),
        ("talk.json", lambda text: json.loads(text)["status"] == "done"),
        ("talk.jsonl", lambda text: json.loads(text.splitlines()[0])["type"]),
        ("talk.log", lambda text: json.loads(text.splitlines()[0])["type"]),  # default: jsonl
    ],
)
def test_the_extension_of_o_picks_the_format(
    name: str, looks_like: object, scripted: LocalServer, tmp_path: Path
) -> None:
    out = tmp_path / name
    run = run_cli(
        "file", str(DATA / "budget.wav"), "--pace", "max", "-o", str(out),
        env={"GLADIA_API_URL": scripted.url},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stdout == ""
    assert callable(looks_like) and looks_like(out.read_text()), out.read_text()[:200]


def test_an_explicit_format_that_agrees_with_the_extension_is_fine(
    scripted: LocalServer, tmp_path: Path
) -> None:
    out = tmp_path / "talk.srt"
    run = run_cli(
        "file", str(DATA / "budget.wav"), "--pace", "max", "-o", str(out), "-f", "srt",
        env={"GLADIA_API_URL": scripted.url},
    )  # fmt: skip
    assert run.code == 0 and out.read_text().startswith("1\n"), run.stderr


def test_help_groups_options_gives_examples_and_cuts_nothing() -> None:
    top = run_cli("--help", env={"COLUMNS": "80"})
    assert top.code == 0
    for sentence in (
        "Transcribe an audio file through the live API, as if it were being spoken.",
        "List audio input devices: index, name, input channels, default rate (* = default).",
    ):
        assert sentence in " ".join(top.stdout.split())
    commands = top.stdout.split("Commands:")[1].split("Examples:")[0]
    assert "..." not in commands
    for command in ("file", "live", "mix", "serve", "devices", "sessions", "replay"):
        shown = run_cli(command, "--help", env={"COLUMNS": "80"})
        assert shown.code == 0, shown.stderr
        lines = shown.stdout.splitlines()
        assert "Examples:" in lines, command
        examples = lines[lines.index("Examples:") + 1 :]
        assert sum(line.startswith("  gladia ") for line in examples) >= 2, command
        assert all(len(line) <= 80 for line in lines), command
    file_help = run_cli("file", "--help", env={"COLUMNS": "80"}).stdout
    sections = [line for line in file_help.splitlines() if line.endswith(":") and line[0] != " "]
    assert sections == [
        "Arguments:",
        "Audio input:",
        "Many inputs:",
        "Session options:",
        "Add-ons:",
        "Output:",
        "Connection:",
        "Options:",
        "Examples:",
        "Presets (--preset NAME; flags and --config override them):",
    ]
    assert "[table|text|jsonl|json|srt|vtt|words]" in " ".join(file_help.split())
