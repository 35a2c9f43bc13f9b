"""The local server's live session states: the transition table."""

from __future__ import annotations

import pytest

from gladia_cli.protocol.state_machine import StateMachine
from gladia_cli.server.live.live_session import _TRANSITIONS, Event, State
from tests.unit.transition_tables import assert_legal, assert_only_legal

LEGAL = [
    (State.RECORDING, Event.FINISH, State.ENDING),
    (State.ENDING, Event.FINISH, State.ENDING),
    (State.ENDING, Event.END_SEQUENCE, State.CLOSING),
    (State.CLOSING, Event.FINISH, State.CLOSING),
    (State.CLOSING, Event.ENDED, State.ENDED),
]


def _machine(state: State) -> StateMachine[State, Event]:
    return StateMachine("live session", state, _TRANSITIONS)


@pytest.mark.parametrize(("state", "event", "target"), LEGAL)
def test_each_legal_transition(state: State, event: Event, target: State) -> None:
    assert_legal(_machine(state), event, target)


def test_every_other_move_is_refused_with_a_clear_internal_error() -> None:
    refused = assert_only_legal("live session", _machine, LEGAL, State, Event)
    assert (State.ENDED, Event.FINISH) in refused and (State.RECORDING, Event.ENDED) in refused
