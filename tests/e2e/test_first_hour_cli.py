"""A new user's first hour (issue 19): what they reach for as in gh, httpie or AssemblyAI's
CLI — `gladia version`, `gladia languages`, `get --wait`, a delete that asks, the file name
of a job in the list, examples in every subcommand's help."""

from __future__ import annotations

import json
import os
import pty
import select
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile

from gladia_cli import __version__
from gladia_cli.server.clock import ManualClock
from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import Run, run_cli
from tests.server.clocked import clocked_server
from tests.support import GLADIA, KEY, RawClient, create_session, local_server, tone_bursts

AUDIO = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0), (2.9, 0.6, 0)], total=4.0)
TEXT = ["alpha bravo", "charlie delta", "echo"]  # the scripted engine's words for AUDIO


@pytest.fixture
def held() -> Iterator[tuple[LocalServer, ManualClock]]:
    """Results wait for the test: post-processing takes 60 s on a clock the test moves, so
    a job or session is still processing when asked, however busy the machine is."""
    with clocked_server(faults=Faults(slow_finish=60.0)) as running:
        yield running


def _wait_with_the_clock(args: list[str], server: LocalServer, clock: ManualClock) -> Run:
    """`gladia ARGS` (a `--wait`): once it says it waits, time passes until it ends."""
    process = subprocess.Popen(
        [*GLADIA, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "GLADIA_API_KEY": KEY, "GLADIA_API_URL": server.url},
    )
    assert process.stderr is not None and process.stdout is not None
    first = process.stderr.readline().decode()
    deadline = time.monotonic() + 60  # bounds a broken run only
    while process.poll() is None and time.monotonic() < deadline:
        clock.advance(60.0)
        time.sleep(0.05)
    out, err = process.communicate(timeout=30)
    return Run(process.returncode, out.decode(), first + err.decode())


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    soundfile.write(path, AUDIO, 16000, subtype="PCM_16")
    return path


def at(server: LocalServer) -> dict[str, str]:
    return {"GLADIA_API_URL": server.url}


def test_version_as_a_command_and_a_flag() -> None:
    for args in (("version",), ("--version",)):
        run = run_cli(*args)
        assert run.code == 0 and run.stdout == f"gladia {__version__}\n", run.stderr
    as_json = json.loads(run_cli("version", "--json").stdout)
    assert as_json["gladia"] == __version__ and as_json["python"].startswith("3.")


def test_languages_lists_the_codes_the_api_and_the_local_engines_take() -> None:
    run = run_cli("languages")
    assert run.code == 0, run.stderr
    rows = {row["code"]: row for row in run.jsonl()}
    assert rows["fr"] == {
        "code": "fr",
        "name": "French",
        "transcription": True,
        "translation": True,
        "local": ["base"],
        "local_translation": False,
    }
    assert rows["en"]["local"] == ["base", "tiny.en", "sphinx"] and rows["en"]["local_translation"]
    assert rows["wo"]["transcription"] is False and rows["wo"]["local"] == []
    table = run_cli("languages", "-f", "table")
    assert any(line.split()[:2] == ["pt", "│"] for line in table.stdout.splitlines())
    assert "Portuguese" in table.stdout


def test_transcriptions_get_wait_waits_for_the_job(
    held: tuple[LocalServer, ManualClock], talk: Path
) -> None:
    """The README's `id=$(gladia transcribe … --no-wait) && gladia transcriptions get "$id"`
    raced the job (exit 4, "is processing"); --wait waits."""
    server, clock = held
    created = run_cli("transcribe", str(talk), "--no-wait", env=at(server))
    assert created.code == 0, created.stderr
    job_id = created.stdout.strip()
    early = run_cli("transcriptions", "get", job_id, "-f", "text", env=at(server))
    assert early.code == 4 and "no transcript yet" in early.stderr  # what --wait is for
    waited = _wait_with_the_clock(
        ["transcriptions", "get", job_id, "--wait", "-f", "text"], server, clock
    )
    assert waited.code == 0, waited.stderr
    assert waited.stdout.splitlines() == TEXT
    assert f"transcription {job_id} is " in waited.stderr and "; waiting" in waited.stderr


def test_sessions_get_wait_waits_for_the_session(held: tuple[LocalServer, ManualClock]) -> None:
    server, clock = held
    created = create_session(server.url)
    client = RawClient(created["url"])
    client.send_audio(AUDIO.tobytes())
    client.stop()
    client.close()  # gone: the server finishes the session on its own
    waited = _wait_with_the_clock(
        ["sessions", "get", created["id"], "--wait", "-f", "text"], server, clock
    )
    assert waited.code == 0, waited.stderr
    assert waited.stdout.splitlines() == TEXT
    assert f"session {created['id']} is " in waited.stderr and "; waiting" in waited.stderr


