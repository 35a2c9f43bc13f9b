"""Finished sessions are forgotten after the TTL or beyond the stored count, files too."""

from __future__ import annotations

from pathlib import Path

import requests

from gladia_cli.server.app import API
from gladia_cli.server.runner import LocalServer
from tests.server.clocked import clocked_server
from tests.support import HEADERS, RawClient, create_session, tone_bursts

AUDIO = tone_bursts([(0.1, 0.4, 0)], total=0.8).tobytes()


def _finished(server: LocalServer) -> str:
    created = create_session(server.url)
    client = RawClient(created["url"])
    client.send_audio(AUDIO)
    client.stop()
    client.read_until_closed()
    assert client.received.close_code == 1000
    return str(created["id"])


def _status(server: LocalServer, session_id: str) -> int:
    url = f"{server.url}/v2/live/{session_id}"
    return requests.get(url, headers=HEADERS, timeout=5).status_code


def _files(server: LocalServer) -> int:
    assert server._runner is not None
    return len(list(Path(server._runner.app[API].directory).iterdir()))


def test_finished_sessions_expire_after_the_ttl() -> None:
    with clocked_server(session_ttl=600.0, linger=10.0) as (server, clock):
        old = _finished(server)
        clock.advance(300.0)
        recent = _finished(server)
        unfinished = create_session(server.url)["id"]
        clock.advance(300.0)
        assert _status(server, old) == 404
        assert _status(server, recent) == 200
        assert _status(server, unfinished) == 200  # unfinished sessions never expire
        assert _files(server) == 2


def test_beyond_max_stored_sessions_the_oldest_finished_go() -> None:
    with clocked_server(max_stored_sessions=3, linger=10.0) as (server, clock):
        ids = []
        for _ in range(5):
            ids.append(_finished(server))
            clock.advance(11.0)  # past the linger: nobody can still be reconnecting
        listed = requests.get(f"{server.url}/v2/live", headers=HEADERS, timeout=5).json()
        assert sorted(item["id"] for item in listed["items"]) == sorted(ids[2:])
        assert [_status(server, i) for i in ids] == [404, 404, 200, 200, 200]
