"""Running one command over many inputs: a queue, `--jobs` workers, one output per input,
signals handled once, and one exit code for the whole run.

Generic over what is done to an input: `run_one(input, output_path, reporter) -> exit code`
(a live session for `gladia file`, stream_many.py; a pre-recorded job for `gladia transcribe`,
prerecorded_many.py). The runner owns everything around it:

- Outputs (`--output-dir`): `run_one` writes to a hidden temporary file beside the final
  name (`DIR/.x.srt.gladia-HOST-PID-XXXXXXXX.tmp`, render/staged_file.py), renamed to
  `DIR/x.srt` only when the input succeeded with its whole result. What an input that
  failed, or was stopped early, had written is kept as `DIR/x.srt.partial` (never a name
  `--skip-existing` counts as done); a run that is killed leaves at most the hidden
  temporary file, which the next run into the folder removes (its process is gone). A full
  disk fails the input, keeps nothing of it, and starts no further input (each would fail
  the same way). `--skip-existing` skips an input whose final output exists.
- Signals: the first SIGINT/SIGTERM/SIGHUP stops every running input gracefully (each
  finishes its transcript of what was sent) and starts no new one; the second aborts.
  Workers are daemon threads, so the second one ends the process with them.
- 429 (the account or server runs as many sessions as it allows): the input goes back to
  the front of the queue and the run keeps to the sessions it has; with none running it
  waits with backoff (about 2 minutes in all) before that input fails.
- A refused key (exit 3) starts no further input: the others would be refused too.
- Exit code: 0 when every input succeeded (a skipped one did, earlier); 130 when the run
  was stopped before every input was done; otherwise the most serious of the inputs'
  codes, in `SEVERITY` order.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import FrameType
from typing import Any, Protocol

from gladia_cli.errors import (
    Aborted,
    ExitCode,
    GladiaError,
    OutputWriteError,
    SessionLimitReached,
)
from gladia_cli.jobs.signals import Presses
from gladia_cli.protocol.retry import Backoff
from gladia_cli.render.notices import Notices
from gladia_cli.render.staged_file import StagedFile, remove_stale

# Most serious first. A refused key means nothing else can work; a network or server
# failure is worth retrying later (--skip-existing); an unexpected error is a bug to
# report; a usage error is an option that does not fit an input; an unreadable input is
# that file's own fault, the rest of the run being fine.
SEVERITY = (
    ExitCode.AUTH,
    ExitCode.NETWORK,
    ExitCode.UNEXPECTED,
    ExitCode.USAGE,
    ExitCode.AUDIO_INPUT,
)
SESSIONS_ON_STOP = "running session(s) finish their transcripts"  # what a stop does to them
SESSION_LIMIT_BACKOFF = Backoff(base=1.0, factor=2.0, cap=30.0, attempts=8)


def most_serious(codes: Iterable[int]) -> int:
    """The exit code of a run whose inputs ended with `codes` (0 when all did well); a code
    outside `SEVERITY` counts as unexpected."""
    failed = [code for code in codes if code != ExitCode.OK]
    if not failed:
        return int(ExitCode.OK)

    def rank(code: int) -> int:
        known = code if code in SEVERITY else ExitCode.UNEXPECTED
        return SEVERITY.index(ExitCode(known))

    return min(failed, key=rank)


class RunFailed(GladiaError):
    """Some inputs failed: the summary above lists them; the code is the most serious."""

    def __init__(self, message: str, exit_code: int, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.exit_code = ExitCode(exit_code)


@dataclass
class Outcome:
    spec: str
    state: str  # done, skipped, failed, stopped (cut short by a signal), not started
    code: int = 0
    message: str = ""
    written: Path | None = None  # the output file (a .partial one for failed/stopped)


class Reporter:
    """What `run_one` gets for its input: a place for progress and notices, and the stop."""

    def __init__(self, spec: str, run: BatchRun) -> None:
        self.spec = spec
        self._run = run
        self.notices: Notices = _InputNotices(run.notices, spec)
        self.cut_short = False  # the output is not the whole result (stopped early)
        self._on_stop: list[Callable[[], None]] = []

    @property
    def stopping(self) -> bool:
        return self._run.stopping.is_set()

    def progress(self, fraction: float | None, detail: str) -> None:
        """0–1 when known; called from the input's thread, as often as it likes. The first
        call says the input is under way (its session created, audio going)."""
        self._run.view.progress(self.spec, fraction, detail)

    def on_stop(self, callback: Callable[[], None]) -> None:
        """`callback` is called (from the main thread) at the first signal; at once if the
        run is already stopping."""
        with self._run.lock:
            if not self._run.stopping.is_set():
                self._on_stop.append(callback)
                return
        callback()

    def _stop(self) -> None:
        callbacks, self._on_stop = self._on_stop, []
        for callback in callbacks:
            callback()


class _InputNotices(Notices):
    """An input's own notices: its warnings name it; its progress notices are left to the
    run's view (one line per input, not several)."""

    def __init__(self, notices: Notices, spec: str) -> None:
        super().__init__(notices.screen, notices.quiet)
        self._spec = spec

    def info(self, text: str) -> None:
        pass

    def warning(self, text: str) -> None:
        super().warning(f"{self._spec}: {text}")


