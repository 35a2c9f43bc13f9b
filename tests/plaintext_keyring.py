"""The tests' own file keyring: what `keyrings.alt.file.PlaintextKeyring` does (base64 in
`$XDG_DATA_HOME/python_keyring/keyring_pass.cfg`), without installing keyrings.alt, which
would make a plain file the keyring of every program in the environment. Chosen only by
`PYTHON_KEYRING_BACKEND=tests.plaintext_keyring.PlaintextFileKeyring` (tests/e2e/conftest.py):
it is no entry point, so keyring never picks it by itself."""

from __future__ import annotations

import base64
import configparser
import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


def _file() -> Path:
    root = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(root) / "python_keyring" / "keyring_pass.cfg"


class PlaintextFileKeyring(KeyringBackend):
    priority = 0.1  # never chosen by keyring on its own

    def _read(self) -> configparser.RawConfigParser:
        parser = configparser.RawConfigParser()
        parser.read(_file(), encoding="utf-8")
        return parser

    def _write(self, parser: configparser.RawConfigParser) -> None:
        path = _file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as out:
            parser.write(out)

    def get_password(self, service: str, username: str) -> str | None:
        parser = self._read()
        if not parser.has_option(service, username):
            return None
        return base64.b64decode(parser.get(service, username)).decode()

    def set_password(self, service: str, username: str, password: str) -> None:
        parser = self._read()
        if not parser.has_section(service):
            parser.add_section(service)
        parser.set(service, username, base64.b64encode(password.encode()).decode())
        self._write(parser)

    def delete_password(self, service: str, username: str) -> None:
        parser = self._read()
        if not parser.remove_option(service, username):
            raise PasswordDeleteError("no such password")
        self._write(parser)
