"""`gladia sessions …` and `gladia serve` as a user runs them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import soundfile as sf

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import run_cli
from tests.support import GLADIA, serve_process, tone_bursts


def test_sessions_get_list_delete(scripted: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, tone_bursts([(0.2, 0.6, 0)], total=1.0), 16000)
    env = {"GLADIA_API_URL": scripted.url}
    streamed = run_cli("file", str(path), "--pace", "max", env=env)
    session_id = streamed.jsonl()[0]["session_id"]

    listed = run_cli("sessions", "list", "--limit", "50", env=env)  # a pipe: JSON lines
    assert listed.code == 0
    assert session_id in [item["id"] for item in listed.jsonl()]
    done = run_cli("sessions", "list", "--status", "done", "-f", "json", env=env)
    assert all(item["status"] == "done" for item in json.loads(done.stdout)["items"])

    got = run_cli("sessions", "get", session_id, env=env)
    assert got.code == 0 and json.loads(got.stdout)["result"]["transcription"]["utterances"]

    deleted = run_cli("sessions", "delete", session_id, env=env)
    assert deleted.code == 0 and session_id in deleted.stderr
    missing = run_cli("sessions", "get", session_id, env=env)
    assert missing.code == 2 and "not found" in missing.stderr and "Traceback" not in missing.stderr


def test_sessions_against_an_unreachable_server() -> None:
    run = run_cli("sessions", "list", env={"GLADIA_API_URL": "http://127.0.0.1:9"})
    assert run.code == 4 and run.stderr.startswith("gladia: error: cannot reach")


def test_settings_come_from_the_config_file(scripted: LocalServer, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'api_url = "{scripted.url}"\napi_key = "from-file"\n')
    run = run_cli("sessions", "list", env={"GLADIA_CONFIG": str(config), "GLADIA_API_KEY": ""})
    assert run.code == 0, run.stderr
    config.write_text("api_url = [broken\n")
    broken = run_cli("sessions", "list", env={"GLADIA_CONFIG": str(config)})
    assert broken.code == 2 and "config file" in broken.stderr


def test_serve_refuses_to_expose_itself_without_a_key() -> None:
    done = subprocess.run(
        [*GLADIA, "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert b"--api-key" in done.stderr and b"Traceback" not in done.stderr


def test_serve_with_a_key_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, tone_bursts([(0.2, 0.6, 0)], total=1.0), 16000)
    with serve_process(
        "--engine", "scripted", env={"GLADIA_SERVER_API_KEY": "server-secret"}
    ) as url:
        wrong = run_cli("file", str(path), "--pace", "max", env={"GLADIA_API_URL": url})
        assert wrong.code == 3
        right = run_cli(
            "file",
            str(path),
            "--pace",
            "max",
            env={"GLADIA_API_URL": url, "GLADIA_API_KEY": "server-secret"},
        )
        assert right.code == 0 and right.finals()


def test_serve_on_a_busy_port() -> None:
    with serve_process("--engine", "scripted") as url:
        port = url.rsplit(":", 1)[1]
        done = subprocess.run(
            [*GLADIA, "serve", "--port", port], capture_output=True, timeout=30, check=False
        )
        assert done.returncode == 4
        assert b"cannot listen" in done.stderr and b"Traceback" not in done.stderr


def test_help_and_version() -> None:
    top = run_cli("--help")
    assert (
        top.code == 0
        and "file" in top.stdout
        and "serve" in top.stdout
        and "sessions" in top.stdout
    )
    assert run_cli("--version").stdout.startswith("gladia ")
    bare = run_cli()  # no arguments: the help, and a usage error
    assert bare.code == 2 and "Commands:" in bare.stderr
    assert "gladia: error: gladia needs a command" in bare.stderr


def test_serve_fail_recognition_after_reaches_the_client_as_exit_4(tmp_path: Path) -> None:
    """The fault works in any engine (here the scripted one, in `gladia serve`): the run
    exits 4 with one error line, and the session is in status error."""
    path = tmp_path / "speech.wav"
    sf.write(path, tone_bursts([(0.2, 0.6, 0), (1.2, 0.6, 0)], total=2.0), 16000)
    # The first burst's utterance closes at 1.1 s (0.3 s of silence after it), before 1.5 s.
    with serve_process("--engine", "scripted", "--fail-recognition-after", "1.5") as url:
        env = {"GLADIA_API_URL": url}
        run = run_cli("file", str(path), "--pace", "max", env=env)
        assert run.code == 4, run.stderr
        assert "Traceback" not in run.stderr
        errors = [line for line in run.stderr.splitlines() if line.startswith("gladia: error:")]
        assert len(errors) == 1 and "recognition failed" in errors[0], run.stderr
        assert len(run.finals()) == 1  # what came before the failure is kept and shown
        session_id = run.jsonl()[0]["session_id"]
        got = json.loads(run_cli("sessions", "get", session_id, env=env).stdout)
        assert (got["status"], got["error_code"]) == ("error", 500)
