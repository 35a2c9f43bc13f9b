"""Pre-recorded work of many keys, served in turn: one key's backlog never makes another
key wait behind it.

`RoundRobin` (no threads, no clock) holds what each owner has waiting and hands out one
item per owner in turn: the owner just served goes to the back, a new owner joins at the
back. The server uses it twice:

- which queued job starts next (routes.py: at most `per key` jobs of one key run at
  once, and a job of a key with none running starts before the next of a busy key);
- which running job decodes its next block (`Turns`): at most `slots` blocks are decoded
  at once (the CPU the jobs may take, `--prerecorded-workers`), and keys take turns block
  by block. A key's two-hour jobs therefore cost another key's short job a block or two
  of waiting (seconds), not the two hours.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")

# Niceness of the threads that run pre-recorded jobs: background work, which yields the
# CPU to the event loop (live sessions' acknowledgments) on a busy machine.
JOB_NICENESS = 10


def background_priority() -> None:
    """Lower the calling thread's priority (Linux, where niceness is per thread; a no-op
    elsewhere or when not allowed)."""
    if sys.platform.startswith("linux"):
        thread = threading.get_native_id()
        with contextlib.suppress(OSError):
            current = os.getpriority(os.PRIO_PROCESS, thread)
            os.setpriority(os.PRIO_PROCESS, thread, min(19, current + JOB_NICENESS))


class RoundRobin(Generic[T]):
    """Items waiting per owner, handed out one owner at a time, in turn."""

    def __init__(self) -> None:
        self._owners: OrderedDict[str, deque[T]] = OrderedDict()

    def __len__(self) -> int:
        return sum(len(items) for items in self._owners.values())

    def push(self, owner: str, item: T) -> None:
        self._owners.setdefault(owner, deque()).append(item)

    def pop(self, eligible: Callable[[str], bool] | None = None) -> tuple[str, T] | None:
        """The oldest item of the first owner in turn (that `eligible` accepts); that
        owner goes to the back."""
        for owner, items in self._owners.items():
            if eligible is not None and not eligible(owner):
                continue
            item = items.popleft()
            if items:
                self._owners.move_to_end(owner)
            else:
                del self._owners[owner]
            return owner, item  # the loop ends here: the dict changed
        return None

    def discard(self, item: T) -> bool:
        """Take `item` out (a deleted job); False if it was not waiting."""
        for owner, items in self._owners.items():
            if item in items:
                items.remove(item)
                if not items:
                    del self._owners[owner]
                return True
        return False

    def waiting(self, owner: str) -> int:
        return len(self._owners.get(owner, ()))


class _Ticket:
    granted = False


class Turns:
    """At most `slots` holders at once; waiting owners are served round-robin.

    Job threads call `turn(owner, cancelled)` around each block they decode. A thread
    whose job is cancelled while it waits leaves without a slot (`wake` makes it look).
    """

    def __init__(self, slots: int) -> None:
        self._free = max(1, slots)
        self._waiting: RoundRobin[_Ticket] = RoundRobin()
        self._changed = threading.Condition()

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    def acquire(self, owner: str, cancelled: threading.Event) -> bool:
        """Wait for a slot; False (and no slot) if `cancelled` was set meanwhile."""
        ticket = _Ticket()
        with self._changed:
            self._waiting.push(owner, ticket)
            self._grant()
            while not ticket.granted:
                if cancelled.is_set():
                    self._waiting.discard(ticket)
                    return False
                self._changed.wait()
        return True

    def release(self) -> None:
        with self._changed:
            self._free += 1
            self._grant()

    def wake(self) -> None:
        """Let waiting threads look at their job again (one was cancelled)."""
        with self._changed:
            self._changed.notify_all()

    @contextmanager
    def turn(self, owner: str, cancelled: threading.Event) -> Iterator[None]:
        """Hold a slot for the body; a cancelled job's body runs without one (it only
        looks at `cancelled` and leaves)."""
        held = self.acquire(owner, cancelled)
        try:
            yield
        finally:
            if held:
                self.release()

    def _grant(self) -> None:
        while self._free > 0 and (served := self._waiting.pop()) is not None:
            served[1].granted = True
            self._free -= 1
        self._changed.notify_all()
