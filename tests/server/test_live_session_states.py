"""A live session on the server walks its states (the table: tests/unit)."""

from __future__ import annotations

import pytest

from gladia_cli.protocol.state_machine import IllegalTransition
from gladia_cli.server.app import API
from gladia_cli.server.live.live_session import LiveSession, State
from tests.support import RawClient, create_session, local_server, tone_bursts


def _state(session: LiveSession) -> State:
    return session.state  # read afresh: the server moves it


def test_a_session_records_then_ends_and_refuses_to_finish_again() -> None:
    audio = tone_bursts([(0.2, 0.4, 0)], total=1.0).tobytes()
    with local_server() as server:
        assert server._runner is not None
        sessions = server._runner.app[API].sessions
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(audio)
        client.read(1)  # an acknowledgment: the session has the audio
        session = sessions[created["id"]]
        assert isinstance(session, LiveSession)
        assert (_state(session), session.recording) == (State.RECORDING, True)
        client.stop()
        assert client.read_until_closed().close_code == 1000
        assert (_state(session), session.recording) == (State.ENDED, False)
        assert session.finished.is_set()
        with pytest.raises(IllegalTransition, match="finish is not allowed in state ended"):
            session.finish("too late")
