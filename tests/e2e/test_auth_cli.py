"""`gladia auth` and `--profile` end to end: the CLI (in-process; a pty), a local server that
accepts one key, and keyring's file backend (keyrings.alt) in a temporary data directory."""

from __future__ import annotations

import json
import os
import pty
import select
import stat
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import DATA, NO_KEYRING, PLAINTEXT, Home, Run
from tests.support import GLADIA, local_server

GOOD = "gl-good-key-0123456789abcdef"  # long enough for its first four characters to show
OTHER = "gl-other-key-9876543210fedcba"
BAD = "gl-bad-key-000000000000000000"
CLOSED = "http://127.0.0.1:9"  # the discard port: nothing listens on loopback there


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server(api_key=GOOD) as running:
        yield running


@pytest.fixture(scope="module")
def other_server() -> Iterator[LocalServer]:
    with local_server(api_key=OTHER) as running:
        yield running


def _never_shows(run: Run, *keys: str) -> None:
    for key in keys:
        assert key not in run.stdout and key not in run.stderr
    assert "Traceback" not in run.stderr


def _sessions_on(server: LocalServer, key: str = GOOD) -> int:
    response = requests.get(
        f"{server.url}/v2/live?limit=100", headers={"x-gladia-key": key}, timeout=10
    )
    return len(response.json()["items"])


def test_login_saves_a_checked_key_in_the_keyring_and_file_then_uses_it(
    home: Home, server: LocalServer
) -> None:
    login = home.run("auth", "login", "--api-url", server.url, stdin=f"{GOOD}\n".encode())
    assert login.code == 0, login.stderr
    assert "accepted the key" in login.stderr
    assert f"saved the key for profile default in the keyring ({PLAINTEXT})" in login.stderr
    _never_shows(login, GOOD)
    assert "gladia" in home.saved_in_keyring()  # keyring's own file: not ours to parse
    saved = tomllib.loads(home.config.read_text())
    assert saved == {"api_url": server.url}  # the URL given, and no key in the file
    before = _sessions_on(server)
    used = home.run("file", str(DATA / "budget.wav"), "--pace", "max", "--format", "text")
    assert used.code == 0, used.stderr
    assert _sessions_on(server) == before + 1
    _never_shows(used, GOOD)


def test_login_with_a_refused_key_exits_3_and_saves_nothing(
    home: Home, server: LocalServer
) -> None:
    login = home.run("auth", "login", "--api-url", server.url, stdin=f"{BAD}\n".encode())
    assert login.code == 3, login.stderr
    assert login.stderr.startswith("gladia: error: the API refused the key (401)")
    assert "nothing was saved" in login.stderr and "gladia: hint:" in login.stderr
    _never_shows(login, BAD)
    assert not home.config.exists() and home.saved_in_keyring() == ""


def test_login_to_an_unreachable_api_exits_4_and_saves_nothing(home: Home) -> None:
    login = home.run("auth", "login", "--api-url", CLOSED, stdin=f"{GOOD}\n".encode())
    assert login.code == 4, login.stderr
    assert "cannot reach http://127.0.0.1:9" in login.stderr and "nothing was saved" in login.stderr
    assert not home.config.exists() and home.saved_in_keyring() == ""


def test_login_without_a_key_is_a_usage_error(home: Home, server: LocalServer) -> None:
    login = home.run("auth", "login", "--api-url", server.url, stdin=b"\n")
    assert login.code == 2 and "no key given" in login.stderr
    assert not home.config.exists()


def test_without_a_keyring_the_key_goes_to_a_0600_config_file(
    home: Home, server: LocalServer
) -> None:
    login = home.run(
        "auth", "login", "--api-url", server.url, stdin=f"{GOOD}\n".encode(), backend=NO_KEYRING
    )
    assert login.code == 0, login.stderr
    assert "gladia: warning: the keyring cannot be used" in login.stderr
    assert f"in the config file {home.config} (mode 0600)" in login.stderr
    assert stat.S_IMODE(home.config.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.config.parent.stat().st_mode) == 0o700
    assert tomllib.loads(home.config.read_text()) == {"api_url": server.url, "api_key": GOOD}
    _never_shows(login, GOOD)
    listed = home.run("sessions", "list", backend=NO_KEYRING)
    assert listed.code == 0, listed.stderr
    status = home.run("auth", "status", "--json", backend=NO_KEYRING)
    assert json.loads(status.stdout)["key_from"] == f"config file {home.config}"


