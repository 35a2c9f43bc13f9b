"""`gladia ARGS` for a test: in this process through `cli.app.run(argv, env)` (as httpie's
tests run `main(args, env)`), or as a subprocess where only a process shows what is tested.

A subprocess costs 0.5–1 s of interpreter start and imports (numpy, requests, aiohttp)
per run, most of the suite's time. In-process, each run gets what a fresh process would
have: its own environment variables, standard streams (buffers, not terminals), an empty
stdin unless given, Python's default warning filters, the default thread and unraisable
exception hooks (both print on the run's stderr), and a stand-in for logging's last
resort handler. What a run may not leave behind is checked after it: signal handlers,
logging handlers, the working directory, threads (a `--local` server torn down) and child
processes; a leftover fails the test, as a process that did not end would.

`GLADIA_TEST_SUBPROCESS=1` runs every call as a subprocess: to compare both ways.
"""

from __future__ import annotations

import _thread
import contextlib
import io
import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import GLADIA, KEY

# Whatever a user's shell may set that would change what the CLI does.
UNSET = ("GLADIA_API_URL", "GLADIA_REGION", "GLADIA_CONFIG", "GLADIA_PROFILE")
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE, signal.SIGALRM)
# Read by the interpreter as it starts (sys.path, the streams' encoding, warnings): a run
# that sets one of them is a subprocess.
STARTUP_VARIABLES = frozenset(
    {"PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONWARNINGS", "PYTHONIOENCODING"}
    | {"PYTHONUTF8", "PYTHONDEVMODE", "LANG", "LC_ALL", "LC_CTYPE"}
)
# Threads a run started may take this long to end after it returned (a local server's
# loop closing, a socket's reader noticing the close): only a broken run waits it out.
THREAD_GRACE = 10.0


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