def test_transcriptions_list_names_the_file(talk: Path) -> None:
    with local_server() as server:
        done = run_cli("transcribe", str(talk), "-f", "json", env=at(server))
        assert done.code == 0, done.stderr
        job_id = json.loads(done.stdout)["id"]
        listed = run_cli(
            "transcriptions", "list", "-f", "table", env={**at(server), "COLUMNS": "200"}
        )
    assert listed.code == 0, listed.stderr
    header = listed.stdout.splitlines()[0]
    assert header.split()[-1] == "file"
    row = next(line for line in listed.stdout.splitlines() if line.startswith(job_id[:8]))
    assert row.rstrip().endswith("talk.wav")


def _on_a_terminal(args: list[str], answer: bytes | None, env: dict[str, str]) -> tuple[int, str]:
    """The CLI with stdin and stderr on a terminal (a pty); `answer` typed at its prompt."""
    leader, follower = pty.openpty()
    environ = {
        **os.environ,
        "GLADIA_API_KEY": KEY,
        "XDG_CONFIG_HOME": "/nonexistent",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        **env,
    }
    process = subprocess.Popen(
        [*GLADIA, *args], stdin=follower, stderr=follower, stdout=subprocess.PIPE, env=environ
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while process.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break
            if answer is not None and b"[y/N]" in seen:
                os.write(leader, answer)
                answer = None
        process.wait(timeout=30)
        while select.select([leader], [], [], 0.1)[0]:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    return process.returncode, seen.decode(errors="replace")


def _finished_session(server: LocalServer) -> str:
    created = create_session(server.url)
    client = RawClient(created["url"])
    client.send_audio(AUDIO.tobytes())
    client.stop()
    client.read_until_closed()
    return str(created["id"])


def test_delete_asks_on_a_terminal_and_not_with_yes_or_in_a_script() -> None:
    with local_server() as server:
        kept = _finished_session(server)
        code, screen = _on_a_terminal(["sessions", "delete", kept[:8]], b"n\n", at(server))
        assert code == 0, screen
        assert f"Delete session {kept} (done, created " in screen
        assert f"session {kept} was not deleted" in screen
        assert run_cli("sessions", "get", kept, env=at(server)).code == 0

        code, screen = _on_a_terminal(["sessions", "delete", kept[:8]], b"y\n", at(server))
        assert code == 0 and f"deleted {kept}" in screen, screen
        assert run_cli("sessions", "get", kept, env=at(server)).code == 2

        other = _finished_session(server)
        code, screen = _on_a_terminal(["sessions", "delete", other, "--yes"], None, at(server))
        assert code == 0 and "[y/N]" not in screen and f"deleted {other}" in screen

        piped = _finished_session(server)  # a script: stdin is not a terminal, no question
        run = run_cli("sessions", "delete", piped, env=at(server))
        assert run.code == 0 and f"deleted {piped}" in run.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("sessions", "get"),
        ("sessions", "list"),
        ("sessions", "delete"),
        ("transcriptions", "get"),
        ("transcriptions", "list"),
        ("transcriptions", "delete"),
        ("auth", "login"),
        ("auth", "status"),
        ("auth", "logout"),
        ("languages",),
        ("version",),
    ],
)
def test_every_subcommand_help_ends_with_examples(command: tuple[str, ...]) -> None:
    run = run_cli(*command, "--help")
    assert run.code == 0, run.stderr
    examples = run.stdout.split("Examples:", 1)
    assert len(examples) == 2, run.stdout
    assert f"gladia {' '.join(command)}" in examples[1]


def test_events_help_lists_the_message_types() -> None:
    run = run_cli("file", "--help")
    help_text = " ".join(run.stdout.split())
    for kind in ("transcript", "speech_start", "post_final_transcript", "audio_chunk", "all"):
        assert kind in help_text.split("--events", 1)[1].split("--label", 1)[0], kind


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed (make installs it)")
def test_the_readme_jq_example_for_many_files_prints_clean_lines(tmp_path: Path) -> None:
    """The README's example printed `a.wav:  alpha bravo`: Gladia's text starts with a space."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    line = next(x for x in readme.splitlines() if x.startswith("gladia file a.wav b.wav | jq"))
    for name in ("a.wav", "b.wav"):
        soundfile.write(tmp_path / name, AUDIO, 16000, subtype="PCM_16")
    command = line.replace("gladia file", f"{shlex.join(GLADIA)} file --pace max", 1)
    with local_server() as server:
        done = subprocess.run(
            command,
            shell=True,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "GLADIA_API_URL": server.url, "GLADIA_API_KEY": KEY},
            check=False,
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sorted(lines) == sorted(f"{n}: {t}" for n in ("a.wav", "b.wav") for t in TEXT)
