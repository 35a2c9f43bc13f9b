"""The local server's live session states: the transition table."""

from __future__ import annotations

import pytest

from gladia_cli.protocol.state_machine import IllegalTransition, StateMachine
from gladia_cli.server.live.live_session import _TRANSITIONS, Event, State

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
    machine = _machine(state)
    assert machine.fire(event) is target and machine.state is target


def test_every_other_move_is_refused_with_a_clear_internal_error() -> None:
    legal = {(state, event) for state, event, _ in LEGAL}
    refused = [(s, e) for s in State for e in Event if (s, e) not in legal]
    assert (State.ENDED, Event.FINISH) in refused and (State.RECORDING, Event.ENDED) in refused
    for state, event in refused:
        machine = _machine(state)
        with pytest.raises(IllegalTransition, match=f"live session: {event.name.lower()} is not"):
            machine.fire(event)
        assert machine.state is state
