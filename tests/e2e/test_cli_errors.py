"""Every mistake a person can make on the command line: one `gladia: error:` line naming the
option, a hint that works, the documented exit code, nothing on stdout, no traceback, and
nothing opened first (these all fail before a file is read or a server is started)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import DATA, Run, run_cli

BUDGET = str(DATA / "budget.wav")
MEETING = str(DATA / "meeting_3ch.wav")

# (arguments, extra environment, exit code, in the error line, in the hint line or None)
CASES: list[tuple[list[str], dict[str, str], int, str, str | None]] = [
    (
        ["file", BUDGET, "--raw", "s16le"],
        {},
        2,
        "--raw needs --raw-rate and --raw-channels",
        "--raw s16le --raw-rate 16000 --raw-channels 1",
    ),
    (
        ["file", BUDGET, "--raw", "s16le", "--raw-rate", "16000"],
        {},
        2,
        "--raw needs --raw-channels:",
        "--raw-channels 1",
    ),
    (
        ["file", BUDGET, "-o", "/no/such/dir/x.srt"],
        {},
        2,
        "cannot write -o /no/such/dir/x.srt: there is no directory /no/such/dir",
        "mkdir -p /no/such/dir",
    ),
    (["serve", "--port", "99999"], {}, 2, "--port 99999 is out of range", "from 0 to 65535"),
    (
        ["serve", "--log-level", "loud"],
        {},
        2,
        "--log-level: 'loud' is not one of its values",
        "choose from: debug, info, warning, error",
    ),
    (
        ["serve", "--engine", "scripted", "--script", "/missing"],
        {},
        2,
        "--script /missing: no such file or directory",
        "one utterance per line",
    ),
    (["serve", "--script", "/missing"], {}, 2, "--script is text for", "--engine scripted"),
    (
        ["sessions", "list"],
        {"GLADIA_API_KEY": ""},
        3,
        "no API key",
        "run `gladia auth login` (or set GLADIA_API_KEY); for a `gladia serve` server",
    ),
    (
        ["file", BUDGET, "--local", "--language", "english"],
        {},
        2,
        "--language: 'english' is not a language code",
        "use its code: --language en",
    ),
    (
        ["file", BUDGET, "--local", "--translate", "klingon"],
        {},
        2,
        "--translate: 'klingon' is not a language code",
        "--translate en or --translate fr",
    ),
    (
        ["file", BUDGET, "--local", "-q", "--callback-url", "notaurl"],
        {},
        2,
        "--callback-url: 'notaurl' is not an http(s) URL",
        "--callback-url https://example.com/hook",
    ),
    (["file"], {}, 2, "gladia file needs arguments", "'gladia file --help'"),
    (
        ["file", MEETING, "--label", "a,b"],
        {},
        2,
        "--label names 2 channels but the audio sent has 3 channels",
        "one name per channel",
    ),
    (
        ["file", BUDGET, "-f", "text", "--events", "transcript"],
        {},
        2,
        "--events chooses the messages jsonl writes; the format here is text",
        "add --format jsonl",
    ),
    (
        ["file", BUDGET, "-f", "jsonl", "--events", "transcrpt"],
        {},
        2,
        "--events: unknown message type(s): transcrpt",
        "choose from: all, audio_chunk",
    ),
    (
        ["sessions", "list", "--status", "bogus"],
        {},
        2,
        "--status: 'bogus' is not one of its values",
        "queued, processing, done, error",
    ),
    (
        ["file", BUDGET, "--local", "--api-url", "http://127.0.0.1:9"],
        {},
        2,
        "--local runs its own server: --api-url has no effect with it",
        "drop one of --local and --api-url",
    ),
    (
        ["file", BUDGET, "--local"],
        {"GLADIA_CONFIG": "/no/such/config.toml"},
        2,
        "GLADIA_CONFIG names /no/such/config.toml, which does not exist",
        "unset GLADIA_CONFIG",
    ),
    (
        ["file", BUDGET, "-o", "talk.srt", "-f", "text"],
        {},
        2,
        "-o talk.srt is a .srt file, but --format text was asked",
        "write to talk.txt",
    ),
    (
        ["file", BUDGET, "-f", "bogus"],
        {},
        2,
        "--format: 'bogus' is not one of its values",
        "table, text, jsonl, json, srt, vtt",
    ),
    (["file", BUDGET, "--pace", "fast"], {}, 2, "invalid --pace 'fast'", "such as 2x"),
    (["file", BUDGET, "--chunk-ms", "5"], {}, 2, "--chunk-ms 5 is out of range", "20 to 1000"),
    (["live", "--channels", "9"], {}, 2, "--channels 9 is out of range", "from 1 to 8"),
    (["sessions", "get"], {}, 2, "missing SESSION_ID", "'gladia sessions get --help'"),
    (["nosuch"], {}, 2, "no such command 'nosuch'", "'gladia --help'"),
]


def _single_error(run: Run, code: int, error: str, hint: str | None) -> None:
    assert run.code == code, (run.code, run.stderr)
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("gladia: error: ")]
    hints = [line for line in run.stderr.splitlines() if line.startswith("gladia: hint: ")]
    assert len(errors) == 1, run.stderr
    assert error in errors[0], run.stderr
    if hint is not None:
        assert len(hints) == 1 and hint in hints[0], run.stderr


@pytest.mark.parametrize(
    ("args", "env", "code", "error", "hint"), CASES, ids=[" ".join(c[0][:4]) for c in CASES]
)
def test_one_error_line_a_hint_and_the_exit_code(
    args: list[str], env: dict[str, str], code: int, error: str, hint: str | None
) -> None:
    run = run_cli(*args, env=env, timeout=30)
    _single_error(run, code, error, hint)
    assert run.stdout == ""
    if args[:1] != ["file"] or args == ["file"]:
        return
    # Before any I/O: nothing else was said (no "streaming …", no server log lines).
    others = [line for line in run.stderr.splitlines() if not line.startswith("gladia: ")]
    assert not others, run.stderr


def test_a_missing_argument_prints_the_help_on_stderr() -> None:
    run = run_cli("file", timeout=30)
    assert "Usage: gladia file [OPTIONS] PATH" in run.stderr and run.stdout == ""


def test_no_device_is_exit_5_with_and_without_json() -> None:
    listed = run_cli("devices", "--json", timeout=30)
    if json.loads(listed.stdout or "null") != []:
        pytest.skip("this machine has an input device")
    _single_error(listed, 5, "no audio input device found", "connect a microphone")
    _single_error(run_cli("devices", timeout=30), 5, "no audio input device found", None)


def test_the_local_server_warns_about_what_its_engines_ignore(tmp_path: Path) -> None:
    run = run_cli(
        "file", BUDGET, "--local", "--local-engine", "scripted", "--pace", "max",
        "-f", "text", "--vocabulary", "Gladia", "--audio-enhancer", timeout=60,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    # (A loaded machine may add that recognition gave way: a stated degradation, not this.)
    warnings = [
        line
        for line in run.stderr.splitlines()
        if "warning:" in line and "behind the audio" not in line
    ]
    assert warnings == [
        "gladia: warning: the local server accepts but ignores --vocabulary, --audio-enhancer "
        "(its engines do not implement them)"
    ]
