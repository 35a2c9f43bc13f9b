"""The time the server's timers run on: the event loop's, or a manual one in tests.

Session timers (idle timeout, maximum duration, linger, the end-of-session confirmation,
stored-session TTL, the delay faults) ask a `Clock`, so tests move time forward instead of
sleeping. Deadlines are absolute (`sleep_until`), so a clock advanced between reading
`now()` and starting the sleep cannot stretch a timer.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import threading
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once `now() >= deadline` (at once if it already is)."""
        ...


class LoopClock:
    """The running event loop's monotonic time."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - self.now()))


class ManualClock:
    """Time that moves only when a test calls `advance` (from any thread).

    Sleepers wake on their own event loop, in deadline order.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self._order = itertools.count()
        self._sleepers: list[
            tuple[float, int, asyncio.AbstractEventLoop, asyncio.Future[None]]
        ] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    async def sleep_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if deadline <= self._now:
                future.set_result(None)
            else:
                heapq.heappush(self._sleepers, (deadline, next(self._order), loop, future))
        await future

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
            due = []
            while self._sleepers and self._sleepers[0][0] <= self._now:
                due.append(heapq.heappop(self._sleepers))
        for _, _, loop, future in due:
            loop.call_soon_threadsafe(_wake, future)

    @property
    def sleepers(self) -> int:
        """How many timers are waiting (cancelled ones included until they would fire)."""
        with self._lock:
            return sum(not f.done() for *_, f in self._sleepers)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
