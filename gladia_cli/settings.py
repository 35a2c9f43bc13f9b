"""Where the client connects and with which key: resolved once, at the edge, then passed down.

Precedence, for each of the key, the URL and the region: command-line flags (`--api-key`,
`--api-url`, `--region`) > environment (`GLADIA_API_KEY`, `GLADIA_API_URL`, `GLADIA_REGION`)
> the profile > defaults. `--local` overrides the URL with the embedded server (and needs
no key: stored keys are not even looked up).

When none of those holds a key, the default profile also takes the key of Gladia's own Go
CLI (gladiaio/gladia-cli, also called `gladia`): the first line of `~/.gladia`, which that
CLI writes with `gladia auth set` and reads after GLADIA_API_KEY. A named profile never
does (it is self-contained). Like the config file, a key file others can read is warned of.

The profile is the one `--profile NAME` names, else `GLADIA_PROFILE`, else `default`. Its
values: the key saved by `gladia auth login` in the OS keyring (one entry per profile, see
credentials.py), else the `api_key` of its table in the config file; `api_url` and `region`
from that table. `default` is the config file's top level; another profile is a table
`[profiles.NAME]`, self-contained: it never takes the top level's key or URL, so one
account's key is never sent to another's server. The config file is
`$XDG_CONFIG_HOME/gladia/config.toml`, which may be absent, or the file named by
`GLADIA_CONFIG`, which must exist. A profile that is neither `default` nor a table there is a
usage error naming those there are.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gladia_cli.credentials import (
    DEFAULT_PROFILE,
    PROFILE_NAME,
    KeyStore,
    KeyStoreError,
    key_problem,
)
from gladia_cli.errors import AuthError, UsageError
from gladia_cli.protocol.init_config import REGIONS
from gladia_cli.server.recognition.engines.catalog import DEFAULT_ENGINE, DEFAULT_MODEL

DEFAULT_API_URL = "https://api.gladia.io"
LOCAL_API_KEY = "local"  # the embedded server accepts any key; this one says where it came from
VALUE_NAMES = ("api_key", "api_url", "region")  # what the top level and each profile may hold
GO_CLI_KEY_FILE = ".gladia"  # in the home directory (Gladia's Go CLI, protocol.md §11)
_FILE_HINT = "the config file may hold api_key, api_url and region, and [profiles.NAME] tables"


@dataclass(frozen=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    # repr=False: the key must never reach a log line, an error message or a traceback.
    api_key: str | None = field(default=None, repr=False)
    region: str | None = None
    local: bool = False
    local_engine: str = DEFAULT_ENGINE
    local_model: str = DEFAULT_MODEL
    profile: str = DEFAULT_PROFILE
    profile_source: str = "default"  # "--profile", "GLADIA_PROFILE" or "default"
    key_source: str | None = None  # where the key came from, in words (never the key)
    keyring_problem: str | None = None  # why the keyring could not be read, when it could not

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)


def config_path(environ: Mapping[str, str]) -> Path:
    if environ.get("GLADIA_CONFIG"):
        return Path(environ["GLADIA_CONFIG"])
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "gladia" / "config.toml"


@dataclass(frozen=True)
class ConfigFile:
    """The config file as read: its top level, its profiles, its mode (None: absent)."""

    path: Path
    top: dict[str, Any]
    profiles: dict[str, dict[str, Any]]
    mode: int | None

    @property
    def holds_a_key(self) -> bool:
        return bool(self.top.get("api_key")) or any(
            p.get("api_key") for p in self.profiles.values()
        )

    @property
    def readable_by_others(self) -> bool:
        return self.mode is not None and bool(self.mode & 0o077)

    def values_of(self, profile: str) -> dict[str, Any]:
        return self.top if profile == DEFAULT_PROFILE else self.profiles.get(profile, {})

    def where(self, profile: str) -> str:
        return str(self.path) if profile == DEFAULT_PROFILE else f"{self.path} [profiles.{profile}]"


def _check_values(path: Path, where: str, values: dict[str, Any]) -> None:
    unknown = set(values) - set(VALUE_NAMES)
    if unknown:
        raise UsageError(
            f"unknown key(s) in {where}: {', '.join(sorted(unknown))}", hint=_FILE_HINT
        )
    for name, value in values.items():
        if not isinstance(value, str):
            raise UsageError(f"{name} in {where} must be a string", hint=_FILE_HINT)


def read_config(environ: Mapping[str, str]) -> ConfigFile:
    """The config file; `GLADIA_CONFIG` names one that must exist, the default may not."""
    path = config_path(environ)
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
            mode: int | None = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
    except FileNotFoundError:
        if environ.get("GLADIA_CONFIG"):
            raise UsageError(
                f"GLADIA_CONFIG names {path}, which does not exist",
                hint="create it (it may hold api_key, api_url and region), or unset GLADIA_CONFIG",
            ) from None
        return ConfigFile(path, {}, {}, None)
    except UnicodeDecodeError:  # tomllib decodes the bytes itself, and says nothing of it
        raise UsageError(
            f"cannot read the config file {path}: it is not UTF-8 text",
            hint=f"fix or remove the file; {_FILE_HINT}",
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read the config file {path}: {exc}",
            hint=f"fix or remove the file; {_FILE_HINT}",
        ) from None
    profiles_table = data.pop("profiles", {})
    if not isinstance(profiles_table, dict):
        raise UsageError(f"profiles in {path} must be tables: [profiles.NAME]", hint=_FILE_HINT)
    _check_values(path, str(path), data)
    profiles: dict[str, dict[str, Any]] = {}
    for name, values in profiles_table.items():
        where = f"{path} [profiles.{name}]"
        if not isinstance(values, dict):
            raise UsageError(f"{where} must be a table", hint=_FILE_HINT)
        _check_values(path, where, values)
        profiles[name] = values
    return ConfigFile(path, data, profiles, mode)


@dataclass(frozen=True)
class KeyFile:
    """Gladia's Go CLI key file as read: its first line, its mode."""

    path: Path
    key: str | None
    mode: int

    @property
    def readable_by_others(self) -> bool:
        return bool(self.mode & 0o077)

    @property
    def source(self) -> str:
        return f"Gladia's CLI key file {self.path}"


