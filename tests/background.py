"""`gladia ARGS` running in the background while a test talks to it (a caption page, its
standard input), its output collected as it comes; the environment of `run_cli`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from typing import IO, Any

from tests.e2e.conftest import Run
from tests.support import GLADIA, KEY

URL = re.compile(r"gladia: caption page: (http://\S+)")


class Background:
    def __init__(self, *args: str, env: dict[str, str] | None = None, stdin: bool = False) -> None:
        environ = {
            **os.environ,
            "GLADIA_API_KEY": KEY,
            "XDG_CONFIG_HOME": "/nonexistent",
            "NO_COLOR": "1",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
        for name in ("GLADIA_API_URL", "GLADIA_REGION", "GLADIA_CONFIG", "GLADIA_PROFILE"):
            environ.pop(name, None)
        environ.update(env or {})
        self.process = subprocess.Popen(
            [*GLADIA, *args],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environ,
        )
        self._out: list[str] = []
        self._err: list[str] = []
        self._changed = threading.Condition()
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self._out)),
            threading.Thread(target=self._read, args=(self.process.stderr, self._err)),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def stdin(self) -> IO[bytes]:
        assert self.process.stdin is not None
        return self.process.stdin

    def _read(self, stream: Any, lines: list[str]) -> None:
        for raw in stream:
            with self._changed:
                lines.append(raw.decode(errors="replace"))
                self._changed.notify_all()

    def _wait(self, lines: list[str], needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._changed:
            while needle not in (text := "".join(lines)):
                left = deadline - time.monotonic()
                assert left > 0, f"no {needle!r} within {timeout} s: {''.join(self._err)}"
                assert self.process.poll() is None, f"exited: {''.join(self._err)}"
                self._changed.wait(min(left, 0.1))
            return text

    def wait_stderr(self, needle: str, timeout: float = 60) -> str:
        return self._wait(self._err, needle, timeout)

    def wait_stdout(self, needle: str, timeout: float = 60) -> str:
        return self._wait(self._out, needle, timeout)

    def page_url(self, timeout: float = 60) -> str:
        """The caption page's address, once the CLI printed it."""
        found = URL.search(self.wait_stderr("gladia: caption page: http", timeout))
        assert found is not None  # lines are collected whole
        return found.group(1)

    def viewers(self) -> int:
        """How many page connections the CLI reported."""
        with self._changed:
            return "".join(self._err).count("caption page: a viewer connected")

    def wait_viewers(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.viewers() < count:
                left = deadline - time.monotonic()
                assert left > 0 and self.process.poll() is None, "".join(self._err)
                self._changed.wait(min(left, 0.1))

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 60) -> Run:
        try:
            code = self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            for reader in self._readers:
                reader.join(5)
        return Run(code, "".join(self._out), "".join(self._err))