def clean_environ(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a test's run: no user config, no keyring, a test key."""
    environ = {
        **os.environ,
        "GLADIA_API_KEY": KEY,
        "XDG_CONFIG_HOME": "/nonexistent",
        "NO_COLOR": "1",
        # No keyring: a key saved on this machine must not leak into the tests.
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        **(env or {}),
    }
    for name in UNSET:
        if env is None or name not in env:
            environ.pop(name, None)
    return environ


def subprocess_only() -> bool:
    return bool(os.environ.get("GLADIA_TEST_SUBPROCESS"))


def run_subprocess(
    args: Sequence[str], environ: Mapping[str, str], stdin: bytes | None, timeout: float
) -> Run:
    done = subprocess.run(
        [*GLADIA, *args],
        input=stdin,
        capture_output=True,
        env=dict(environ),
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def run_in_process(
    args: Sequence[str], environ: Mapping[str, str], stdin: bytes | None, timeout: float
) -> Run:
    """`gladia ARGS` in this process, as a fresh process would run it (see the module)."""
    from gladia_cli.cli.app import run
    from gladia_cli.environment import Environment

    # Python's own streams: UTF-8, stderr's errors escaped (what the subprocess's pipes get).
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(
        io.BytesIO(), encoding="utf-8", errors="backslashreplace", write_through=True
    )
    given = io.TextIOWrapper(io.BytesIO(stdin or b""), encoding="utf-8")
    with _native_output(out, err), _process_like(environ, given, out, err) as ran:
        env = Environment(stdin=given.buffer, stdout=out, stderr=err, environ=dict(environ))
        with _watchdog(timeout) as expired:
            try:
                code = run(list(args), env)
            except SystemExit as exc:  # what the interpreter would make of it
                code = _exit_status(exc, err)
    if expired.is_set():
        raise subprocess.TimeoutExpired([*GLADIA, *args], timeout)
    ran.check()
    return Run(code, _text(out), _text(err))


def _exit_status(exc: SystemExit, stderr: io.TextIOWrapper) -> int:
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    stderr.write(f"{exc.code}\n")
    return 1


def _text(stream: io.TextIOWrapper) -> str:
    stream.flush()
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode()


@contextlib.contextmanager
def _native_output(out: io.TextIOWrapper, err: io.TextIOWrapper) -> Iterator[None]:
    """What is written on descriptors 1 and 2 while in the block (a native library's
    messages: PortAudio's, ALSA's, a decoder's), added to the run's stdout and stderr after
    what Python wrote: a test that wants no noise on stderr sees it, as from a process."""
    with tempfile.TemporaryFile() as native_out, tempfile.TemporaryFile() as native_err:
        saved = [os.dup(1), os.dup(2)]
        os.dup2(native_out.fileno(), 1)
        os.dup2(native_err.fileno(), 2)
        try:
            yield
        finally:
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
            for native, stream in ((native_out, out), (native_err, err)):
                native.seek(0)
                stream.buffer.write(native.read())


@contextlib.contextmanager
def _watchdog(timeout: float) -> Iterator[threading.Event]:
    """After `timeout`, interrupts the main thread (as Ctrl-C would: twice ends any run)
    until the run returns; the caller then fails as subprocess.run's timeout does."""
    done, expired = threading.Event(), threading.Event()

    def watch() -> None:
        if done.wait(timeout):
            return
        expired.set()
        while not done.wait(1.0):
            _thread.interrupt_main(signal.SIGINT)

    watcher = threading.Thread(target=watch, name="cli-run-watchdog", daemon=True)
    watcher.start()
    try:
        yield expired
    finally:
        done.set()
        watcher.join()


class _Leftovers:
    """What a run must not leave behind, compared with the state before it."""

    def __init__(self) -> None:
        self.signals = {sig: signal.getsignal(sig) for sig in SIGNALS}
        self.threads: set[threading.Thread] = set()  # the run's: started from one of its own
        self.cwd = Path.cwd()
        self.loggers = _logging_state()
        self.problems: list[str] = []

    def is_runs(self, thread: threading.Thread) -> bool:
        return thread is threading.main_thread() or thread in self.threads

    def started_by_run(self, thread_id: int | None) -> bool:
        """Whether a thread (by ident) is the run's (the test's own server, in this process,
        starts threads of its own meanwhile: its executor's)."""
        return any(t.ident == thread_id for t in [threading.main_thread(), *self.threads])

    @contextlib.contextmanager
    def owning_threads(self) -> Iterator[None]:
        """While in the block, a thread started from one of the run's threads is the run's."""
        start = threading.Thread.start
        leftovers = self

        def tracked_start(thread: threading.Thread) -> None:
            if leftovers.is_runs(threading.current_thread()):
                leftovers.threads.add(thread)
            start(thread)

        threading.Thread.start = tracked_start  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            threading.Thread.start = start  # type: ignore[method-assign]

    def collect(self) -> None:
        for sig, handler in self.signals.items():
            if signal.getsignal(sig) is not handler:
                self.problems.append(f"the handler of {signal.Signals(sig).name} was changed")
                signal.signal(sig, handler)
        if Path.cwd() != self.cwd:
            self.problems.append(f"the working directory moved to {Path.cwd()}")
            os.chdir(self.cwd)
        changed = _logging_changes(self.loggers, _logging_state())
        if changed:
            self.problems.append(f"logging handlers or levels were changed: {changed}")
        deadline = time.monotonic() + THREAD_GRACE
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                self.problems.append(f"thread {thread.name!r} outlived the run")
        children = multiprocessing.active_children()
        if children:
            self.problems.append(f"child processes outlived the run: {children}")

    def check(self) -> None:
        assert not self.problems, "the CLI run left state behind: " + "; ".join(self.problems)


LoggerState = tuple[int, bool, tuple[logging.Handler, ...]]


def _logging_state() -> dict[str, LoggerState]:
    manager = logging.Logger.manager
    loggers = [logging.getLogger()] + [
        logger for logger in manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    return {
        logger.name: (logger.level, logger.propagate, tuple(logger.handlers)) for logger in loggers
    }


def _logging_changes(before: dict[str, LoggerState], after: dict[str, LoggerState]) -> list[str]:
    """Loggers that were there before and changed, and new gladia loggers with a handler.
    A library configures its own logger as it is first imported (PyAV's `libav` level,
    spaCy's handler, websocket-client's NullHandler): that is no run's leftover."""
    changed = []
    for name, state in after.items():
        if name in before:
            if state != before[name]:
                changed.append(name)
        elif name.split(".")[0] in ("gladia", "gladia_cli") and state[2]:
            changed.append(name)
    return changed


class _LastResort(logging.Handler):
    """What logging's last resort does in the CLI's process (WARNING and worse, message
    only, on stderr), for the records of the run's threads: the test's own server,
    running in this process, logs elsewhere. pytest's handlers on the root logger would
    otherwise keep the last resort from ever printing."""

    def __init__(self, leftovers: _Leftovers) -> None:
        super().__init__(logging.WARNING)
        self._leftovers = leftovers

    def emit(self, record: logging.LogRecord) -> None:
        if self._leftovers.started_by_run(record.thread) and not self._has_handler(record):
            sys.stderr.write(self.format(record) + "\n")

    @staticmethod
    def _has_handler(record: logging.LogRecord) -> bool:
        """Whether the CLI's process would have found a handler of its own for it."""
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None and logger.name != "root":
            if logger.handlers:
                return True
            if not logger.propagate:
                return False
            logger = logger.parent
        return False


@contextlib.contextmanager
def _process_like(
    environ: Mapping[str, str],
    stdin: io.TextIOWrapper,
    out: io.TextIOWrapper,
    err: io.TextIOWrapper,
) -> Iterator[_Leftovers]:
    leftovers = _Leftovers()
    saved_environ = dict(os.environ)
    saved_streams = (sys.stdin, sys.stdout, sys.stderr)
    saved_dunders = (sys.__stdout__, sys.__stderr__)
    saved_hooks = (threading.excepthook, sys.unraisablehook)
    root = logging.getLogger()
    last_resort = _LastResort(leftovers)
    os.environ.clear()
    os.environ.update(environ)
    _forget_process_caches()
    sys.stdin, sys.stdout, sys.stderr = stdin, out, err
    # shutil.get_terminal_size's fallback asks sys.__stdout__: the run's, not pytest's.
    setattr(sys, "__stdout__", out)  # noqa: B010 (a Final name to mypy)
    setattr(sys, "__stderr__", err)  # noqa: B010
    threading.excepthook, sys.unraisablehook = threading.__excepthook__, sys.__unraisablehook__
    root.addHandler(last_resort)
    try:
        with warnings.catch_warnings(), leftovers.owning_threads():
            _default_warning_filters()
            yield leftovers
    finally:
        root.removeHandler(last_resort)
        sys.stdin, sys.stdout, sys.stderr = saved_streams
        setattr(sys, "__stdout__", saved_dunders[0])  # noqa: B010
        setattr(sys, "__stderr__", saved_dunders[1])  # noqa: B010
        threading.excepthook, sys.unraisablehook = saved_hooks
        leftovers.collect()
        os.environ.clear()
        os.environ.update(saved_environ)
        _forget_process_caches()


def _default_warning_filters() -> None:
    """Python's filters when no -W or PYTHONWARNINGS is given (pytest sets its own)."""
    warnings.resetwarnings()
    warnings.simplefilter("ignore", ResourceWarning)
    warnings.simplefilter("ignore", ImportWarning)
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")


def _forget_process_caches() -> None:
    """What a library worked out once from the environment of the process: the keyring
    backend (PYTHON_KEYRING_BACKEND) and the temporary directory (TMPDIR)."""
    keyring_core = sys.modules.get("keyring.core")
    if keyring_core is not None:
        keyring_core._keyring_backend = None  # type: ignore[attr-defined]
    tempfile.tempdir = None


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = 90,
    process: bool = False,
) -> Run:
    """`gladia ARGS` with a clean environment (no user config, a test key): in-process,
    or as a subprocess with `process=True` (what only a process shows: its native
    libraries' output on its descriptors, its import-time checks); a run that sets a
    variable the interpreter reads as it starts is one too."""
    environ = clean_environ(env)
    if process or subprocess_only() or STARTUP_VARIABLES & set(env or ()):
        return run_subprocess(args, environ, stdin, timeout)
    return run_in_process(args, environ, stdin, timeout)