def test_a_key_written_into_a_readable_config_file_narrows_its_mode(
    home: Home, server: LocalServer
) -> None:
    home.config.parent.mkdir(parents=True)
    home.config.write_text(f'# mine\napi_url = "{server.url}"\n')
    home.config.chmod(0o644)
    login = home.run("auth", "login", stdin=f"{GOOD}\n".encode(), backend=NO_KEYRING)
    assert login.code == 0, login.stderr
    assert f"{home.config} was mode 0644: now readable by you only" in login.stderr
    assert stat.S_IMODE(home.config.stat().st_mode) == 0o600
    assert home.config.read_text().startswith("# mine\n")  # the user's comment kept


def test_status_shows_the_key_masked_and_whether_it_works(home: Home, server: LocalServer) -> None:
    assert home.run("auth", "login", "--api-url", server.url, stdin=GOOD.encode()).code == 0
    status = home.run("auth", "status")
    assert status.code == 0, status.stderr
    assert "key:      gl-g… (28 characters) from keyring" in status.stdout
    assert "check:    accepted" in status.stdout
    as_json = home.run("auth", "status", "--json")
    report = json.loads(as_json.stdout)
    assert report["key"] == "gl-g… (28 characters)" and report["check"] == "accepted"
    assert report["profile"] == "default" and report["api_url"] == server.url
    assert isinstance(report["round_trip_ms"], int)
    from_env = home.run("auth", "status", "--json", GLADIA_API_KEY=BAD)
    assert from_env.code == 3
    assert json.loads(from_env.stdout) | {"round_trip_ms": None} == report | {
        "key": "gl-b… (29 characters)",
        "key_from": "GLADIA_API_KEY",
        "check": "refused",
        "round_trip_ms": None,
    }
    for run in (status, as_json, from_env):
        _never_shows(run, GOOD, BAD)


def test_logout_removes_the_key_and_says_so_twice(home: Home, server: LocalServer) -> None:
    assert home.run("auth", "login", "--api-url", server.url, stdin=GOOD.encode()).code == 0
    first = home.run("auth", "logout")
    assert first.code == 0 and "removed the key of profile default from the keyring" in first.stderr
    again = home.run("auth", "logout")
    assert again.code == 0
    assert "no key is saved for profile default: nothing to remove" in again.stderr
    status = home.run("auth", "status")
    assert status.code == 3 and "key:      none" in status.stdout
    assert "gladia: error: no API key" in status.stderr


def test_profiles_keep_their_own_key_and_url(
    home: Home, server: LocalServer, other_server: LocalServer
) -> None:
    # One profile saved by login (keyring entry "work"), one written by hand.
    login = home.run(
        "auth", "login", "--profile", "work", "--api-url", server.url, stdin=GOOD.encode()
    )
    assert login.code == 0, login.stderr
    with home.config.open("a") as f:
        f.write(f'\n[profiles.lab]\napi_url = "{other_server.url}"\napi_key = "{OTHER}"\n')
    home.config.chmod(0o600)
    assert tomllib.loads(home.config.read_text())["profiles"]["work"] == {"api_url": server.url}

    def status(*args: str, **env: str) -> dict[str, object]:
        run = home.run("auth", "status", "--json", *args, **env)
        _never_shows(run, GOOD, OTHER)
        report: dict[str, object] = json.loads(run.stdout)
        return report | {"code": run.code}

    work = status("--profile", "work")
    assert (work["api_url"], work["check"], work["code"]) == (server.url, "accepted", 0)
    assert work["key_from"] == f"keyring ({PLAINTEXT}), profile work"
    lab = status(GLADIA_PROFILE="lab")
    assert (lab["api_url"], lab["profile_from"], lab["check"]) == (
        other_server.url,
        "GLADIA_PROFILE",
        "accepted",
    )
    # --profile goes before GLADIA_PROFILE; the environment before the profile; a flag
    # before the environment.
    assert status("--profile", "work", GLADIA_PROFILE="lab")["api_url"] == server.url
    crossed = status("--profile", "work", GLADIA_API_URL=other_server.url)
    assert (crossed["api_url"], crossed["check"], crossed["code"]) == (
        other_server.url,
        "refused",
        3,
    )
    flagged = status("--profile", "work", "--api-url", server.url, GLADIA_API_URL=other_server.url)
    assert flagged["check"] == "accepted"
    # The default profile has no key: a profile's key is never used for another.
    default = home.run("sessions", "list")
    assert default.code == 3 and "no API key" in default.stderr
    assert home.run("sessions", "list", "--profile", "lab").code == 0
    # An unknown profile names the profiles there are.
    unknown = home.run("sessions", "list", "--profile", "nope")
    assert unknown.code == 2
    assert (
        "no profile 'nope'" in unknown.stderr and "(profiles: default, lab, work)" in unknown.stderr
    )
    for command in (("doctor", "--skip-engine"), ("auth", "status")):
        assert home.run(*command, GLADIA_PROFILE="nope").code == 2
    # Logout of one profile leaves the other.
    assert home.run("auth", "logout", "--profile", "work").code == 0
    assert status("--profile", "work")["code"] == 3
    assert status("--profile", "lab")["code"] == 0


