"""`gladia doctor` end to end: the real CLI (in-process) against a local server that accepts
one key, with the set-up broken one way at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import NO_KEYRING, Home, Run
from tests.support import local_server

GOOD = "gl-good-key-0123456789abcdef"
CLOSED = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(api_key=GOOD) as running:
        yield running


@pytest.fixture
def without_portaudio(tmp_path: Path) -> str:
    """A PYTHONPATH where the PortAudio library cannot be found, as on a machine without
    libportaudio2 (the trick tests/mic/test_live.py uses): sounddevice's lookup finds nothing."""
    directory = tmp_path / "no_portaudio"
    directory.mkdir()
    (directory / "sitecustomize.py").write_text(
        "import ctypes.util\n"
        "_find = ctypes.util.find_library\n"
        "ctypes.util.find_library = lambda name: None if 'portaudio' in name else _find(name)\n"
    )
    return str(directory)


def _doctor(home: Home, *args: str, **env: str) -> tuple[Run, dict[str, dict[str, Any]]]:
    run = home.run("doctor", "--json", *args, **env)
    assert "Traceback" not in run.stderr and GOOD not in run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["exit_code"] == run.code and report["ok"] == (run.code == 0)
    return run, {check["name"]: check for check in report["checks"]}


def test_a_good_set_up_passes_with_the_engine_self_test(home: Home, server: LocalServer) -> None:
    run, checks = _doctor(home, "--api-url", server.url, GLADIA_API_KEY=GOOD)
    assert run.code == 0, run.stdout
    assert checks["API"]["status"] == "ok" and " ms; region: " in checks["API"]["detail"]
    assert checks["API key"]["status"] == "ok"
    assert checks["API key"]["detail"] == "gl-g… (28 characters) from GLADIA_API_KEY: accepted"
    assert checks["model base"]["detail"].startswith("sha256 verified")
    assert checks["add-on models"]["status"] == "ok"
    assert checks["self-test (base)"]["status"] == "ok"
    assert checks["self-test (base)"]["detail"].lower().startswith('heard "let us')
    assert checks["versions"]["detail"].startswith("gladia 0.1.0, Python 3.")


def test_a_missing_portaudio_is_a_warning_not_a_failure(
    home: Home, server: LocalServer, without_portaudio: str
) -> None:
    run, checks = _doctor(
        home, "--api-url", server.url, "--skip-engine",
        GLADIA_API_KEY=GOOD, PYTHONPATH=without_portaudio,
    )  # fmt: skip
    assert run.code == 0, run.stdout
    portaudio = checks["PortAudio"]
    assert portaudio["status"] == "warn"
    assert "microphones need libportaudio2" in portaudio["detail"]
    assert "apt-get install libportaudio2" in portaudio["fix"]
    assert "input devices" not in checks


def test_a_refused_key_fails_with_exit_3(home: Home, server: LocalServer) -> None:
    run, checks = _doctor(
        home, "--api-url", server.url, "--skip-engine", GLADIA_API_KEY="gl-wrong-key-000000000"
    )
    assert run.code == 3
    assert checks["API"]["status"] == "ok"
    assert (
        checks["API key"]["status"] == "fail"
        and "refused by the API (401)" in (checks["API key"]["detail"])
    )
    assert checks["API key"]["fix"].startswith("gladia auth login")
    assert run.stderr == "gladia: 1 check(s) failed: API key\n"


def test_no_key_fails_with_exit_3_and_says_how_to_log_in(home: Home, server: LocalServer) -> None:
    run, checks = _doctor(home, "--api-url", server.url, "--skip-engine", "--profile", "default")
    assert run.code == 3
    assert checks["API key"]["detail"] == "none for profile default"
    assert checks["API key"]["fix"] == "gladia auth login --profile default"


def test_an_unreachable_api_fails_with_exit_4(home: Home) -> None:
    run, checks = _doctor(home, "--api-url", CLOSED, "--skip-engine", GLADIA_API_KEY=GOOD)
    assert run.code == 4
    assert checks["API"]["status"] == "fail"
    assert checks["API"]["detail"] == f"cannot reach {CLOSED} (ConnectionError)"
    assert checks["API key"]["status"] == "warn"  # not checked: the API did not answer
    skipped, offline = _doctor(
        home, "--api-url", CLOSED, "--skip-engine", "--skip-network", GLADIA_API_KEY=GOOD
    )
    assert skipped.code == 0 and offline["API"]["status"] == "warn"


def test_a_key_in_a_world_readable_config_file_fails_with_the_chmod(
    home: Home, server: LocalServer
) -> None:
    home.config.parent.mkdir(parents=True)
    home.config.write_text(f'api_url = "{server.url}"\napi_key = "{GOOD}"\n')
    home.config.chmod(0o644)
    run, checks = _doctor(home, "--skip-engine", backend=NO_KEYRING)
    assert run.code == 1
    config = checks["config file"]
    assert config["status"] == "fail" and "mode 0644" in config["detail"]
    assert config["fix"] == f"chmod 600 {home.config}"
    assert checks["API key"]["status"] == "ok"  # the key itself works
    assert checks["keyring"]["status"] == "warn"
    home.config.chmod(0o600)
    fixed, _ = _doctor(home, "--skip-engine", backend=NO_KEYRING)
    assert fixed.code == 0


def test_in_a_pipe_one_line_per_check_and_its_fix(home: Home) -> None:
    run = home.run("doctor", "--api-url", CLOSED, "--skip-engine", GLADIA_API_KEY=GOOD)
    assert run.code == 4
    lines = run.stdout.splitlines()
    api = next(i for i, line in enumerate(lines) if line.startswith("fail  API "))
    assert lines[api + 1].split()[:2] == ["fix:", "check"]
    assert all(line.split()[0] in ("ok", "warn", "fail", "fix:") for line in lines)


def test_local_checks_the_embedded_server_and_needs_no_key(home: Home) -> None:
    run, checks = _doctor(home, "--local", "--skip-engine")
    assert run.code == 0, run.stdout
    assert checks["local server"]["status"] == "ok"
    assert "no key needed" in checks["local server"]["detail"]
    assert "API key" not in checks and "API" not in checks


def test_a_plain_text_keyring_is_a_warning(home: Home) -> None:
    """keyrings.alt's PlaintextKeyring (here its like, tests/plaintext_keyring.py) keeps the
    key base64-encoded in a file: `doctor` must not call that fine."""
    run, checks = _doctor(home, "--skip-network", "--skip-engine")
    keyring = checks["keyring"]
    assert keyring["status"] == "warn", keyring
    assert "plain file" in keyring["detail"] and "PlaintextFileKeyring" in keyring["detail"]
    assert "Secret Service" in keyring["fix"]
    assert run.code == 3  # no key saved: the key check fails, not the keyring


def test_the_default_keyring_of_this_environment_is_not_plain_text(tmp_path: Path) -> None:
    """The dev install brings no plain-text backend that keyring would pick by itself (it
    picked keyrings.alt's PlaintextKeyring for every program of the environment)."""
    import os
    import subprocess
    import sys

    environ = {k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"}
    environ["XDG_CONFIG_HOME"] = str(tmp_path)  # no keyringrc.cfg choosing one
    chosen = subprocess.run(
        [sys.executable, "-c", "import keyring; print(type(keyring.get_keyring()).__name__)"],
        capture_output=True,
        text=True,
        env=environ,
        check=True,
    ).stdout
    assert "plaintext" not in chosen.lower(), chosen
