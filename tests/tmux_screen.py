"""A real terminal for tests: a shell in a private tmux server, driven by send-keys, read
with capture-pane (testing-recipes.md §7). The screen is polled against a deadline, never
slept on; the tmux server is always killed, even when a test fails."""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType

_COUNTER = itertools.count()
PROMPT = "$ "
START, END = "-- start --", "-- exit "

needs_tmux_reason = "tmux is not installed"
has_tmux = shutil.which("tmux") is not None


class TmuxScreen:
    def __init__(self, width: int, height: int, env: Mapping[str, str], cwd: Path) -> None:
        self.width, self.height = width, height
        self.socket = f"gladia-test-{os.getpid()}-{next(_COUNTER)}"
        self._env = {**env, "PS1": PROMPT}
        self._cwd = cwd

    def _tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=self._env,
            cwd=self._cwd,
            timeout=20,
            check=True,
        )
        return done.stdout

    def __enter__(self) -> TmuxScreen:
        self._tmux(
            "new-session", "-d", "-s", "t", "-x", str(self.width), "-y", str(self.height),
            "PS1='$ ' exec bash --norc --noprofile",
        )  # fmt: skip
        try:
            self._tmux("set-option", "-t", "t", "history-limit", "5000")
            self.wait_for(lambda screen: screen.rstrip().endswith("$"), "the prompt")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20, check=False
        )
        # The server is gone; its socket file is left behind by tmux: remove it.
        base = self._env.get("TMUX_TMPDIR", "/tmp")
        Path(f"{base}/tmux-{os.getuid()}/{self.socket}").unlink(missing_ok=True)

    def run(self, *argv: str) -> None:
        """Type a command line and press Enter. The screen is cleared first, and markers
        around the command's output let `output` and `wait_for_exit` find it."""
        line = f"clear; echo {START}; {shlex.join(argv)}; echo {END}$?"
        self._tmux("send-keys", "-t", "t", line, "Enter")
        self.wait_for(lambda screen: START in screen.splitlines(), "the command to start")

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self._tmux("resize-window", "-t", "t", "-x", str(width), "-y", str(height))

    def ctrl_c(self) -> None:
        self._tmux("send-keys", "-t", "t", "C-c")

    def screen(self) -> list[str]:
        """The visible lines, as drawn (a wrapped line is two lines)."""
        return self._tmux("capture-pane", "-p", "-t", "t").splitlines()

    def everything(self) -> list[str]:
        """History and screen, wrapped lines joined back: what the session left, in order."""
        text = self._tmux("capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", "t")
        lines = text.splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        return lines

    def wait_for(
        self, condition: Callable[[str], bool], what: str, timeout: float = 30.0
    ) -> list[str]:
        """Poll the screen until `condition(screen text)` holds; the screen's lines."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.screen()
            if condition("\n".join(lines)):
                return lines
            if time.monotonic() > deadline:
                shown = "\n".join(lines)
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{shown}")
            time.sleep(0.05)

    def wait_for_exit(self, timeout: float = 60.0) -> int:
        """Until the command has ended; its exit status."""
        lines = self.wait_for(
            lambda screen: any(line.startswith(END) for line in screen.splitlines()),
            "the command to end",
            timeout,
        )
        return int(next(line for line in lines if line.startswith(END))[len(END) :])

    def output(self) -> list[str]:
        """What the command left in the terminal (history and screen), wrapped lines joined."""
        lines = self.everything()
        start = len(lines) - lines[::-1].index(START)
        end = next(i for i in range(start, len(lines)) if lines[i].startswith(END))
        return lines[start:end]
