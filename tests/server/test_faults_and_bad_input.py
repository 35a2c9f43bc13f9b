"""Fault injection, resume on the same URL, bad input, timeouts: the server stays up."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import requests

from gladia_cli.server.config import Faults
from tests.server.audio import AUDIO
from tests.server.clocked import clocked_server
from tests.support import (
    HEADERS,
    RawClient,
    create_session,
    get_session,
    local_server,
    stored_audio,
)


def _finals(client: RawClient) -> list[str]:
    return [
        m["data"]["utterance"]["text"]
        for m in client.received.of_type("transcript")
        if m["data"]["is_final"]
    ]


def _resume(url: str, audio: bytes, acked: int, *, hint: bool = True) -> RawClient:
    """Reconnect, re-send from the last acknowledged byte, stop, read to the end.

    The audio starts and ends in digital silence, where content cannot tell a re-send from
    new audio when acks were lost with the connection: so, like our CLI, the client says
    where it resumes (a `gladia-resume:` ping) unless `hint` is False.
    """
    client = RawClient(url)
    if hint:
        client.ws.ping(f"gladia-resume:{acked}")
    client.send_audio(audio[acked:])
    client.stop()
    client.read_until_closed()
    return client


def _wait_until_done(url: str, session_id: str) -> None:
    """Poll the REST view: the server finishes on its own, the test only watches."""
    deadline = time.monotonic() + 10
    while get_session(url, session_id)["status"] != "done":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _last_ack(client: RawClient) -> int:
    acks = [m for m in client.received.of_type("audio_chunk") if m["acknowledged"]]
    return acks[-1]["data"]["byte_range"][1] if acks else 0


def test_drop_after_bytes_then_resume_loses_nothing() -> None:
    with local_server(faults=Faults(drop_after_bytes=40_000)) as server:
        created = create_session(server.url)
        first = RawClient(created["url"])
        first.send_audio(AUDIO)
        first.read_until_closed()
        assert first.received.close_code is None  # dropped: no close frame
        acked = _last_ack(first)
        assert 0 < acked <= 40_000
        second = _resume(created["url"], AUDIO, acked)
        assert second.received.close_code == 1000
        assert second.received.of_type("audio_chunk")[0]["data"]["byte_range"][0] == acked
        assert stored_audio(server.url, created["id"]) == AUDIO
        assert len(_finals(first) + _finals(second)) == 3


def test_a_resume_that_resends_acknowledged_audio_keeps_it_once() -> None:
    with local_server(faults=Faults(drop_after_bytes=64_000)) as server:
        created = create_session(server.url)
        first = RawClient(created["url"])
        first.send_audio(AUDIO)
        first.read_until_closed()
        acked = _last_ack(first)
        second = _resume(created["url"], AUDIO, acked)
        assert second.received.close_code == 1000
        assert stored_audio(server.url, created["id"]) == AUDIO


def test_withheld_acknowledgments_then_drop_resume_from_zero() -> None:
    faults = Faults(withhold_acks=True, drop_after_bytes=60_000)
    with local_server(faults=faults) as server:
        created = create_session(server.url)
        first = RawClient(created["url"])
        first.send_audio(AUDIO)
        first.read_until_closed()
        assert _last_ack(first) == 0
        second = _resume(created["url"], AUDIO, 0)  # the client re-sends everything
        assert stored_audio(server.url, created["id"]) == AUDIO
        assert second.received.close_code == 1000


def test_drop_after_seconds_then_the_next_connection_behaves() -> None:
    with clocked_server(faults=Faults(drop_after_seconds=0.3)) as (server, clock):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO[:3200])
        client.read(1)
        clock.advance(0.3)
        client.read_until_closed()
        assert client.received.close_code is None
        # The next connection behaves (fault_connections=1) and the session resumes.
        second = _resume(created["url"], AUDIO, 3200)
        assert second.received.close_code == 1000
        assert stored_audio(server.url, created["id"]) == AUDIO


@pytest.mark.parametrize(("code", "after"), [(4403, 0), (1011, 20_000)])
def test_close_with_a_given_code(code: int, after: int) -> None:
    with local_server(faults=Faults(close_code=code, close_after_bytes=after)) as server:
        created = create_session(server.url)
        client = RawClient(created["url"])
        if after:
            client.send_audio(AUDIO[: after + 3200])
        client.read_until_closed()
        assert client.received.close_code == code
        assert client.received.close_reason == "fault injection"


def test_faults_apply_to_the_first_connections_only() -> None:
    with local_server(faults=Faults(drop_after_bytes=10_000, fault_connections=2)) as server:
        created = create_session(server.url)
        acked = 0
        for _ in range(2):
            client = RawClient(created["url"])
            client.ws.ping(f"gladia-resume:{acked}")
            client.send_audio(AUDIO[acked:])
            client.read_until_closed()
            assert client.received.close_code is None
            acked = _last_ack(client) or acked
        third = _resume(created["url"], AUDIO, acked)
        assert third.received.close_code == 1000
        assert stored_audio(server.url, created["id"]) == AUDIO


def test_refused_init_then_success() -> None:
    with local_server(faults=Faults(init_failures=(500, 503))) as server:
        statuses = [
            requests.post(f"{server.url}/v2/live", json={}, headers=HEADERS, timeout=5).status_code
            for _ in range(3)
        ]
        assert statuses == [500, 503, 201]


def test_an_injected_init_failure_comes_before_the_key_check() -> None:
    """As from a failing proxy in front of the API: the status, whatever the key."""
    with local_server(faults=Faults(init_failures=(503,))) as server:
        statuses = [
            requests.post(f"{server.url}/v2/live", json={}, timeout=5).status_code for _ in range(2)
        ]
        assert statuses == [503, 401]


def test_bad_input_never_takes_the_server_down() -> None:
    with local_server() as server:
        healthy = create_session(server.url)
        healthy_client = RawClient(healthy["url"])
        healthy_client.send_audio(AUDIO[: len(AUDIO) // 2])

        cases = [
            ("not json at all", 4400),
            (json.dumps({"type": "audio_chunk", "data": {"chunk": "%%% not base64"}}), 4400),
            (json.dumps({"type": "audio_chunk", "data": {}}), 4400),
            (json.dumps([1, 2, 3]), 4400),
        ]
        for frame, code in cases:
            created = create_session(server.url)
            client = RawClient(created["url"])
            client.ws.send(frame)
            client.read_until_closed()
            assert client.received.close_code == code, frame

        # Unknown type: an error message, and the connection goes on.
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_json({"type": "make_coffee"})
        error = client.read(1)[0]
        assert error["type"] == "error" and "make_coffee" in error["error"]["message"]
        client.send_audio(AUDIO[:6400])
        assert client.read(1)[0]["type"] == "audio_chunk"
        client.close()

        # A frame over 1 MiB closes with 1009; exactly 1 MiB is fine.
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.ws.send_bytes(b"\0" * (1024 * 1024))
        assert client.read(1)[0]["data"]["byte_range"] == [0, 1024 * 1024]
        client.ws.send_bytes(b"\0" * (1024 * 1024 + 1))
        client.read_until_closed()
        assert client.received.close_code == 1009

        # Wrong token.
        wrong = RawClient(f"{server.url.replace('http', 'ws')}/v2/live?token=nope")
        wrong.read_until_closed()
        assert wrong.received.close_code == 4401

        client.close()
        wrong.close()
        # The healthy session never noticed.
        healthy_client.send_audio(AUDIO[len(AUDIO) // 2 :])
        healthy_client.stop()
        healthy_client.read_until_closed()
        assert healthy_client.received.close_code == 1000
        assert stored_audio(server.url, healthy["id"]) == AUDIO


def test_audio_after_stop_is_refused_and_a_finished_token_is_closed() -> None:
    with clocked_server(linger=60.0) as (server, clock):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO[:16000])
        client.stop()
        client.send_audio(AUDIO[16000:19200])
        client.stop()
        client.read_until_closed()
        refused = [m for m in client.received.of_type("audio_chunk") if not m["acknowledged"]]
        assert refused and refused[0]["error"]["message"] and refused[0]["data"] is None
        stops = client.received.of_type("stop_recording")
        assert [s["acknowledged"] for s in stops] == [True, False]
        # Within the linger, a reconnect is closed with 1000: the client confirmed it had
        # every message (it answered the ping), so nothing is said twice...
        again = RawClient(created["url"])
        again.read_until_closed()
        assert (again.received.close_code, again.received.types) == (1000, [])
        # ...after it, the token is finished.
        clock.advance(60.0)
        late = RawClient(created["url"])
        late.read_until_closed()
        assert late.received.close_code == 4410


def test_closing_with_1000_without_stop_finishes_in_the_background() -> None:
    with local_server() as server:
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)
        client.read(len(AUDIO) // 3200)  # every chunk acknowledged
        client.close(1000)
        _wait_until_done(server.url, created["id"])
        result = get_session(server.url, created["id"])["result"]
        assert len(result["transcription"]["utterances"]) == 3
        again = RawClient(created["url"])
        again.read_until_closed()
        assert again.received.close_code == 4410


def test_messages_produced_while_disconnected_are_delivered_on_reconnect() -> None:
    with local_server() as server:
        created = create_session(server.url)
        first = RawClient(created["url"])
        first.send_audio(AUDIO)
        first.stop()
        while first.read(1)[0]["type"] != "stop_recording":  # up to the stop ack...
            pass
        # ...then vanish, before the end sequence.
        first.ws.abort()
        first.ws.shutdown()
        _wait_until_done(server.url, created["id"])  # the end sequence happens meanwhile
        second = RawClient(created["url"])
        second.read_until_closed()
        assert second.received.close_code == 1000
        assert second.received.types[-2:] == ["post_transcript", "post_final_transcript"]


def test_a_new_connection_supersedes_the_old_one() -> None:
    with local_server() as server:
        created = create_session(server.url)
        first = RawClient(created["url"])
        first.send_audio(AUDIO[:6400])
        first.read(2)
        second = RawClient(created["url"])
        first.read_until_closed()
        assert first.received.close_code == 4409
        second.send_audio(AUDIO[6400:])
        second.stop()
        second.read_until_closed()
        assert second.received.close_code == 1000
        assert stored_audio(server.url, created["id"]) == AUDIO


def test_content_alone_places_a_resume_over_audio_that_does_not_repeat() -> None:
    """No hint: the re-sent bytes decide, whichever acks were lost with the connection."""
    noise = np.random.default_rng(3).integers(-3000, 3000, 64_000, dtype=np.int16).tobytes()
    for drop_after in (20_000, 40_000, 60_000):
        with local_server(faults=Faults(drop_after_bytes=drop_after)) as server:
            created = create_session(server.url)
            first = RawClient(created["url"])
            first.send_audio(noise)
            first.read_until_closed()
            second = _resume(created["url"], noise, _last_ack(first), hint=False)
            assert second.received.close_code == 1000
            assert stored_audio(server.url, created["id"]) == noise
