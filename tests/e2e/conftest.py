"""End-to-end: the real `gladia` CLI as a subprocess, against the project's local server."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gladia_cli.server.runner import LocalServer
from tests.support import GLADIA, KEY, local_server

DATA = Path(__file__).parent.parent / "data"


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def jsonl(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def finals(self) -> list[dict[str, Any]]:
        return [
            m["data"]["utterance"]
            for m in self.jsonl()
            if m["type"] == "transcript" and m["data"]["is_final"]
        ]

    def words(self) -> set[str]:
        return {w.strip(".,?!").lower() for u in self.finals() for w in u["text"].split()}


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None, timeout: float = 90
) -> Run:
    """`gladia ARGS` with a clean environment (no user config, a test key)."""
    environ = {
        **os.environ,
        "GLADIA_API_KEY": KEY,
        "XDG_CONFIG_HOME": "/nonexistent",
        "NO_COLOR": "1",
        # No keyring: a key saved on this machine must not leak into the tests.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        **(env or {}),
    }
    for name in ("GLADIA_API_URL", "GLADIA_REGION", "GLADIA_CONFIG", "GLADIA_PROFILE"):
        if env is None or name not in env:
            environ.pop(name, None)
    done = subprocess.run(
        [*GLADIA, *args],
        input=stdin,
        capture_output=True,
        env=environ,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


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
