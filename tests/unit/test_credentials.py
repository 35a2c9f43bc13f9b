"""The config file edited line by line (comments kept, modes never widened), and the mask."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from gladia_cli.credentials import mask, set_config_value
from gladia_cli.errors import GladiaError


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_is_0600_in_a_0700_directory(tmp_path: Path) -> None:
    path = tmp_path / "gladia" / "config.toml"
    written = set_config_value(path, "default", "api_key", "k-1")
    assert written.created and written.narrowed_from is None
    assert (_mode(path), _mode(path.parent)) == (0o600, 0o700)
    assert tomllib.loads(path.read_text()) == {"api_key": "k-1"}


def test_edits_keep_comments_and_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '# top comment\nregion = "eu-west"\n\n[profiles.lab]  # the lab\napi_url = "http://lab:1"\n'
    )
    path.chmod(0o640)
    set_config_value(path, "default", "api_url", "http://top:2")
    set_config_value(path, "lab", "api_url", "http://lab:3")
    set_config_value(path, "work", "region", "us-west")
    set_config_value(path, "empty", "api_url", None)  # a table with nothing in it
    text = path.read_text()
    assert text.startswith("# top comment\n") and "[profiles.lab]  # the lab" in text
    assert tomllib.loads(text) == {
        "region": "eu-west",
        "api_url": "http://top:2",
        "profiles": {
            "lab": {"api_url": "http://lab:3"},
            "work": {"region": "us-west"},
            "empty": {},
        },
    }
    assert _mode(path) == 0o640  # never widened, and not narrowed without a key


def test_a_key_narrows_a_readable_file_and_removal_leaves_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('api_url = "http://x:1"\n')
    path.chmod(0o644)
    written = set_config_value(path, "default", "api_key", 'with "quotes" \\ and more')
    assert written.narrowed_from == 0o644 and _mode(path) == 0o600
    assert tomllib.loads(path.read_text())["api_key"] == 'with "quotes" \\ and more'
    set_config_value(path, "default", "api_key", None)
    assert tomllib.loads(path.read_text()) == {"api_url": "http://x:1"}
    set_config_value(path, "default", "api_key", None)  # removing what is not there: fine
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_a_broken_file_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("api_url = [broken\n")
    with pytest.raises(GladiaError, match="cannot edit the config file"):
        set_config_value(path, "default", "api_key", "k")
    assert path.read_text() == "api_url = [broken\n"


def test_the_mask_shows_four_characters_of_a_long_key_only() -> None:
    assert mask("gl-0123456789abcdef") == "gl-0… (19 characters)"
    assert mask("short-key") == "… (9 characters)"


def test_tables_spelled_with_spaces_or_quotes_are_found(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[ profiles . "lab" ]\napi_key = "old"\n')
    set_config_value(path, "lab", "api_key", "new")
    assert tomllib.loads(path.read_text()) == {"profiles": {"lab": {"api_key": "new"}}}
