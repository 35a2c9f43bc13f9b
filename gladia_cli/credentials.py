"""Where a saved API key lives: the OS keyring (one entry per profile), or the config file.

`KeyStore` is the small interface settings.py looks keys up through, so unit tests hand in a
dictionary instead of a keyring. `KeyringStore` is the real one: the `keyring` package is
imported on first use (never by `--help`), and anything it raises — no backend, a locked
collection, a D-Bus error — becomes one `KeyStoreError` with a one-line reason, which the
callers turn into "saved in the config file instead", never a traceback.

`set_config_value` edits the TOML config file line by line (comments and layout kept), then
re-parses it to check the edit: a file it creates is mode 0600 in a 0700 directory; an
existing file keeps its mode, narrowed to 0600 when a key is written into it.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gladia_cli.errors import GladiaError

SERVICE = "gladia-cli"  # the keyring's service name; the entry's user name is the profile
DEFAULT_PROFILE = "default"  # the config file's top level
PROFILE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MASK_MIN = 12  # a shorter key would be mostly shown by its first four characters


def mask(key: str) -> str:
    """What may be shown of a key: its first four characters, for a key long enough."""
    shown = key[:4] if len(key) >= _MASK_MIN else ""
    return f"{shown}… ({len(key)} characters)"


def key_problem(key: str) -> str | None:
    """Why `key` cannot be an API key, in words that never quote it (None: it can). An HTTP
    header carries printable ASCII only: a key with a newline (a file read with its CRLF)
    or a non-ASCII character would make the HTTP library fail with the key in its message."""
    if not key.isascii():
        return "holds non-ASCII characters"
    if not key.isprintable() or any(c.isspace() for c in key):
        return "holds spaces or control characters"
    return None


class KeyStoreError(Exception):
    """The keyring cannot be used: no backend, locked, or refused."""


class KeyStore(Protocol):
    def describe(self) -> str:
        """Which store this is, for messages (the keyring backend's name)."""
        ...

    def get(self, profile: str) -> str | None: ...

    def set(self, profile: str, key: str) -> None: ...

    def delete(self, profile: str) -> bool:
        """Remove the profile's key; False when there was none."""
        ...

    def stores_plaintext(self) -> bool:
        """Whether what is saved lands in a file anyone with the disk can read."""
        ...


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first[:160]}" if first else type(exc).__name__


class KeyringStore:
    """The OS keyring through `keyring` (Secret Service, macOS Keychain, Windows…)."""

    def __init__(self) -> None:
        self._backend: Any = None
        self._absent = False  # no backend at all, as opposed to one that fails

    def _keyring(self) -> Any:
        if self._backend is not None:
            return self._backend
        try:
            import keyring
            from keyring.backends import fail

            backend = keyring.get_keyring()
        except Exception as exc:  # an import error, a broken backend's configuration
            raise KeyStoreError(_reason(exc)) from None
        if isinstance(backend, fail.Keyring):
            self._absent = True
            raise KeyStoreError("no keyring backend is available on this machine")
        self._backend = backend
        return backend

    def describe(self) -> str:
        try:
            backend = self._keyring()
        except KeyStoreError:
            return "keyring (unavailable)"
        return f"keyring ({type(backend).__module__}.{type(backend).__name__})"

    def stores_plaintext(self) -> bool:
        """keyrings.alt's PlaintextKeyring (its "encoding" is base64) and its like: any
        backend named plain text, alone or in keyring's chain of backends."""
        try:
            backend = self._present()
        except KeyStoreError:
            return False
        chained = getattr(backend, "backends", None)
        backends = list(chained) if isinstance(chained, list | tuple) else [backend]
        return any("plaintext" in type(b).__name__.lower() for b in backends)

    def _present(self) -> Any:
        """The backend, or None when there is no keyring at all (a server, a container):
        then nothing was saved there, which is not a failure."""
        try:
            return self._keyring()
        except KeyStoreError:
            if self._absent:
                return None
            raise

    def get(self, profile: str) -> str | None:
        backend = self._present()
        if backend is None:
            return None
        try:
            value = backend.get_password(SERVICE, profile)
        except Exception as exc:  # locked, D-Bus gone: the keyring's failures are many
            raise KeyStoreError(_reason(exc)) from None
        return str(value) if value else None

    def set(self, profile: str, key: str) -> None:
        backend = self._keyring()
        try:
            backend.set_password(SERVICE, profile, key)
        except Exception as exc:
            raise KeyStoreError(_reason(exc)) from None

    def delete(self, profile: str) -> bool:
        backend = self._present()
        if backend is None:
            return False
        try:
            if backend.get_password(SERVICE, profile) is None:
                return False
            backend.delete_password(SERVICE, profile)
        except Exception as exc:
            raise KeyStoreError(_reason(exc)) from None
        return True


