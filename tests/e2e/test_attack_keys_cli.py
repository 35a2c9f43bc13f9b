"""Attack: API keys the HTTP library cannot send. A key with a carriage return (a key file
read with its CRLF) made requests fail with the key quoted in its message, which the CLI
printed; a non-ASCII key was an unexpected UnicodeEncodeError. Both are now refused before
any request, in words that never quote the key."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import NO_KEYRING, Home, run_cli

SECRET = "gl-secret-key-0123456789"
CLOSED = "http://127.0.0.1:9"  # nothing listens there: no request may be needed


@pytest.mark.parametrize("key", [f"{SECRET}\r", f"{SECRET}\n", f"{SECRET}é", f"gl {SECRET}"])
def test_a_key_with_a_control_or_non_ascii_character_is_refused_without_quoting_it(
    key: str,
) -> None:
    run = run_cli("sessions", "list", "--api-url", CLOSED, env={"GLADIA_API_KEY": key})
    assert run.code == 3, run.stderr
    assert SECRET not in run.stdout + run.stderr
    assert "gladia: error: the API key from GLADIA_API_KEY holds" in run.stderr
    assert "gladia: hint:" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_key_in_the_config_file_with_a_carriage_return_is_refused_with_debug_too(
    home: Home,
) -> None:
    home.config.parent.mkdir(parents=True)
    home.config.write_text(f'api_key = "{SECRET}\\r"\n')
    home.config.chmod(0o600)
    run = home.run("sessions", "list", "--api-url", CLOSED, "--debug", backend=NO_KEYRING)
    assert run.code == 3, run.stderr
    assert SECRET not in run.stdout + run.stderr
    assert "the API key from config file" in run.stderr


def test_login_refuses_a_non_ascii_key_before_any_request(home: Home) -> None:
    login = home.run("auth", "login", "--api-url", CLOSED, stdin=b"abc\xffdefghijklmnop\n")
    assert login.code == 2, login.stderr
    assert "gladia: error: the key holds non-ASCII characters: nothing was saved" in login.stderr
    assert "Traceback" not in login.stderr
    assert not home.config.exists()


def test_login_refuses_a_first_line_too_long_to_be_a_key(home: Home) -> None:
    """It was cut at 4096 bytes, checked (the local server takes any key) and saved."""
    login = home.run("auth", "login", "--api-url", CLOSED, stdin=b"a" * 100_000)
    assert login.code == 2, login.stderr
    assert "longer than 4096 bytes: not a key, nothing was saved" in login.stderr
    assert home.saved_in_keyring() == "" and not home.config.exists()


@pytest.mark.parametrize(
    "command", [["auth", "login"], ["auth", "status"], ["doctor", "--skip-engine"]]
)
def test_an_empty_profile_name_is_not_the_default_profile(home: Home, command: list[str]) -> None:
    """`--profile "$UNSET"` silently meant the default profile: login overwrote its key."""
    run = home.run(*command, "--profile", "", stdin=f"{SECRET}\n".encode())
    if command[0] == "doctor":  # a failed check among the others
        assert run.code == 2, run.stdout + run.stderr
        assert "fail  settings       not a profile name: ''" in run.stdout
    else:
        assert run.code == 2, run.stdout + run.stderr
        assert "gladia: error: not a profile name: ''" in run.stderr
    assert SECRET not in home.saved_in_keyring()