class View(Protocol):
    def started(self, spec: str) -> None: ...
    def progress(self, spec: str, fraction: float | None, detail: str) -> None: ...
    def ended(self, outcome: Outcome, finished: int) -> None: ...
    def refresh(self) -> None: ...
    def close(self) -> None: ...


RunOne = Callable[[str, Path | None, Reporter], int]


class BatchRun:
    def __init__(
        self,
        inputs: Sequence[str],
        run_one: RunOne,
        *,
        view: View,
        notices: Notices,
        jobs: int = 1,
        output_dir: Path | None = None,
        names: Mapping[str, PurePosixPath] | None = None,
        skip_existing: bool = False,
        debug: bool = False,
        backoff: Backoff = SESSION_LIMIT_BACKOFF,
        on_stop_running: str = SESSIONS_ON_STOP,
        presses: Presses | None = None,
    ) -> None:
        self.inputs = list(inputs)
        self.view = view
        self.notices = notices
        self.lock = threading.RLock()  # re-entrant: the signal handler runs in the main thread
        self.stopping = threading.Event()
        self._run_one = run_one
        self._jobs = jobs
        self._limit = jobs  # lowered when the server refuses a session (429)
        self._output_dir = output_dir
        self._names = names or {}
        self._skip_existing = skip_existing
        self._debug = debug
        self._backoff = backoff
        self._on_stop_running = on_stop_running  # what the first signal does to them
        self._changed = threading.Condition(self.lock)
        self._queue: deque[str] = deque(self.inputs)
        self._busy = 0  # inputs taken and not yet ended
        self._running: dict[str, Reporter] = {}
        self._temps: dict[str, StagedFile] = {}
        self._outcomes: dict[str, Outcome] = {}
        self._no_more = False  # a refused key: no further input starts
        self.reader_gone = False  # the reader of stdout left (`| head`)
        self._presses = presses or Presses()

    # --- the main thread -------------------------------------------------------------------

    def run(self) -> int:
        """Every input, `jobs` at a time; returns 0 or raises RunFailed / Aborted."""
        self._remove_stale()
        with self._signal_handlers():
            workers = [
                threading.Thread(target=self._work, name=f"gladia-input-{n}", daemon=True)
                for n in range(min(self._jobs, len(self.inputs)))
            ]
            for worker in workers:
                worker.start()
            try:
                while any(worker.is_alive() for worker in workers):
                    with self._changed:
                        self._changed.wait(0.2)
                    self.view.refresh()
            except Aborted:
                self._keep_partials()
                self.view.close()
                self._list_failures()
                raise Aborted(self._stopped_message("aborted")) from None
        self.view.close()
        return self._exit_code()

    @contextlib.contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        def handle(signum: int, frame: FrameType | None) -> None:
            if not self._presses.delivered():
                return  # one press delivered twice, to the process and its group (signals.py)
            if self._presses.count > 1:
                raise Aborted()
            try:
                self.stop()
            finally:
                self._presses.handled()

        previous: dict[int, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, handle)
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _remove_stale(self) -> None:
        """The temporary files killed runs left where this one writes (render/staged_file)."""
        folders = {final.parent for spec in self.inputs if (final := self._final(spec))}
        removed = sum(remove_stale(folder) for folder in sorted(folders))
        if removed:
            self.notices.info(
                f"removed {removed} temporary file{'s' if removed > 1 else ''} that an "
                "earlier run, killed, left"
            )

    def stop(self, *, quietly: bool = False) -> None:
        """Stop every running input gracefully; start no new one."""
        with self.lock:
            if self.stopping.is_set():
                return
            self.stopping.set()
            running = list(self._running.values())
            waiting = len(self._queue)
            self._changed.notify_all()
        if not quietly:
            self.notices.info(
                f"stopping: {len(running)} {self._on_stop_running}"
                + (f", {waiting} input(s) not started" if waiting else "")
                + " (Ctrl-C again to abort)"
            )
        for reporter in running:
            reporter._stop()

    def stdout_closed(self) -> None:
        """The reader of stdout went away (`| head`): a quiet end, as with one input."""
        self.reader_gone = True
        self.stop(quietly=True)

    def _keep_partials(self) -> None:
        """On abort: what the running inputs wrote so far is kept as `.partial`."""
        with self.lock:
            temps, self._temps = self._temps, {}
            for spec, temp in temps.items():
                temp.settle(complete=False)
                self._outcomes.setdefault(spec, Outcome(spec, "stopped", ExitCode.ABORTED))

    def _exit_code(self) -> int:
        if self.reader_gone:
            return int(ExitCode.OK)
        outcomes = [self._outcomes.get(spec) for spec in self.inputs]
        incomplete = [o for o in outcomes if o is None or o.state in ("stopped", "not started")]
        self._list_failures()
        if self.stopping.is_set() and incomplete:
            raise Aborted(self._stopped_message("stopped"))
        # An input with no outcome and no stop did not run: never a success.
        missing = [s for s, o in zip(self.inputs, outcomes, strict=True) if o is None]
        for spec in missing:
            self._outcomes[spec] = Outcome(spec, "failed", ExitCode.UNEXPECTED, "it did not run")
        outcomes = [self._outcomes.get(spec) for spec in self.inputs]
        failed = [o for o in outcomes if o is not None and o.state == "failed"]
        if failed:
            unstarted = len(incomplete)  # after a refused key
            raise RunFailed(
                f"{len(failed)} of {len(self.inputs)} inputs failed"
                + (f", {unstarted} not started" if unstarted else ""),
                most_serious(o.code for o in failed),
                hint="the others are done; fix these and run the same command with "
                "--skip-existing to do only what is missing"
                if self._output_dir is not None
                else "the others are done",
            )
        skipped = sum(1 for o in outcomes if o is not None and o.state == "skipped")
        self.notices.info(
            f"all {len(self.inputs)} inputs done"
            + (f" ({skipped} skipped: their output was there)" if skipped else "")
        )
        return int(ExitCode.OK)

    def _stopped_message(self, how: str) -> str:
        counts: dict[str, int] = {}
        for spec in self.inputs:
            outcome = self._outcomes.get(spec)
            state = outcome.state if outcome is not None else "not started"
            counts[state] = counts.get(state, 0) + 1
        shown = ", ".join(f"{n} {state}" for state, n in counts.items())
        return f"{how} before every input was done: {shown}"

    def _list_failures(self) -> None:
        for spec in self.inputs:
            outcome = self._outcomes.get(spec)
            if outcome is not None and outcome.state == "failed":
                self.notices.failure(f"failed: {spec}: {outcome.message}")

    # --- the workers -----------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._changed:
                while True:
                    if self.stopping.is_set() or self._no_more:
                        self._give_up_waiting()
                        return
                    if self._queue and self._busy < self._limit:
                        break
                    if not self._queue and self._busy == 0:
                        return
                    self._changed.wait()
                spec = self._queue.popleft()
                self._busy += 1
            try:
                outcome = self._one(spec)
            except Exception as exc:  # a bug here must fail this input, not end the worker
                if self._debug:
                    traceback.print_exc()
                message = f"unexpected {type(exc).__name__}: {exc}"
                outcome = Outcome(spec, "failed", ExitCode.UNEXPECTED, message)
            finally:
                with self._changed:
                    self._busy -= 1
                    self._changed.notify_all()
            if outcome is None:
                continue  # back in the queue (429)
            with self._changed:
                self._outcomes[spec] = outcome
                if outcome.code == ExitCode.AUTH:
                    self._no_more = True
                finished = len(self._outcomes)
            self.view.ended(outcome, finished)

    def _give_up_waiting(self) -> None:
        """Held under the lock: what is still queued will not start."""
        while self._queue:
            spec = self._queue.popleft()
            self._outcomes[spec] = Outcome(spec, "not started")

    def _final(self, spec: str) -> Path | None:
        if self._output_dir is None:
            return None
        return self._output_dir / self._names[spec]

    def _one(self, spec: str) -> Outcome | None:
        """One input, start to end; None when it went back into the queue."""
        final = self._final(spec)
        if final is not None and self._skip_existing and final.is_file():
            return Outcome(spec, "skipped", written=final)
        staged = self._temps.get(spec)
        if final is not None and staged is None:
            try:
                final.parent.mkdir(parents=True, exist_ok=True)
                staged = StagedFile(final)
            except OSError as exc:
                return Outcome(spec, "failed", ExitCode.USAGE, f"cannot write {final}: {exc}")
            with self.lock:
                self._temps[spec] = staged
        temp = staged.temp if staged is not None else None
        reporter = Reporter(spec, self)
        attempt = 0
        while True:
            with self.lock:
                if self.stopping.is_set():
                    self._drop_temp(spec)
                    return Outcome(spec, "not started")
                self._running[spec] = reporter
            self.view.started(spec)
            try:
                code, message = self._run_one(spec, temp, reporter), ""
            except SessionLimitReached as exc:
                attempt += 1
                if self._queue_again(spec, attempt, exc):
                    return None
                if attempt <= self._backoff.attempts:
                    continue
                code, message = int(exc.exit_code), exc.message
            except GladiaError as exc:
                code, message = int(exc.exit_code), exc.message
                if isinstance(exc, OutputWriteError) and exc.no_space:
                    self._no_more = True  # every other output there would fail the same way
            except Exception as exc:
                if self._debug:
                    traceback.print_exc()
                code, message = int(ExitCode.UNEXPECTED), f"unexpected {type(exc).__name__}: {exc}"
            finally:
                with self.lock:
                    self._running.pop(spec, None)
            break
        return self._settle(spec, final, code, message, reporter.cut_short)

    def _queue_again(self, spec: str, attempt: int, exc: SessionLimitReached) -> bool:
        """After a 429: back into the queue if other sessions run (one of them ending makes
        room); else False, after waiting a backoff delay here."""
        with self._changed:
            others = self._busy - 1
            if others > 0:
                if others < self._limit:
                    self._limit = others
                    self.notices.warning(
                        f"the server allows no more at once ({exc.message}): "
                        f"running {others} at a time"
                    )
                self._queue.appendleft(spec)
                return True
        if attempt <= self._backoff.attempts:
            delay = self._backoff.delay(attempt)
            self.notices.warning(f"{spec}: {exc.message}; trying again in {delay:.0f} s")
            self.stopping.wait(delay)
        return False

    def _drop_temp(self, spec: str) -> None:
        staged = self._temps.pop(spec, None)
        if staged is not None:
            staged.discard()

    def _settle(
        self, spec: str, final: Path | None, code: int, message: str, cut_short: bool
    ) -> Outcome:
        state = "failed" if code else ("stopped" if cut_short else "done")
        with self.lock:
            staged = self._temps.pop(spec, None)
        if final is None or staged is None:
            return Outcome(spec, state, code, message)
        if state == "done":
            try:
                return Outcome(spec, state, code, message, staged.settle(complete=True))
            except OSError as exc:  # e.g. a directory by that name: the whole result is kept
                kept = staged.settle(complete=False)
                message = f"cannot write {final}: {exc.strerror or exc}" + (
                    f"; the transcript is in {kept}" if kept else ""
                )
                return Outcome(spec, "failed", ExitCode.USAGE, message, kept)
        return Outcome(spec, state, code, message, staged.settle(complete=False))
