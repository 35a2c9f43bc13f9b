"""End-to-end: the real `gladia` CLI against the project's local server, over loopback: in
this process where no process boundary is needed, else as a subprocess (tests/cli_run.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gladia_cli.server.runner import LocalServer
from tests.cli_run import Run, run_cli
from tests.shared_models import shared_whisper_models  # noqa: F401 (autouse)
from tests.support import local_server

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="session")
def fixtures() -> dict[str, Any]:
    """tests/data/fixtures.json: each speech fixture, its text, the words sphinx gets and
    the words whisper gets."""
    entries = json.loads((DATA / "fixtures.json").read_text())
    return {Path(entry["file"]).stem: entry for entry in entries}


@pytest.fixture(scope="module")
def scripted() -> Iterator[LocalServer]:
    with local_server() as server:
        yield server


PLAINTEXT = "tests.plaintext_keyring.PlaintextFileKeyring"  # a file keyring, base64 as keyrings.alt
NO_KEYRING = "keyring.backends.fail.Keyring"  # as on a machine with no keyring at all


@dataclass
class Home:
    """A user's config and data directories, empty at first."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config" / "gladia" / "config.toml"

    @property
    def keyring_file(self) -> Path:
        return self.root / "data" / "python_keyring" / "keyring_pass.cfg"

    def env(self, backend: str = PLAINTEXT, **extra: str) -> dict[str, str]:
        return {
            "XDG_CONFIG_HOME": str(self.root / "config"),
            "XDG_DATA_HOME": str(self.root / "data"),
            "PYTHON_KEYRING_BACKEND": backend,
            "GLADIA_API_KEY": "",
            # Gladia's Go CLI keeps a key in ~/.gladia: this machine's must not be read.
            "HOME": str(self.root / "home"),
            **extra,
        }

    def run(self, *args: str, stdin: bytes | None = None, **env: str) -> Run:
        backend = env.pop("backend", PLAINTEXT)
        return run_cli(*args, env=self.env(backend, **env), stdin=stdin)

    def saved_in_keyring(self) -> str:
        return self.keyring_file.read_text() if self.keyring_file.exists() else ""


@pytest.fixture
def home(tmp_path: Path) -> Home:
    return Home(tmp_path)
