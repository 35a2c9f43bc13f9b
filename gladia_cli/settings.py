"""Where the client connects and with which key: resolved once, at the edge, then passed down.

Precedence: command-line flags > environment (`GLADIA_API_KEY`, `GLADIA_API_URL`,
`GLADIA_REGION`) > the config file (`$XDG_CONFIG_HOME/gladia/config.toml`, which may be
absent, or the file named by `GLADIA_CONFIG`, which must exist) > defaults. `--local`
overrides the URL with the embedded server.
"""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gladia_cli.errors import UsageError
from gladia_cli.protocol.init_config import REGIONS
from gladia_cli.server.engines.catalog import DEFAULT_ENGINE, DEFAULT_MODEL

DEFAULT_API_URL = "https://api.gladia.io"
LOCAL_API_KEY = "local"  # the embedded server accepts any key; this one says where it came from


@dataclass(frozen=True)
class Settings:
    api_url: str = DEFAULT_API_URL
    # repr=False: the key must never reach a log line, an error message or a traceback.
    api_key: str | None = field(default=None, repr=False)
    region: str | None = None
    local: bool = False
    local_engine: str = DEFAULT_ENGINE
    local_model: str = DEFAULT_MODEL
    local_debug: bool = False  # the embedded server logs failures (tracebacks) on stderr

    @property
    def has_key(self) -> bool:
        return bool(self.api_key)


def config_path(environ: Mapping[str, str]) -> Path:
    if environ.get("GLADIA_CONFIG"):
        return Path(environ["GLADIA_CONFIG"])
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "gladia" / "config.toml"


def _read_config(path: Path, *, named: bool, warn: Callable[[str], None]) -> dict[str, Any]:
    """The config file's keys; `named`: GLADIA_CONFIG names it, so it must exist."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
            mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
    except FileNotFoundError:
        if named:
            raise UsageError(
                f"GLADIA_CONFIG names {path}, which does not exist",
                hint="create it (it may hold api_key, api_url and region), or unset GLADIA_CONFIG",
            ) from None
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(
            f"cannot read the config file {path}: {exc}",
            hint="fix or remove the file; it may hold api_key, api_url and region",
        ) from None
    unknown = set(data) - {"api_key", "api_url", "region"}
    if unknown:
        raise UsageError(
            f"unknown key(s) in {path}: {', '.join(sorted(unknown))}",
            hint="the config file may hold api_key, api_url and region",
        )
    if data.get("api_key") and mode & 0o077:
        warn(
            f"{path} holds an API key and other users can read it (mode {mode:04o}); "
            f"fix it with: chmod 600 {path}"
        )
    return data


def resolve(
    *,
    api_key: str | None = None,
    api_url: str | None = None,
    region: str | None = None,
    local: bool = False,
    local_engine: str = DEFAULT_ENGINE,
    local_model: str = DEFAULT_MODEL,
    local_debug: bool = False,
    environ: Mapping[str, str],
    warn: Callable[[str], None] | None = None,
) -> Settings:
    file = _read_config(
        config_path(environ),
        named=bool(environ.get("GLADIA_CONFIG")),
        warn=warn or (lambda _: None),
    )

    def pick(flag: str | None, env: str, key: str) -> str | None:
        value = flag or environ.get(env) or file.get(key)
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
    return Settings(
        api_url=url.rstrip("/"),
        api_key=pick(api_key, "GLADIA_API_KEY", "api_key"),
        region=chosen_region,
        local=local,
        local_engine=local_engine,
        local_model=local_model,
        local_debug=local_debug,
    )