def test_file_and_live_take_profile(home: Home, server: LocalServer) -> None:
    login = home.run(
        "auth", "login", "--profile", "work", "--api-url", server.url, "--region", "us-west",
        stdin=GOOD.encode(),
    )  # fmt: skip
    assert login.code == 0, login.stderr
    status = json.loads(home.run("auth", "status", "--json", "--profile", "work").stdout)
    assert (status["region"], status["api_url"]) == ("us-west", server.url)
    before = _sessions_on(server)
    run = home.run(
        "file", str(DATA / "budget.wav"), "--profile", "work", "--pace", "max", "-f", "text"
    )
    assert run.code == 0, run.stderr
    assert _sessions_on(server) == before + 1
    unknown = home.run("live", "--profile", "nope")
    assert unknown.code == 2 and "no profile 'nope'" in unknown.stderr


def _read_until(fd: int, needle: bytes, deadline: float) -> bytes:
    seen = b""
    while needle not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {needle!r} in {seen!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_the_login_prompt_does_not_echo_the_key(home: Home, server: LocalServer) -> None:
    """On a real terminal (a pty the child controls), the typed key never shows."""
    env = {**os.environ, **home.env(), "NO_COLOR": "1"}
    env.pop("GLADIA_API_KEY")
    pid, fd = pty.fork()
    if pid == 0:  # the child: the pty is its controlling terminal, as getpass needs
        os.execvpe(GLADIA[0], [*GLADIA, "auth", "login", "--api-url", server.url], env)
    try:
        deadline = time.monotonic() + 60
        prompt = _read_until(fd, b"API key", deadline)
        os.write(fd, f"{GOOD}\r".encode())
        rest = _read_until(fd, b"saved the key", deadline)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0
    assert GOOD.encode() not in prompt + rest
    assert "gladia" in home.saved_in_keyring()


def test_a_locked_keyring_falls_back_to_the_file_in_one_line(
    home: Home, server: LocalServer, tmp_path: Path
) -> None:
    """A keyring backend that is there but refuses (locked), as keyring's own error says."""
    (tmp_path / "locked_keyring.py").write_text(
        "from keyring.backend import KeyringBackend\n"
        "from keyring.errors import KeyringLocked\n"
        "class Locked(KeyringBackend):\n"
        "    priority = 1\n"
        "    def get_password(self, *args):\n"
        "        raise KeyringLocked('the collection is locked')\n"
        "    set_password = delete_password = get_password\n"
    )
    locked = {"backend": "locked_keyring.Locked", "PYTHONPATH": str(tmp_path)}
    login = home.run("auth", "login", "--api-url", server.url, stdin=GOOD.encode(), **locked)
    assert login.code == 0, login.stderr
    assert (
        "gladia: warning: the keyring cannot be used (KeyringLocked: the collection is locked); "
        "saving the key in the config file\n"
    ) in login.stderr
    assert tomllib.loads(home.config.read_text())["api_key"] == GOOD
    listed = home.run("sessions", "list", **locked)
    assert listed.code == 0 and listed.stderr == ""
    status = json.loads(home.run("auth", "status", "--json", **locked).stdout)
    assert status["keyring_problem"] == "KeyringLocked: the collection is locked"
    assert status["check"] == "accepted"
    logout = home.run("auth", "logout", **locked)
    assert logout.code == 1  # a key may still be in the keyring: not a success
    assert "removed the key of profile default from the config file" in logout.stderr
    assert "gladia: error: cannot remove the key of profile default from the keyring" in (
        logout.stderr
    )
    assert "Traceback" not in login.stderr + listed.stderr + logout.stderr
    # Once the keyring works again, a new login moves the key there: one place per key.
    again = home.run("auth", "login", stdin=GOOD.encode())
    assert again.code == 0 and "in the keyring" in again.stderr
    home.run("auth", "login", stdin=GOOD.encode(), backend=NO_KEYRING)
    assert "api_key" in tomllib.loads(home.config.read_text())
    moved = home.run("auth", "login", stdin=GOOD.encode())
    assert f"removed the older key from the config file {home.config}\n" in moved.stderr
    assert "api_key" not in tomllib.loads(home.config.read_text())