def read_key_file(environ: Mapping[str, str]) -> KeyFile | None:
    """`~/.gladia`, when there is one that can be read (None otherwise: it is optional)."""
    home = environ.get("HOME")
    if not home:
        return None
    path = Path(home) / GO_CLI_KEY_FILE
    try:
        with path.open("rb") as f:
            mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            first = f.readline(4097)
    except OSError:
        return None
    key = first.decode("utf-8", "replace").strip()  # as the Go CLI: TrimSpace
    return KeyFile(path, key or None, mode)


def check_profile_name(name: str) -> str:
    if not PROFILE_NAME.match(name):
        raise UsageError(
            f"not a profile name: {name!r}",
            hint="a profile name is letters, digits, - and _ (at most 64)",
        )
    return name


def chosen_profile(flag: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """The profile's name and what chose it: --profile > GLADIA_PROFILE > default."""
    if flag is not None:  # `--profile ""` (an unset variable) must not mean the default
        return check_profile_name(flag), "--profile"
    if environ.get("GLADIA_PROFILE"):
        return check_profile_name(environ["GLADIA_PROFILE"]), "GLADIA_PROFILE"
    return DEFAULT_PROFILE, "default"


def unknown_profile(name: str, file: ConfigFile) -> UsageError:
    names = ", ".join([DEFAULT_PROFILE, *sorted(file.profiles)])
    return UsageError(
        f"no profile {name!r} in {file.path} (profiles: {names})",
        hint=f"create it with: gladia auth login --profile {name}",
    )


def resolve(
    *,
    api_key: str | None = None,
    api_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    local: bool = False,
    local_engine: str = DEFAULT_ENGINE,
    local_model: str = DEFAULT_MODEL,
    environ: Mapping[str, str],
    key_store: KeyStore | None = None,
    warn: Callable[[str], None] | None = None,
    new_profile: bool = False,
) -> Settings:
    """The settings in force. `key_store`: where saved keys are looked up (None: nowhere);
    `new_profile`: the profile may be one the config file does not have yet (auth login)."""
    file = read_config(environ)
    name, chosen_by = chosen_profile(profile, environ)
    if name != DEFAULT_PROFILE and name not in file.profiles and not new_profile:
        raise unknown_profile(name, file)
    values = file.values_of(name)
    if file.holds_a_key and file.readable_by_others and warn is not None:
        warn(
            f"{file.path} holds an API key and other users can read it (mode {file.mode:04o}); "
            f"fix it with: chmod 600 {file.path}"
        )

    def pick(flag: str | None, env: str, key: str) -> str | None:
        value = flag or environ.get(env) or values.get(key)
        return str(value) if value else None

    url = pick(api_url, "GLADIA_API_URL", "api_url") or DEFAULT_API_URL
    chosen_region = pick(region, "GLADIA_REGION", "region")
    if chosen_region is not None and chosen_region not in REGIONS:
        raise UsageError(
            f"unknown region {chosen_region!r}", hint=f"use one of: {', '.join(REGIONS)}"
        )
    if not url.startswith(("http://", "https://")):
        raise UsageError(
            f"the API URL must start with http:// or https:// (got {url!r})",
            hint="for example https://api.gladia.io",
        )
    key, source, problem = _key(api_key, environ, name, values, file, key_store, local)
    if key is None and not local and name == DEFAULT_PROFILE:
        key_file = read_key_file(environ)
        if key_file is not None and key_file.key:
            key, source = key_file.key, key_file.source
            if key_file.readable_by_others and warn is not None:
                warn(
                    f"{key_file.path} (Gladia's CLI key file) holds the API key in use and "
                    f"other users can read it (mode {key_file.mode:04o}); fix it with: "
                    f"chmod 600 {key_file.path}"
                )
    wrong = key_problem(key) if key else None
    if wrong is not None:
        where = {"GLADIA_API_KEY": "fix or unset GLADIA_API_KEY", "--api-key": "fix --api-key"}
        raise AuthError(
            f"the API key from {source} {wrong}",
            hint=f"{where.get(str(source), 'run gladia auth login')}: the key alone, on one "
            "line (a key file read with its CRLF keeps a \\r)",
        )
    return Settings(
        api_url=url.rstrip("/"),
        api_key=key,
        region=chosen_region,
        local=local,
        local_engine=local_engine,
        local_model=local_model,
        profile=name,
        profile_source=chosen_by,
        key_source=source,
        keyring_problem=problem,
    )


def _key(
    flag: str | None,
    environ: Mapping[str, str],
    profile: str,
    values: dict[str, Any],
    file: ConfigFile,
    key_store: KeyStore | None,
    local: bool,
) -> tuple[str | None, str | None, str | None]:
    """The key, where it came from, and why the keyring failed (if it was asked and did)."""
    if flag:
        return flag, "--api-key", None
    if environ.get("GLADIA_API_KEY"):
        return environ["GLADIA_API_KEY"], "GLADIA_API_KEY", None
    if local:  # the embedded server takes any key: no keyring prompt for nothing
        return None, None, None
    problem = None
    if key_store is not None:
        try:
            stored = key_store.get(profile)
        except KeyStoreError as exc:
            stored, problem = None, str(exc)
        if stored:
            return stored, f"{key_store.describe()}, profile {profile}", None
    if values.get("api_key"):
        return str(values["api_key"]), f"config file {file.where(profile)}", problem
    return None, None, problem
