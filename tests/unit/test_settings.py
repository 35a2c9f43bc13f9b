"""Settings precedence: flags > environment > profile > defaults; the key never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from gladia_cli.credentials import MemoryKeyStore
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


# --- profiles and the key store (credentials.MemoryKeyStore stands in for the keyring) ---


def _config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(0o600)
    return {"GLADIA_CONFIG": str(path)}


PROFILES = (
    'api_url = "http://top:1"\napi_key = "top-key"\n'
    '[profiles.work]\napi_url = "http://work:2"\nregion = "us-west"\n'
    '[profiles.lab]\napi_key = "lab-key"\n'
)


def test_a_profile_is_self_contained_and_its_keyring_entry_goes_first(tmp_path: Path) -> None:
    env = _config(tmp_path, PROFILES)
    store = MemoryKeyStore({"work": "work-keyring", "default": "top-keyring"})
    default = resolve(environ=env, key_store=store)
    assert (default.api_key, default.api_url, default.profile) == (
        "top-keyring",
        "http://top:1",
        "default",
    )
    assert default.key_source == "keyring (memory), profile default"
    work = resolve(profile="work", environ=env, key_store=store)
    assert (work.api_key, work.api_url, work.region) == ("work-keyring", "http://work:2", "us-west")
    lab = resolve(environ=env | {"GLADIA_PROFILE": "lab"}, key_store=store)
    assert (lab.api_key, lab.api_url, lab.profile_source) == (
        "lab-key",
        DEFAULT_API_URL,  # not the top level's URL: that is another profile's
        "GLADIA_PROFILE",
    )
    assert lab.key_source == f"config file {tmp_path / 'config.toml'} [profiles.lab]"
    no_store = resolve(profile="work", environ=env)
    assert no_store.api_key is None  # never the top level's key


def test_flags_then_environment_then_profile(tmp_path: Path) -> None:
    env = _config(tmp_path, PROFILES) | {"GLADIA_PROFILE": "lab"}
    flagged = resolve(profile="work", environ=env)
    assert flagged.profile == "work" and flagged.profile_source == "--profile"
    env |= {"GLADIA_API_URL": "http://env:3", "GLADIA_API_KEY": "env-key"}
    from_env = resolve(profile="work", environ=env, key_store=MemoryKeyStore({"work": "k"}))
    assert (from_env.api_url, from_env.api_key, from_env.key_source) == (
        "http://env:3",
        "env-key",
        "GLADIA_API_KEY",
    )
    from_flags = resolve(profile="work", api_url="http://flag:4", api_key="flag-key", environ=env)
    assert (from_flags.api_url, from_flags.key_source) == ("http://flag:4", "--api-key")


def test_an_unknown_profile_names_the_profiles_there_are(tmp_path: Path) -> None:
    env = _config(tmp_path, PROFILES)
    with pytest.raises(UsageError, match=r"no profile 'nope' .*\(profiles: default, lab, work\)"):
        resolve(profile="nope", environ=env)
    assert resolve(profile="nope", environ=env, new_profile=True).profile == "nope"
    with pytest.raises(UsageError, match="not a profile name"):
        resolve(profile="../x", environ=env, new_profile=True)
    with pytest.raises(UsageError, match=r"unknown key\(s\) in .*\[profiles.work\]: colour"):
        resolve(environ=_config(tmp_path, '[profiles.work]\ncolour = "blue"\n'))


def test_a_failing_keyring_falls_back_to_the_file_and_says_why(tmp_path: Path) -> None:
    env = _config(tmp_path, PROFILES)
    locked = MemoryKeyStore(failure="the collection is locked")
    with_file = resolve(environ=env, key_store=locked)
    assert (
        with_file.api_key == "top-key" and with_file.keyring_problem == "the collection is locked"
    )
    without = resolve(profile="work", environ=env, key_store=locked)
    assert without.api_key is None and without.keyring_problem == "the collection is locked"


def test_local_runs_never_ask_the_keyring(tmp_path: Path) -> None:
    locked = MemoryKeyStore(failure="would prompt for a password")
    settings = resolve(local=True, environ={"XDG_CONFIG_HOME": str(tmp_path)}, key_store=locked)
    assert settings.api_key is None and settings.keyring_problem is None


def test_a_readable_file_with_a_key_in_any_profile_is_warned_about(tmp_path: Path) -> None:
    env = _config(tmp_path, '[profiles.lab]\napi_key = "lab-key"\n')
    Path(env["GLADIA_CONFIG"]).chmod(0o644)
    warnings: list[str] = []
    resolve(environ=env, warn=warnings.append)
    assert len(warnings) == 1 and "chmod 600" in warnings[0] and "lab-key" not in warnings[0]
