"""An output file written aside and renamed into place only when it is complete.

A file under its final name (`-o talk.srt`, `--output-dir out/`) is always a whole result:
it is written to a hidden temporary file beside it, `.talk.srt.gladia-HOST-PID-XXXXXXXX.tmp`,
renamed to `talk.srt` when the run ends with its whole result (exit 0), kept as
`talk.srt.partial` otherwise (nothing when empty), and removed when the disk filled up (a
file cut by a full disk is neither a result nor worth the space it holds).

The temporary name says whose it is: this machine (HOST, a hash of its name) and the
process (PID). A process killed with SIGKILL cannot clean up; a later run removes, in the
folders it writes to, the temporary files of this machine whose process is gone — and
nothing else (another machine's, on a shared folder, cannot be proven stale; a name that
does not match is not ours).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import stat
from pathlib import Path

PARTIAL_SUFFIX = ".partial"
# errno values that mean "the disk is full" (a quota, or RLIMIT_FSIZE's EFBIG, alike).
NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
HOST = hashlib.blake2b(socket.gethostname().encode(), digest_size=4).hexdigest()
TEMP = re.compile(r"^\.(?P<final>.+)\.gladia-(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


def stageable(path: Path) -> bool:
    """Whether `path` can be written aside and renamed into place: a regular file, or none
    yet. Not a device, a pipe or a terminal (`-o /dev/null` must write to the device, never
    replace it with a file), nor anything under /dev or /proc."""
    target = path.resolve()
    if target.parts[:2] in (("/", "dev"), ("/", "proc")):
        return False
    try:
        return stat.S_ISREG(target.stat().st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def partial_of(final: Path) -> Path:
    return final.with_name(final.name + PARTIAL_SUFFIX)


def final_of(temp: Path) -> Path:
    """The final name a temporary file stands for (itself if it is not one)."""
    found = TEMP.match(temp.name)
    return temp.with_name(found["final"]) if found else temp


class StagedFile:
    """`final`'s temporary file, created now (empty, with the permissions `open(final, "w")`
    would give: the umask applies); OSError when it cannot be."""

    def __init__(self, final: Path) -> None:
        # Through a symbolic link, the file it names is the one replaced (as open() would
        # write it), never the link.
        final = final.resolve()
        self.final = final
        name = f".{final.name}.gladia-{HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp"
        self.temp = final.with_name(name)
        os.close(os.open(self.temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))

    def settle(self, complete: bool) -> Path | None:
        """Rename into place (`complete`), else keep as `.partial` (nothing when empty or
        already discarded). Returns where it is, if anywhere."""
        try:
            if complete:
                with contextlib.suppress(FileNotFoundError):  # an earlier file's permissions
                    self.temp.chmod(stat.S_IMODE(self.final.stat().st_mode))
                self.temp.replace(self.final)
                with contextlib.suppress(FileNotFoundError):
                    partial_of(self.final).unlink()  # from an earlier run
                return self.final
            if self.temp.stat().st_size == 0:
                self.discard()
                return None
            partial = partial_of(self.final)
            self.temp.replace(partial)
            return partial
        except FileNotFoundError:
            return None

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.temp.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def stale_temps(folder: Path) -> list[Path]:
    """The temporary files in `folder` that this machine's processes, now gone, left."""
    found = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        match = TEMP.match(entry.name)
        if match is None or match["host"] != HOST:
            continue
        pid = int(match["pid"])
        if pid != os.getpid() and not _alive(pid) and entry.is_file(follow_symlinks=False):
            found.append(Path(entry.path))
    return found


def remove_stale(folder: Path) -> int:
    """Remove what `stale_temps` finds; how many were removed."""
    removed = 0
    for path in stale_temps(folder):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed += 1
    return removed
