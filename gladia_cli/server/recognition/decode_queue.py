"""One model, many sessions: decode requests from every channel of every session, served
fairly by a few worker threads.

The rules (`FairSchedule`, no threads, no clock):
- Sessions take turns (round-robin): a session with work waiting gets one decode, then
  goes to the back. A `--pace max` session therefore gets its share (1/N with N sessions
  waiting), never the whole model: real-time sessions keep their latency.
- Within a session, finals come before partials (finals are what the client keeps).
- Pre-recorded jobs' decodes (`live=False`) wait behind every live session's: they take
  turns among themselves only when no live session has a final or a partial waiting, so a
  job running beside a live session does not stretch the session's lag (a decode already
  running is not interrupted: `--decoders 2` leaves one decoder to take the next live one).
- Background decodes (the translation add-on) come last of all: one runs only when no
  session has a final or a partial waiting, so an add-on never delays a transcript. The
  add-on runner submits one at a time (see server/addons/runner.py): they stay bounded.
- A channel has at most one partial waiting: a newer one replaces it (the old one is
  stale, counted as skipped), and a final of the channel drops it. Finals are never
  dropped. A session's finals are submitted by its own recognition thread, which waits
  for each (a session runs one call at a time), so at most one final per session waits:
  the queue is bounded by sessions × (1 + channels), whatever the load.

- With partial workers (`partial_workers`), finals never wait behind a partial: the main
  workers take finals (and jobs' and background decodes) only, the partial workers live
  partials only, each in the order above. A final then shares the cores with at most a
  partial running beside it instead of waiting for it to end.
- While a live session's final is being decoded (a guess included), a partial worker
  starts only that session's first partials of an utterance (they show the speech was
  heard); its others wait until the final is done, and a newer one of their channel
  replaces them meanwhile. A partial running beside a final took it from 0.47 to 0.65 s
  (base, French, 5 s): with three voices at once the partials took the cores the finals
  needed, which then fell behind. Only the session's own: another session's partials are
  not held back for it (a `--pace max` session decoding finals back to back would leave
  a live one beside it with no partial at all), and a pre-recorded job's or an add-on's
  decode holds none back.

- A speculative final (a final decoded while the silence that ends its utterance is still
  being confirmed, whisper.py) is taken only by an idle queue: no final waiting or being
  decoded, in any session, and no other channel speaking (channels say when they are:
  `speaking`), whose final could come while the guess runs and would wait for it. It
  then starts at once; it leaves the channel's waiting partial in place.

Partials are thus best effort: under load some are skipped, finals are not. Nothing here
decides what is recognised, only when: the finals depend on the samples alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger("gladia.server")

Job = Callable[[], Any]
Done = Callable[[Any, BaseException | None], None]
Serves = Literal["all", "finals", "partials"]


@dataclass
class DecodeRequest:
    session: str
    channel: int
    final: bool
    job: Job
    done: Done  # called with (result, None) or (None, error), on a worker thread
    live: bool = True  # a live session's; False: a pre-recorded job's (served after)
    speculative: bool = False  # a final that may not be needed (it keeps the partial)
    first: bool = False  # an utterance's first partial: it may run beside a final
    background: bool = False  # an add-on's decode, behind every transcript


@dataclass
class _SessionWork:
    finals: deque[DecodeRequest] = field(default_factory=deque)
    partials: OrderedDict[int, DecodeRequest] = field(default_factory=OrderedDict)

    def empty(self) -> bool:
        return not self.finals and not self.partials


class FairSchedule:
    """Which request runs next (see module docstring)."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, _SessionWork] = OrderedDict()  # live sessions
        self._jobs: OrderedDict[str, _SessionWork] = OrderedDict()  # pre-recorded jobs
        self._background: deque[DecodeRequest] = deque()
        self.skipped: dict[str, int] = {}  # partials replaced or dropped, per session

    def __len__(self) -> int:
        tiers = (*self._sessions.values(), *self._jobs.values())
        waiting = sum(len(w.finals) + len(w.partials) for w in tiers)
        return waiting + len(self._background)

    def _tier_of(self, session: str) -> OrderedDict[str, _SessionWork]:
        return self._jobs if session in self._jobs else self._sessions

    def add_background(self, request: DecodeRequest) -> None:
        self._background.append(request)

    def add(self, request: DecodeRequest) -> DecodeRequest | None:
        """Queue `request`; returns the stale partial it replaced or dropped, if any."""
        tier = self._sessions if request.live else self._jobs
        work = tier.setdefault(request.session, _SessionWork())
        stale = None if request.speculative else work.partials.pop(request.channel, None)
        if request.final:
            work.finals.append(request)
        else:
            work.partials[request.channel] = request  # to the back: oldest partial first
        if stale is not None:
            self.skipped[request.session] = self.skipped.get(request.session, 0) + 1
        return stale

    def next(
        self, serves: Serves = "all", *, holding: frozenset[str] = frozenset()
    ) -> DecodeRequest | None:
        """The next request a worker that `serves` all, finals (with jobs' and background
        decodes) or partials takes, or None. `holding`: sessions whose final is being
        decoded, of which a partial worker takes only an utterance's first partial."""
        tiers = (self._sessions,) if serves == "partials" else (self._sessions, self._jobs)
        for tier in tiers:
            # A partial worker takes the live partials; the others, a job's too.
            partials = serves != "finals" or tier is self._jobs
            for session, work in tier.items():
                if work.finals and serves != "partials":
                    request = work.finals.popleft()
                elif work.partials and partials:
                    channel = _eligible_partial(work, first_only=session in holding)
                    if channel is None:
                        continue
                    request = work.partials.pop(channel)
                else:
                    continue
                tier.move_to_end(session)
                if work.empty():
                    del tier[session]
                return request
        if serves != "partials" and self._background:
            return self._background.popleft()
        return None

    def has_work(self, serves: Serves = "all", *, holding: frozenset[str] = frozenset()) -> bool:
        if serves == "all":
            return len(self) > 0
        if serves == "partials":
            return any(
                _eligible_partial(w, first_only=session in holding) is not None
                for session, w in self._sessions.items()
            )
        tiers = (*self._sessions.values(), *self._jobs.values())
        return (
            bool(self._background)
            or any(w.finals for w in tiers)
            or any(w.partials for w in self._jobs.values())
        )

    def forget(self, session: str) -> list[DecodeRequest]:
        """Take back everything a session has waiting (it is gone)."""
        work = self._tier_of(session).pop(session, None)
        self.skipped.pop(session, None)
        background = [r for r in self._background if r.session == session]
        if background:
            self._background = deque(r for r in self._background if r.session != session)
        if work is None:
            return background
        return [*work.finals, *work.partials.values(), *background]


