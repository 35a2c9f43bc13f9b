"""The tests' in-process runs of the CLI (tests/cli_run.py): each run gets a process's
surroundings of its own, and what it leaves behind fails the test."""

from __future__ import annotations

import io
import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.cli_run import _Leftovers, _native_output, _process_like


def _streams() -> tuple[io.TextIOWrapper, io.TextIOWrapper, io.TextIOWrapper]:
    def buffer() -> io.TextIOWrapper:
        return io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)

    return buffer(), buffer(), buffer()


def _written(stream: io.TextIOWrapper) -> str:
    buffer = stream.buffer
    assert isinstance(buffer, io.BytesIO)
    return buffer.getvalue().decode()


@contextmanager
def as_a_run(
    environ: dict[str, str] | None = None,
) -> Iterator[tuple[_Leftovers, io.TextIOWrapper]]:
    stdin, out, err = _streams()
    with _process_like(environ or {"PATH": os.environ["PATH"]}, stdin, out, err) as ran:
        yield ran, err


def test_a_run_has_its_own_environment_variables_and_leaves_the_tests_alone() -> None:
    before = dict(os.environ)
    with as_a_run({"ONLY_IN_THE_RUN": "1"}):
        assert os.environ.get("ONLY_IN_THE_RUN") == "1"
        assert "PYTEST_CURRENT_TEST" not in os.environ
    assert dict(os.environ) == before


def test_a_signal_handler_left_behind_fails_and_is_put_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with as_a_run() as (ran, _):
        signal.signal(signal.SIGTERM, lambda *_: None)
    assert signal.getsignal(signal.SIGTERM) is before
    with pytest.raises(AssertionError, match="handler of SIGTERM"):
        ran.check()


def test_a_thread_of_the_run_that_does_not_end_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tests.cli_run.THREAD_GRACE", 0.1)
    release = threading.Event()
    try:
        with as_a_run() as (ran, _):
            threading.Thread(target=release.wait, name="stuck").start()
        with pytest.raises(AssertionError, match="thread 'stuck' outlived the run"):
            ran.check()
    finally:
        release.set()


def test_threads_started_by_the_tests_own_server_are_not_the_runs() -> None:
    """A thread that was there before (the test's server) may start threads meanwhile."""
    go, started, release = threading.Event(), threading.Event(), threading.Event()
    workers: list[threading.Thread] = []

    def server() -> None:
        go.wait()
        worker = threading.Thread(target=release.wait)
        workers.append(worker)
        worker.start()
        started.set()

    existing = threading.Thread(target=server)
    existing.start()
    try:
        with as_a_run() as (ran, _):
            go.set()
            started.wait(10)
        ran.check()
    finally:
        release.set()
        existing.join()
        workers[0].join()


def test_a_gladia_logger_left_with_a_handler_fails() -> None:
    logger = logging.getLogger("gladia.server")
    handler = logging.NullHandler()
    try:
        with as_a_run() as (ran, _):
            logger.addHandler(handler)
        with pytest.raises(AssertionError, match=r"logging handlers or levels .*gladia\.server"):
            ran.check()
    finally:
        logger.removeHandler(handler)


def test_warnings_of_the_runs_threads_reach_its_stderr_as_from_a_process() -> None:
    """logging's last resort: pytest's handlers on the root logger would swallow them."""
    logged = threading.Event()
    go = threading.Event()

    def others() -> None:  # a thread that was there before the run: not the run's
        go.wait()
        logging.getLogger("elsewhere").warning("not the run's")
        logged.set()

    other = threading.Thread(target=others)
    other.start()
    with as_a_run() as (ran, err):
        logging.getLogger("aiohttp.anything").warning("the run's warning")
        logging.getLogger("aiohttp.anything").info("not shown")
        go.set()
        logged.wait(10)
    other.join()
    ran.check()
    assert _written(err) == "the run's warning\n"


def test_what_native_code_writes_on_the_descriptors_is_the_runs_output() -> None:
    _, out, err = _streams()
    with _native_output(out, err):
        err.write("python's line\n")
        os.write(2, b"ALSA lib pcm.c: cannot find card\n")
        os.write(1, b"native stdout\n")
    assert _written(err) == "python's line\nALSA lib pcm.c: cannot find card\n"
    assert _written(out) == "native stdout\n"
