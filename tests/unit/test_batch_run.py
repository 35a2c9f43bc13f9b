"""The runner over many inputs, with `run_one` functions written here (no sockets): the
exit-code order, atomic outputs, partial outputs, --skip-existing, a refused key, 429."""

from __future__ import annotations

import io
import threading
from pathlib import Path, PurePosixPath

import pytest

from gladia_cli.environment import Environment
from gladia_cli.errors import (
    Aborted,
    AudioInputError,
    AuthError,
    ExitCode,
    NetworkError,
    SessionLimitReached,
)
from gladia_cli.jobs.batch_run import BatchRun, Reporter, RunFailed, most_serious
from gladia_cli.protocol.retry import Backoff
from gladia_cli.render.batch_view import BatchView
from gladia_cli.render.notices import Notices
from gladia_cli.render.screen import Screen


def test_most_serious_order() -> None:
    assert most_serious([]) == 0
    assert most_serious([0, 0]) == 0
    assert most_serious([5, 4, 5]) == 4
    assert most_serious([5, 2]) == 2
    assert most_serious([2, 1, 5]) == 1
    assert most_serious([1, 4]) == 4
    assert most_serious([4, 3, 1]) == 3
    assert most_serious([5, 77]) == 77  # unknown: ranked as unexpected, above 2 and 5
    assert most_serious([77, 4]) == 4


class Harness:
    def __init__(self) -> None:
        self.stderr = io.StringIO()
        env = Environment(stdout=io.StringIO(), stderr=self.stderr, stderr_isatty=False)
        screen = Screen(env)
        self.notices = Notices(screen, quiet=False)
        self.screen = screen

    def run(self, specs: list[str], run_one, **kwargs) -> BatchRun:  # type: ignore[no-untyped-def]
        view = BatchView(self.screen, self.notices, len(specs), quiet=False)
        return BatchRun(specs, run_one, view=view, notices=self.notices, **kwargs)


def _names(specs: list[str], ext: str = ".txt") -> dict[str, PurePosixPath]:
    return {s: PurePosixPath(s + ext) for s in specs}


def test_outputs_appear_only_when_complete(tmp_path: Path) -> None:
    seen_temps: list[Path] = []

    def run_one(spec: str, path: Path | None, reporter: Reporter) -> int:
        assert path is not None and path.parent == tmp_path
        assert path.name.startswith(f".{spec}.txt.") and path.name.endswith(".tmp")
        assert not (tmp_path / f"{spec}.txt").exists()  # nothing under the final name yet
        seen_temps.append(path)
        path.write_text(f"text of {spec}\n")
        if spec == "bad":
            raise AudioInputError("cannot read bad")
        return 0

    harness = Harness()
    specs = ["a", "bad", "b"]
    run = harness.run(specs, run_one, jobs=2, output_dir=tmp_path, names=_names(specs))
    with pytest.raises(RunFailed) as caught:
        run.run()
    assert caught.value.exit_code == ExitCode.AUDIO_INPUT
    assert (tmp_path / "a.txt").read_text() == "text of a\n"
    assert (tmp_path / "b.txt").read_text() == "text of b\n"
    assert not (tmp_path / "bad.txt").exists()
    assert (tmp_path / "bad.txt.partial").read_text() == "text of bad\n"
    assert not any(p.exists() for p in seen_temps)
    assert "failed: bad: cannot read bad" in harness.stderr.getvalue()


