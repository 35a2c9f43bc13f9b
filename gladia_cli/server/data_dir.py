"""Where the local server keeps its files, and what becomes of them when it stops or dies.

Without `--data-dir`: a private folder in the system's temporary directory
(`gladia-serve-*`), removed when the server stops. A server that is killed (kill -9, a
crash, the OOM killer) cannot remove it, so the next server (or `--local` run) removes the
folders of servers that no longer run: each server holds a lock on its folder's `.lock`
for as long as it runs (flock: the kernel drops it when the process dies, however it
dies), so a folder whose lock can be taken has no owner. Nothing else is touched: a
folder without a `.lock` (an older version's, or one being created) stays.

With `--data-dir DIR`: `DIR/live` (sessions) and `DIR/prerecorded` (uploads and jobs), kept
across restarts (see live/stored_session.py and prerecorded/routes.py for what is
restored); the same lock keeps a second server off the folder while one runs.

Without `fcntl` (Windows) there is no lock: no sweeping, and no guard on DIR.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger("gladia.server")

LOCKING = sys.platform != "win32"

if sys.platform != "win32":
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

else:  # pragma: no cover

    def _try_lock(fd: int) -> bool:
        return True


PREFIX = "gladia-serve-"
LOCK = ".lock"


class DataDirError(Exception):
    """`--data-dir` cannot be used (the message says why)."""


class DataDirBusy(DataDirError):
    """Another server holds the data folder."""


def _locked(path: Path, *, create: bool) -> BinaryIO | None:
    """`path` opened and locked exclusively, or None if another process holds it."""
    try:
        handle = path.open("a+b" if create else "rb")
    except FileNotFoundError:
        return None
    if not _try_lock(handle.fileno()):
        handle.close()
        return None
    return handle


def remove_abandoned(parent: Path) -> int:
    """Remove the temporary folders of servers that no longer run; how many went."""
    if not LOCKING:
        return 0
    removed = 0
    for folder in parent.glob(PREFIX + "*"):
        lock = _locked(folder / LOCK, create=False)
        if lock is None:  # its server runs, or it has no lock file: not ours to judge
            continue
        with lock:
            shutil.rmtree(folder, ignore_errors=True)
        removed += 1
        log.info("removed %s, left by a server that no longer runs", folder)
    return removed


class DataDir:
    """The server's folder: `live/` and `prerecorded/`, locked while the server runs."""

    def __init__(self, path: Path, *, persistent: bool, lock: BinaryIO | None) -> None:
        self.path = path
        self.persistent = persistent
        self._lock = lock
        self.live.mkdir(mode=0o700, exist_ok=True)
        self.prerecorded.mkdir(mode=0o700, exist_ok=True)

    @classmethod
    def temporary(cls) -> DataDir:
        """A new private folder, after removing those that killed servers left behind."""
        with contextlib.suppress(OSError):
            remove_abandoned(Path(tempfile.gettempdir()))
        path = Path(tempfile.mkdtemp(prefix=PREFIX))
        # Locked under another name, then renamed: a sweeper never sees an unlocked `.lock`.
        lock = _locked(path / (LOCK + ".new"), create=True)
        (path / (LOCK + ".new")).replace(path / LOCK)
        return cls(path, persistent=False, lock=lock)

    @classmethod
    def at(cls, path: Path) -> DataDir:
        """`--data-dir`: created if need be; DataDirBusy if another server uses it."""
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
            lock = _locked(path / LOCK, create=True)
            if lock is None:
                raise DataDirBusy(f"{path} is in use by another gladia serve")
            return cls(path, persistent=True, lock=lock)
        except OSError as exc:
            raise DataDirError(f"cannot use {path}: {exc.strerror or exc}") from None

    @property
    def live(self) -> Path:
        return self.path / "live"

    @property
    def prerecorded(self) -> Path:
        return self.path / "prerecorded"

    def close(self) -> None:
        """The server stops: a temporary folder goes; DIR stays, unlocked."""
        if not self.persistent:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None
