"""What every core's transition table is checked for: each legal move lands where the table
says, every other move of every state is refused and moves nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import TypeVar

import pytest

from gladia_cli.protocol.state_machine import IllegalTransition, StateMachine

S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


def assert_legal(machine: StateMachine[S, E], event: E, target: S) -> None:
    assert machine.fire(event) is target and machine.state is target


def assert_only_legal(
    name: str,
    make: Callable[[S], StateMachine[S, E]],
    legal: Iterable[tuple[S, E, S]],
    states: Iterable[S],
    events: Iterable[E],
) -> list[tuple[S, E]]:
    """Every move not in `legal` refused with "`name`: event is not allowed…", the state
    kept; returns those refused moves."""
    allowed = [(state, event) for state, event, _ in legal]
    assert len(set(allowed)) == len(allowed)  # one target per move
    events = list(events)
    refused = [(s, e) for s in states for e in events if (s, e) not in allowed]
    for state, event in refused:
        machine = make(state)
        with pytest.raises(IllegalTransition, match=f"{name}: {event.name.lower()} is not allowed"):
            machine.fire(event)
        assert machine.state is state  # a refused move moves nothing
    return refused