def _eligible_partial(work: _SessionWork, *, first_only: bool) -> int | None:
    """The channel of a session's oldest waiting partial (an utterance's first, when
    `first_only`), or None."""
    for channel, request in work.partials.items():
        if request.first or not first_only:
            return channel
    return None


def _settles(future: Future[Any]) -> Done:
    """A request's `done` that hands its outcome to `future` (for callers that wait)."""

    def done(result: Any, error: BaseException | None) -> None:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    return done


class QueueClosed(RuntimeError):
    """The server is stopping: no more decodes."""


class DecodeQueue:
    """`workers` threads serving a FairSchedule; with `partial_workers`, those serve the
    live partials and the others everything else (see the module docstring)."""

    def __init__(self, workers: int = 1, *, partial_workers: int = 0) -> None:
        self._schedule = FairSchedule()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closed = False
        self._running = 0  # jobs being decoded now
        self._running_finals = 0  # of them, on the main workers (finals, jobs, background)
        # Of those, live sessions' finals (guesses included), per session.
        self._finals_running: Counter[str] = Counter()
        self._speaking: set[tuple[str, int]] = set()  # channels with an open utterance
        self._main: Serves = "finals" if partial_workers > 0 else "all"
        self._threads = [
            threading.Thread(
                target=self._serve, args=(self._main,), name=f"decoder-{i}", daemon=True
            )
            for i in range(max(1, workers))
        ] + [
            threading.Thread(
                target=self._serve, args=("partials",), name=f"partials-{i}", daemon=True
            )
            for i in range(partial_workers)
        ]
        for thread in self._threads:
            thread.start()

    def run_final(self, session: str, channel: int, job: Job, *, live: bool = True) -> Any:
        """Queue a final and wait for it (the calling thread blocks); drops the channel's
        waiting partial. Raises what the job raised. `live` False: a pre-recorded job's."""
        future: Future[Any] = Future()
        done = _settles(future)
        self._add(DecodeRequest(session, channel, True, job, done, live))
        return future.result()

    def speculate_final(self, session: str, channel: int, job: Job) -> Future[Any] | None:
        """Start a final that may not be needed, if the main workers are idle (nothing of
        theirs waiting or running); None when they are not. The future gets the result,
        or QueueClosed."""
        future: Future[Any] = Future()
        done = _settles(future)
        with self._lock:
            others = self._speaking - {(session, channel)}
            if others or self._running_finals or self._schedule.has_work(self._main):
                return None
            if self._closed:
                return None
            self._schedule.add(DecodeRequest(session, channel, True, job, done, speculative=True))
            self._wake.notify_all()
        return future

    def speaking(self, session: str, channel: int, speaking: bool) -> None:
        """A channel's utterance opened (True) or closed (False)."""
        with self._lock:
            if speaking:
                self._speaking.add((session, channel))
            else:
                self._speaking.discard((session, channel))

    def offer_partial(
        self,
        session: str,
        channel: int,
        job: Job,
        done: Done,
        *,
        live: bool = True,
        first: bool = False,
    ) -> None:
        """Queue a partial; `done` gets its result later, unless it is replaced first.
        `first`: an utterance's first (it may run beside a final; the others wait)."""
        self._add(DecodeRequest(session, channel, False, job, done, live, first=first))

    def run_background(self, session: str, channel: int, job: Job) -> Any:
        """Queue a decode behind every final and partial, and wait for it (the calling
        thread blocks: an add-on worker's, never the recognition's). Raises what the job
        raised, or QueueClosed."""
        future: Future[Any] = Future()
        done = _settles(future)
        self._add(DecodeRequest(session, channel, True, job, done, background=True))
        return future.result()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait until nothing is waiting or running (tests and benchmarks pace with it)."""
        with self._lock:
            return self._wake.wait_for(
                lambda: self._running == 0 and len(self._schedule) == 0, timeout
            )

    def skipped_partials(self, session: str) -> int:
        with self._lock:
            return self._schedule.skipped.get(session, 0)

    def forget(self, session: str) -> None:
        with self._lock:
            dropped = self._schedule.forget(session)
            self._speaking = {key for key in self._speaking if key[0] != session}
        for request in dropped:
            request.done(None, QueueClosed("session closed"))

    def close(self, timeout: float = 5.0) -> bool:
        """Fail what waits, and wait up to `timeout` s for the decodes already running.
        False when one still runs after it.

        Waiting matters at exit: a decode left running in native code (CTranslate2) while
        the process exits can abort it ("terminate called without an active exception",
        exit -6) after the whole transcript was printed. (5 s: a decode takes well under
        that, and `--local`'s server thread gets 10 s to stop, the aiohttp part included.)"""
        with self._lock:
            self._closed = True
            waiting = []
            while (request := self._schedule.next()) is not None:
                waiting.append(request)
            self._wake.notify_all()
        for request in waiting:
            request.done(None, QueueClosed("the server is stopping"))
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [thread.name for thread in self._threads if thread.is_alive()]
        if stuck:
            log.warning("decodes still running after %.0f s at close: %s", timeout, stuck)
        return not stuck

    def _add(self, request: DecodeRequest) -> None:
        with self._lock:
            if self._closed:
                raise QueueClosed("the server is stopping")
            if request.background:
                self._schedule.add_background(request)
            else:
                self._schedule.add(request)  # a final also takes its channel's partial back
            self._wake.notify_all()  # workers and wait_idle share the condition

    def _holding(self, serves: Serves) -> frozenset[str]:
        """The sessions whose partials, but an utterance's first, a partial worker holds
        back: those with a final being decoded, which gets the cores to itself."""
        return frozenset(self._finals_running) if serves == "partials" else frozenset()

    def _serve(self, serves: Serves) -> None:
        while True:
            with self._lock:
                while not self._closed and not self._schedule.has_work(
                    serves, holding=self._holding(serves)
                ):
                    self._wake.wait()
                if self._closed:
                    return
                request = self._schedule.next(serves, holding=self._holding(serves))
                if request is None:
                    continue
                self._running += 1
                main = serves != "partials"
                live_final = main and request.final and request.live and not request.background
                self._running_finals += main
                if live_final:
                    self._finals_running[request.session] += 1
            try:
                try:
                    result = request.job()
                except Exception as exc:
                    request.done(None, exc)
                else:
                    request.done(result, None)
            except Exception:
                # A callback that fails must not take the worker (and every session) down.
                log.exception("decode result could not be delivered")
            finally:
                with self._lock:
                    self._running -= 1
                    self._running_finals -= main
                    if live_final:
                        self._finals_running[request.session] -= 1
                        if not self._finals_running[request.session]:
                            del self._finals_running[request.session]
                    self._wake.notify_all()
