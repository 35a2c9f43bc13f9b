"""cli/connection.settings_for: the one connection step, said the same way for every
command (the conflict, the keyring, the "no API key" error, the key in `ps`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from gladia_cli.cli.connection import KEY_VISIBLE, settings_for
from gladia_cli.cli.options import ApiConnection, LocalConnection, StreamOptions
from gladia_cli.credentials import MemoryKeyStore
from gladia_cli.environment import Environment
from gladia_cli.errors import AuthError, UsageError


@dataclass
class Said:
    warnings: list[str]

    def __call__(self, text: str) -> None:
        self.warnings.append(text)


def _env(tmp_path: Path, **more: str) -> Environment:
    return Environment(environ={"XDG_CONFIG_HOME": str(tmp_path), **more})


def test_local_and_api_url_conflict_before_any_setting_is_read(tmp_path: Path) -> None:
    locked = MemoryKeyStore(failure="must not be asked")
    for conn in (
        StreamOptions(local=True, api_url="http://127.0.0.1:9"),
        LocalConnection(local=True, api_url="http://127.0.0.1:9"),
    ):
        with pytest.raises(UsageError, match="--local runs its own server") as caught:
            settings_for(conn, _env(tmp_path), Said([]), key_store=locked)
        assert caught.value.hint == "drop one of --local and --api-url"


def test_a_key_given_as_an_option_is_warned_about_once(tmp_path: Path) -> None:
    said = Said([])
    settings = settings_for(StreamOptions(api_key="secret-1"), _env(tmp_path), said)
    assert settings.api_key == "secret-1"
    assert said.warnings == [KEY_VISIBLE] and "secret-1" not in KEY_VISIBLE
    quiet = Said([])
    settings_for(ApiConnection(api_key="secret-1"), _env(tmp_path), quiet, say_key_visible=False)
    assert quiet.warnings == []


def test_a_command_that_needs_a_key_says_so_before_it_starts(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match=r"^no API key$") as caught:
        settings_for(ApiConnection(), _env(tmp_path), Said([]), key_hint="log in first")
    assert caught.value.hint == "log in first"
    locked = MemoryKeyStore(failure="the collection is locked")
    with pytest.raises(AuthError, match=r"the keyring could not be read: the collection"):
        settings_for(ApiConnection(), _env(tmp_path), Said([]), key_hint="x", key_store=locked)
    # --local needs none: its server takes any key.
    local = settings_for(LocalConnection(local=True), _env(tmp_path), Said([]), key_hint="x")
    assert local.local and local.api_key is None


def test_one_that_may_run_without_a_key_is_told_why_the_keyring_gave_none(
    tmp_path: Path,
) -> None:
    locked = MemoryKeyStore(failure="the collection is locked")
    said = Said([])
    settings = settings_for(StreamOptions(), _env(tmp_path), said, key_store=locked)
    assert settings.api_key is None  # --dry-run goes on; the API client asks for the key
    assert said.warnings == ["the keyring could not be read: the collection is locked"]
    found = Said([])
    keyed = settings_for(
        StreamOptions(), _env(tmp_path, GLADIA_API_KEY="from-env"), found, key_store=locked
    )
    assert keyed.api_key == "from-env" and found.warnings == []


def test_the_keyring_is_where_a_saved_key_comes_from(tmp_path: Path) -> None:
    saved = MemoryKeyStore({"default": "saved-key"})
    settings = settings_for(
        ApiConnection(), _env(tmp_path), Said([]), key_hint="x", key_store=saved
    )
    assert settings.api_key == "saved-key"
