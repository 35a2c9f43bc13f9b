"""`--debug` is an option that is read, not a word looked for in argv: declared once
(cli/options.debug_option), eager, so that an error raised while the rest of the command
line is checked shows its traceback too; GLADIA_DEBUG does the same."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gladia_cli.cli.app import run
from gladia_cli.environment import Environment

BUDGET = str(Path(__file__).resolve().parents[1] / "data" / "budget.wav")


def _run(*args: str, environ: dict[str, str] | None = None) -> tuple[int, str]:
    stderr = io.StringIO()
    env = Environment(
        stdin=io.BytesIO(),
        stdout=io.StringIO(),
        stderr=stderr,
        environ=environ or {},
        stdout_isatty=False,
        stderr_isatty=False,
    )
    return run(list(args), env), stderr.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ("file", BUDGET, "--language", "xx", "--debug"),  # after the option that fails
        ("file", BUDGET, "--debug", "--language", "xx"),
        ("replay", "--max-line-chars", "5", "--debug", "x.jsonl"),  # Typer's own range check
        ("sessions", "get", "abc", "--debug", "--api-url", "ftp://x"),
    ],
)
def test_debug_shows_the_traceback_of_an_error_raised_before_the_command(
    args: tuple[str, ...],
) -> None:
    code, err = _run(*args)
    assert code == 2
    assert "gladia: error: " in err
    if "--language" in args or "--api-url" in args:  # a GladiaError from an option's check
        assert "Traceback (most recent call last)" in err
    without, plain = _run(*(a for a in args if a != "--debug"))
    assert without == code and "Traceback" not in plain


def test_debug_given_as_another_options_value_is_not_debug() -> None:
    code, err = _run("file", BUDGET, "--label", "--debug", "--language", "xx")
    assert code == 2 and "Traceback" not in err


def test_gladia_debug_in_the_environment_shows_tracebacks() -> None:
    code, err = _run("file", BUDGET, "--language", "xx", environ={"GLADIA_DEBUG": "1"})
    assert code == 2 and "Traceback (most recent call last)" in err
