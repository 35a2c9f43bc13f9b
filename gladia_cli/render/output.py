"""Where data goes: stdout or `-o FILE`, one flushed line at a time; a closed pipe is an
ordinary end (`gladia file x.wav | head -3` exits 0, quietly).

`-o FILE` is written aside and renamed into place only when the command ends with exit 0
(render/staged_file.py): the CLI calls `settle_outputs` once, with its exit code; any other
end keeps `FILE.partial`. A full disk is one line naming the file and the space it needed
(exit 5), and the cut file is removed.
"""

from __future__ import annotations

import contextlib
import os
import stat
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TextIO

from gladia_cli.errors import OutputWriteError, UsageError
from gladia_cli.render.staged_file import NO_SPACE, StagedFile, remove_stale, stageable

# `-o` files opened by this run and not yet settled (renamed, or kept as .partial).
_pending: list[Output] = []


class OutputClosed(Exception):
    """The reader of our output went away (broken pipe)."""


def is_stdout(path: Path | None) -> bool:
    return path is None or str(path) == "-"


def check_output_path(path: Path | None, option: str = "-o") -> None:
    """Refuse an `-o` path (or another `option`'s) that cannot be written, before anything
    else happens."""
    if is_stdout(path):
        return
    assert path is not None
    parent = path.parent
    if path.is_dir():
        raise UsageError(
            f"{option} {path} is a directory", hint=f"give a file name, e.g. {option} talk.srt"
        )
    if not parent.is_dir():
        raise UsageError(
            f"cannot write {option} {path}: there is no directory {parent}",
            hint=f"create it first (mkdir -p {parent}), or choose another path",
        )
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(
            f"cannot write {option} {path}: permission denied", hint="choose a path you can write"
        )


class Output:
    def __init__(
        self,
        stream: TextIO,
        *,
        owned: bool = False,
        guard: Callable[[], AbstractContextManager[None]] | None = None,
        on_closed: Callable[[], None] | None = None,
        name: str | None = None,
        discard: Callable[[], None] | None = None,
    ) -> None:
        """`name`: the file as errors name it (default: the stream's); `discard`: removes
        what was written, when the disk is full."""
        self._stream = stream
        self._owned = owned
        # Taken around each write: the screen lifts the progress bar off a shared terminal.
        self._guard = guard or contextlib.nullcontext
        self._on_closed = on_closed or (lambda: None)
        self._lock = threading.Lock()  # lines come from the receiver and the main thread
        self._name = name
        self._discard = discard
        self._written = 0  # bytes written
        self.staged: StagedFile | None = None
        self.closed = False

    @classmethod
    def open(
        cls,
        path: Path | None,
        *,
        stdout: TextIO,
        guard: Callable[[], AbstractContextManager[None]] | None = None,
        on_closed: Callable[[], None] | None = None,
    ) -> Output:
        """stdout for None or `-`, else the file: written aside until `settle_outputs`
        (refused as a usage error when it cannot be created)."""
        if is_stdout(path):
            return cls(stdout, guard=guard, on_closed=on_closed)
        assert path is not None
        if not stageable(path):  # a device or a pipe: written to directly, as it is
            try:
                return cls(path.open("w", encoding="utf-8"), owned=True, name=str(path))
            except OSError as exc:
                raise UsageError(
                    f"cannot write -o {path}: {exc.strerror}", hint="choose a path you can write"
                ) from None
        remove_stale(path.resolve().parent)  # what killed runs left beside it
        try:
            staged = StagedFile(path)
            stream = staged.temp.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"cannot write -o {path}: {exc.strerror}", hint="choose a path you can write"
            ) from None
        output = cls(stream, owned=True, name=str(path), discard=staged.discard)
        output.staged = staged
        _pending.append(output)
        return output

    def write(self, text: str) -> None:
        """Write and flush; raises OutputClosed when the reader is gone, OutputWriteError
        when the disk is full."""
        with self._lock, self._guard():
            try:
                self._stream.write(text)
                self._stream.flush()
            except BrokenPipeError:
                self._on_closed()
                raise OutputClosed from None
            except OSError as exc:
                if exc.errno not in NO_SPACE:
                    raise
                raise self._no_space(len(text.encode("utf-8"))) from None
            self._written += len(text.encode("utf-8"))

    def _no_space(self, needed: int) -> OutputWriteError:
        name = self._name or _stream_name(self._stream)
        if self._discard is not None:
            self.close()
            self._discard()
            kept = "nothing was kept"
        else:
            kept = f"it holds the first {self._written} bytes only"
        return OutputWriteError(
            f"no space left on the device to write {name}: at least {needed} more bytes "
            f"were needed after {self._written}; {kept}",
            hint="free some space there, or write elsewhere",
            no_space=True,
        )

    def line(self, text: str) -> None:
        self.write(text + "\n")

    def close(self) -> None:
        if self._owned and not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):  # a full disk was said when it was written
                self._stream.close()

    def settle(self, complete: bool) -> Path | None:
        """A staged `-o` file: renamed into place (`complete`), else kept as `.partial`."""
        self.close()
        if self.staged is None:
            return None
        staged, self.staged = self.staged, None
        return staged.settle(complete)


def settle_outputs(complete: bool) -> list[Path]:
    """Every `-o` file of this run, renamed into place when the run `complete`d (exit 0),
    else kept as `.partial`: where they are now."""
    settled = []
    while _pending:
        place = _pending.pop(0).settle(complete)
        if place is not None:
            settled.append(place)
    return settled


def _stream_name(stream: TextIO) -> str:
    """The file stdout was redirected to (`> out.txt`), or "stdout"."""
    try:
        fd = stream.fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return str(Path(f"/proc/self/fd/{fd}").readlink())
    except (OSError, ValueError, AttributeError):
        pass
    return "stdout"


def silence_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush does not complain about the pipe."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
