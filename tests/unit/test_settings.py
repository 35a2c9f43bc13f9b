"""Settings precedence: flags > environment > config file > defaults; the key never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from gladia_cli.errors import UsageError
from gladia_cli.settings import DEFAULT_API_URL, config_path, resolve


def test_defaults(tmp_path: Path) -> None:
    settings = resolve(environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert settings.api_url == DEFAULT_API_URL and settings.api_key is None and not settings.local


def test_precedence(tmp_path: Path) -> None:
    (tmp_path / "gladia").mkdir()
    (tmp_path / "gladia" / "config.toml").write_text(
        'api_key = "file-key"\napi_url = "http://file:1"\nregion = "us-west"\n'
    )
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    from_file = resolve(environ=env)
    assert (from_file.api_key, from_file.api_url, from_file.region) == (
        "file-key",
        "http://file:1",
        "us-west",
    )
    env |= {
        "GLADIA_API_KEY": "env-key",
        "GLADIA_API_URL": "http://env:2/",
        "GLADIA_REGION": "eu-west",
    }
    from_env = resolve(environ=env)
    assert (from_env.api_key, from_env.api_url, from_env.region) == (
        "env-key",
        "http://env:2",
        "eu-west",
    )
    from_flags = resolve(
        api_key="flag-key", api_url="https://flag:3", region="us-west", environ=env
    )
    assert (from_flags.api_key, from_flags.api_url, from_flags.region) == (
        "flag-key",
        "https://flag:3",
        "us-west",
    )


def test_config_path_rules(tmp_path: Path) -> None:
    assert config_path({"GLADIA_CONFIG": "/x/y.toml"}) == Path("/x/y.toml")
    assert config_path({"XDG_CONFIG_HOME": "/cfg"}) == Path("/cfg/gladia/config.toml")
    assert config_path({"HOME": "/home/u"}) == Path("/home/u/.config/gladia/config.toml")


@pytest.mark.parametrize(
    ("content", "message"),
    [("api_key = [", "cannot read the config file"), ('colour = "blue"\n', r"unknown key\(s\)")],
)
def test_bad_config_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        resolve(environ={"GLADIA_CONFIG": str(path)})


def test_bad_values(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    with pytest.raises(UsageError, match="region"):
        resolve(region="mars", environ=env)
    with pytest.raises(UsageError, match="http"):
        resolve(api_url="api.gladia.io", environ=env)


def test_the_key_is_not_in_the_repr(tmp_path: Path) -> None:
    settings = resolve(api_key="sk-very-secret", environ={"XDG_CONFIG_HOME": str(tmp_path)})
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings)