def test_skip_existing_skips_done_outputs_only(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("done before\n")
    (tmp_path / ".b.txt.x1y2.tmp").write_text("half of b\n")  # a killed run's temporary file
    (tmp_path / "c.txt.partial").write_text("half of c\n")
    ran: list[str] = []

    def run_one(spec: str, path: Path | None, reporter: Reporter) -> int:
        ran.append(spec)
        assert path is not None
        path.write_text(f"all of {spec}\n")
        return 0

    specs = ["a", "b", "c"]
    harness = Harness()
    code = harness.run(
        specs, run_one, output_dir=tmp_path, names=_names(specs), skip_existing=True
    ).run()
    assert code == 0
    assert sorted(ran) == ["b", "c"]
    assert (tmp_path / "a.txt").read_text() == "done before\n"
    assert (tmp_path / "b.txt").read_text() == "all of b\n"
    assert not (tmp_path / "c.txt.partial").exists()  # superseded by the whole result
    assert "skipped a" in harness.stderr.getvalue()


def test_a_refused_key_starts_no_further_input(tmp_path: Path) -> None:
    ran: list[str] = []

    def run_one(spec: str, path: Path | None, reporter: Reporter) -> int:
        ran.append(spec)
        if spec == "a":
            raise AuthError("the API refused the key (401)")
        raise NetworkError("down")

    run = Harness().run(["a", "b", "c"], run_one, jobs=1)
    with pytest.raises(RunFailed) as caught:
        run.run()
    assert ran == ["a"]
    assert caught.value.exit_code == ExitCode.AUTH
    assert caught.value.message == "1 of 3 inputs failed, 2 not started"


def test_the_most_serious_failure_decides(tmp_path: Path) -> None:
    errors = {"a": AudioInputError("x"), "b": NetworkError("y"), "c": AudioInputError("z")}

    def run_one(spec: str, path: Path | None, reporter: Reporter) -> int:
        raise errors[spec]

    with pytest.raises(RunFailed) as caught:
        Harness().run(list(errors), run_one, jobs=3).run()
    assert caught.value.exit_code == ExitCode.NETWORK
    assert caught.value.message == "3 of 3 inputs failed"


def test_an_unexpected_exception_fails_that_input_with_1() -> None:
    def run_one(spec: str, path: Path | None, reporter: Reporter) -> int:
        if spec == "a":
            raise ZeroDivisionError("boom")
        return 0

    with pytest.raises(RunFailed) as caught:
        Harness().run(["a", "b"], run_one).run()
    assert caught.value.exit_code == ExitCode.UNEXPECTED


def test_session_limit_queues_instead_of_failing() -> None:
    """With a server that allows 1 session, --jobs 3 runs them one after the other."""
    active = [0]
    most = [0]
    lock = threading.Lock()
    done: list[str] = []

    def run_one(spec: str, path: Path | None, reporter: Reporter) -> int:
        with lock:
            if active[0] >= 1:
                raise SessionLimitReached("the API refused another session (429)")
            active[0] += 1
            most[0] = max(most[0], active[0])
        try:
            threading.Event().wait(0.05)
            done.append(spec)
            return 0
        finally:
            with lock:
                active[0] -= 1

    harness = Harness()
    fast = Backoff(base=0.01, cap=0.01, attempts=50)
    code = harness.run(["a", "b", "c", "d"], run_one, jobs=3, backoff=fast).run()
    assert code == 0
    assert sorted(done) == ["a", "b", "c", "d"]
    assert most[0] == 1


def test_session_limit_gives_up_in_the_end() -> None:
    def run_one(spec: str, path: Path | None, reporter: Reporter) -> int:
        raise SessionLimitReached("the API refused another session (429)")

    fast = Backoff(base=0.001, cap=0.001, attempts=3)
    with pytest.raises(RunFailed) as caught:
        Harness().run(["a"], run_one, backoff=fast).run()
    assert caught.value.exit_code == ExitCode.NETWORK


def test_stop_reaches_running_inputs_and_starts_no_new_one(tmp_path: Path) -> None:
    started = threading.Event()
    ran: list[str] = []
    holder: list[BatchRun] = []

    def run_one(spec: str, path: Path | None, reporter: Reporter) -> int:
        ran.append(spec)
        assert path is not None
        stopped = threading.Event()
        reporter.on_stop(stopped.set)
        path.write_text("the first half\n")
        started.set()
        holder[0].stop()  # as the first Ctrl-C does, from the main thread
        assert stopped.wait(5)
        reporter.cut_short = True
        return 0

    specs = ["a", "b"]
    run = Harness().run(specs, run_one, output_dir=tmp_path, names=_names(specs))
    holder.append(run)
    with pytest.raises(Aborted, match="1 stopped, 1 not started"):
        run.run()
    assert ran == ["a"]
    assert not (tmp_path / "a.txt").exists()
    assert (tmp_path / "a.txt.partial").read_text() == "the first half\n"
