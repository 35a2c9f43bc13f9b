"""A state kept as one enum and moved only by a table of transitions (as h11's `_state.py`).

A session core used to keep its state in flags set here and there, and a combination nobody
meant (connected *and* finished) went unnoticed. With a table, every move is written down in
one place, and a move the table does not hold is a bug in the core that says so at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Generic, TypeVar

S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


class IllegalTransition(RuntimeError):
    """An internal error: a core was asked to do what its state does not allow."""


class StateMachine(Generic[S, E]):
    """The current state of `name`, moved by `fire(event)` through `table`."""

    def __init__(self, name: str, initial: S, table: Mapping[S, Mapping[E, S]]) -> None:
        self._name = name
        self._table = table
        self.state = initial

    def fire(self, event: E) -> S:
        """Move on `event`; IllegalTransition when the table has no such move."""
        target = self._table.get(self.state, {}).get(event)
        if target is None:
            raise IllegalTransition(
                f"{self._name}: {event.name.lower()} is not allowed in state "
                f"{self.state.name.lower()}"
            )
        self.state = target
        return target

    def allows(self, event: E) -> bool:
        return event in self._table.get(self.state, {})
