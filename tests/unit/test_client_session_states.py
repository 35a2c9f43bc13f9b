"""The client session's states: its transition table, and the core moving through it."""

from __future__ import annotations

import pytest

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.client_session import (
    _TRANSITIONS,
    SHOWN,
    ClientSession,
    Event,
    Finish,
    Reconnect,
    State,
)
from gladia_cli.protocol.retry import Backoff
from gladia_cli.protocol.state_machine import IllegalTransition, StateMachine
from tests.unit.transition_tables import assert_legal, assert_only_legal

LEGAL = [
    (State.CONNECTING, Event.CONNECTED, State.STREAMING),
    (State.CONNECTING, Event.CONNECT_FAILED, State.CONNECTING),
    (State.CONNECTING, Event.STOP, State.STOPPING_OFFLINE),
    (State.CONNECTING, Event.FINISH, State.DONE),
    (State.CONNECTING, Event.FAIL, State.FAILED),
    (State.STREAMING, Event.LOST, State.RECONNECTING),
    (State.STREAMING, Event.STOP, State.STOPPING),
    (State.STREAMING, Event.FINISH, State.DONE),
    (State.STREAMING, Event.FAIL, State.FAILED),
    (State.RECONNECTING, Event.CONNECTED, State.STREAMING),
    (State.RECONNECTING, Event.CONNECT_FAILED, State.RECONNECTING),
    (State.RECONNECTING, Event.STOP, State.STOPPING_OFFLINE),
    (State.RECONNECTING, Event.FINISH, State.DONE),
    (State.RECONNECTING, Event.FAIL, State.FAILED),
    (State.STOPPING, Event.LOST, State.STOPPING_OFFLINE),
    (State.STOPPING, Event.FINISH, State.DONE),
    (State.STOPPING, Event.FAIL, State.FAILED),
    (State.STOPPING_OFFLINE, Event.CONNECTED, State.STOPPING),
    (State.STOPPING_OFFLINE, Event.CONNECT_FAILED, State.STOPPING_OFFLINE),
    (State.STOPPING_OFFLINE, Event.FINISH, State.DONE),
    (State.STOPPING_OFFLINE, Event.FAIL, State.FAILED),
    (State.DONE, Event.STOP, State.DONE),
    (State.FAILED, Event.STOP, State.FAILED),
]


def _machine(state: State) -> StateMachine[State, Event]:
    return StateMachine("client session", state, _TRANSITIONS)


@pytest.mark.parametrize(("state", "event", "target"), LEGAL)
def test_each_legal_transition(state: State, event: Event, target: State) -> None:
    assert_legal(_machine(state), event, target)


def test_every_other_move_is_refused_with_a_clear_internal_error() -> None:
    refused = assert_only_legal("client session", _machine, LEGAL, State, Event)
    assert (State.DONE, Event.CONNECTED) in refused


def test_every_state_has_its_word_on_the_status_line() -> None:
    assert set(SHOWN) == set(State)
    assert SHOWN[State.STOPPING_OFFLINE] == "reconnecting"


def _state(core: ClientSession) -> State:
    return core.state  # read afresh: each call moves it


def _core() -> ClientSession:
    return ClientSession(AudioFormat(), backoff=Backoff(base=0.25, cap=5.0, attempts=4))


def test_the_core_walks_the_table_through_an_outage_and_a_stop() -> None:
    core = _core()
    assert (_state(core), core.is_connected) == (State.CONNECTING, False)
    core.connected(0.0)
    assert (_state(core), core.is_connected) == (State.STREAMING, True)
    assert isinstance(core.closed(None, "reset", 1.0), Reconnect)
    assert (_state(core), core.is_connected) == (State.RECONNECTING, False)
    core.stop()  # during the outage: stop_recording goes on the next connection
    assert _state(core) is State.STOPPING_OFFLINE and core.stop_requested
    assert core.stats.state == "reconnecting"
    core.connected(2.0)
    assert _state(core) is State.STOPPING and core.stats.state == "stopping"
    assert isinstance(core.closed(1000, "done", 3.0), Finish)
    assert _state(core) is State.DONE and core.stats.state == "done"
    core.stop()  # after the end: nothing changes
    assert _state(core) is State.DONE


def test_a_connection_reported_after_the_end_is_an_internal_error() -> None:
    core = _core()
    core.connected(0.0)
    core.abandon()
    with pytest.raises(IllegalTransition, match="client session: connected is not allowed"):
        core.connected(1.0)


def test_a_failed_session_says_failed() -> None:
    core = _core()
    action = core.connect_failed("refused", retryable=False, now=0.0)
    assert isinstance(action, Finish) and action.error is not None
    assert _state(core) is State.FAILED and core.stats.state == "failed"


def test_an_attempt_failing_after_the_user_closed_changes_nothing() -> None:
    core = _core()
    core.connected(0.0)
    core.closed(None, "reset", 1.0)
    core.abandon()  # Ctrl-C twice while the next connection was being opened
    action = core.connect_failed("refused", retryable=True, now=2.0)
    assert action == Finish(None) and _state(core) is State.DONE
    assert core.take_notices() == ["connection lost (reset); reconnecting"]