class MemoryKeyStore:
    """A keyring in a dictionary (tests; `failure` makes every call fail as a keyring can)."""

    def __init__(self, keys: dict[str, str] | None = None, failure: str | None = None) -> None:
        self.keys = dict(keys or {})
        self.failure = failure

    def _check(self) -> None:
        if self.failure:
            raise KeyStoreError(self.failure)

    def describe(self) -> str:
        return "keyring (memory)"

    def stores_plaintext(self) -> bool:
        return False

    def get(self, profile: str) -> str | None:
        self._check()
        return self.keys.get(profile)

    def set(self, profile: str, key: str) -> None:
        self._check()
        self.keys[profile] = key

    def delete(self, profile: str) -> bool:
        self._check()
        return self.keys.pop(profile, None) is not None


# --------------------------------------------------------------------- the config file


def section_of(profile: str) -> str | None:
    """The TOML table a profile's values live in (None: the top level)."""
    return None if profile == DEFAULT_PROFILE else f"profiles.{profile}"


_HEADER = re.compile(r"^\s*\[([^\]]+)\]")


def _table_name(header: str) -> str:
    """`profiles.work` for `[ profiles . "work" ]` too (TOML allows both spellings)."""
    return ".".join(part.strip().strip("\"'") for part in header.split("."))


def _edited(text: str, section: str | None, name: str, value: str | None) -> str:
    """`text` with `name = value` set (or removed: None) in `section`; the section is
    created when missing (even with nothing to set: a profile may hold no value)."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    assignment = re.compile(rf"^\s*{re.escape(name)}\s*=")
    current: str | None = None
    header_at: int | None = None  # the line after the section's header (or 0: top level)
    first_header: int | None = None
    found: int | None = None
    for index, line in enumerate(lines):
        header = _HEADER.match(line)
        if header:
            current = _table_name(header.group(1))
            if first_header is None:
                first_header = index
            if current == section:
                header_at = index + 1
        elif current == section and assignment.match(line):
            found = index
    new: list[str] = [f"{name} = {json.dumps(value)}\n"] if value is not None else []
    if found is not None:
        lines[found : found + 1] = new
    elif not new and (section is None or header_at is not None):
        pass  # nothing to remove, and the section is there
    elif section is None:
        at = first_header if first_header is not None else len(lines)
        lines[at:at] = new
    elif header_at is not None:
        lines[header_at:header_at] = new
    else:
        if lines and lines[-1].strip():
            lines.append("\n")
        lines.append(f"[{section}]\n")
        lines.extend(new)
    return "".join(lines)


@dataclass(frozen=True)
class ConfigWrite:
    path: Path
    created: bool
    narrowed_from: int | None  # the mode it had, when a key made it narrower


def _table(data: dict[str, Any], section: str | None) -> dict[str, Any]:
    if section is None:
        return data
    table: Any = data
    for part in section.split("."):
        table = table.get(part, {}) if isinstance(table, dict) else {}
    return table if isinstance(table, dict) else {}


def set_config_value(path: Path, profile: str, name: str, value: str | None) -> ConfigWrite:
    """Set (or remove, with None) one value of a profile in the config file."""
    section = section_of(profile)
    try:
        text = path.read_text(encoding="utf-8")
        mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        text, mode = "", None
    except OSError as exc:
        raise GladiaError(f"cannot read the config file {path}: {exc.strerror}") from None
    new = _edited(text, section, name, value)
    try:
        written = _table(tomllib.loads(new), section)
    except tomllib.TOMLDecodeError as exc:
        raise GladiaError(
            f"cannot edit the config file {path}: {exc}", hint="fix the file by hand"
        ) from None
    if written.get(name) != value:
        raise GladiaError(
            f"cannot edit the config file {path}: its layout is unusual",
            hint=f"set {name} in {'[' + section + ']' if section else 'its top level'} by hand",
        )
    narrowed = None
    if mode is None:
        target = 0o600
    elif name == "api_key" and value is not None and mode & 0o077:
        target, narrowed = mode & 0o600, mode
    else:
        target = mode
    _write(path, new, target, create=mode is None)
    return ConfigWrite(path, created=mode is None, narrowed_from=narrowed)


def _write(path: Path, text: str, mode: int, *, create: bool) -> None:
    real = path.resolve() if path.is_symlink() else path
    try:
        if create:
            real.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # A temporary file in the same directory (mode 0600 from the start), then a rename:
        # the key is never in a file others can read, not even for a moment.
        fd, temporary = tempfile.mkstemp(dir=real.parent, prefix=".config.", suffix=".toml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                os.fchmod(f.fileno(), mode)
            Path(temporary).replace(real)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise GladiaError(
            f"cannot write the config file {real}: {exc.strerror}",
            hint="check the permissions of its directory",
        ) from None
