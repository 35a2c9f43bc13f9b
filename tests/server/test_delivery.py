"""Delivery across lost connections: what was written but not confirmed comes again; the end
waits for confirmation; every fault option works on its own; shutdown says 1001."""

from __future__ import annotations

import json
import threading
import time

import websocket

from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.server.audio import AUDIO
from tests.server.clocked import clocked_server
from tests.support import RawClient, create_session, get_session, stored_audio


def _read_without_answering_pings(client: RawClient, until_type: str) -> list[str]:
    """Text frames as a client that reads but never answers a ping (so nothing it reads
    is confirmed), up to and including a message of `until_type`."""
    texts: list[str] = []
    while True:
        frame = client.ws.recv_frame()
        if frame.opcode == websocket.ABNF.OPCODE_TEXT:
            text = frame.data.decode()
            texts.append(text)
            if json.loads(text)["type"] == until_type:
                return texts


def _not_acks(texts: list[str]) -> list[str]:
    return [t for t in texts if json.loads(t)["type"] != "audio_chunk"]


def test_unconfirmed_messages_are_written_again_on_the_next_connection() -> None:
    body = {"messages_config": {"receive_lifecycle_events": True}}
    with clocked_server() as (server, _):
        created = create_session(server.url, body)
        first = RawClient(created["url"])
        first.send_audio(AUDIO)
        first.stop()
        seen = _read_without_answering_pings(first, "end_session")
        first.ws.abort()  # gone without a word: to the server, all of it may be lost
        second = RawClient(created["url"])
        second.read_until_closed()
        assert second.received.close_code == 1000
        again = [json.dumps(m, separators=(",", ":")) for m in second.received.messages]
        # The same frames, byte for byte and in order (acknowledgments excepted: they
        # belong to the connection that carried the audio).
        assert again == _not_acks(seen)
        finals = [m for m in second.received.of_type("transcript") if m["data"]["is_final"]]
        assert len(finals) == 3
        assert second.received.types[-1] == "end_session"
        assert stored_audio(server.url, created["id"]) == AUDIO


def test_confirmed_messages_are_not_written_again() -> None:
    with clocked_server() as (server, _):
        created = create_session(server.url)
        first = RawClient(created["url"])
        first.send_audio(AUDIO[: len(AUDIO) // 2])
        first.read(len(AUDIO) // 2 // 3200)  # every ack read, pings answered meanwhile
        # A ping goes out once the writer caught up; reading it answers it (the client's
        # pong confirms everything before it).
        while first.ws.recv_data(control_frame=True)[0] != websocket.ABNF.OPCODE_PING:
            pass
        confirmed = [json.dumps(m, separators=(",", ":")) for m in first.received.messages]
        first.send_audio(AUDIO[len(AUDIO) // 2 :])
        first.stop()
        later = _read_without_answering_pings(first, "post_final_transcript")
        first.ws.abort()
        second = RawClient(created["url"])
        second.read_until_closed()
        again = [json.dumps(m, separators=(",", ":")) for m in second.received.messages]
        assert not set(again) & set(confirmed)
        assert again == _not_acks(later)


def test_the_end_waits_for_confirmation_then_closes_anyway() -> None:
    with clocked_server(confirm_timeout=5.0) as (server, clock):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)
        client.stop()
        _read_without_answering_pings(client, "post_final_transcript")
        clock.advance(5.0)  # no pong came: the server closes with 1000 anyway
        while (frame := client.ws.recv_frame()).opcode != websocket.ABNF.OPCODE_CLOSE:
            pass
        assert int.from_bytes(frame.data[:2], "big") == 1000
        client.ws.send_close()  # answering the close proves everything before it was read
        client.ws.shutdown()
        again = RawClient(created["url"])
        again.read_until_closed()
        assert (again.received.close_code, again.received.types) == (1000, [])


def test_withheld_acknowledgments_alone() -> None:
    with clocked_server(faults=Faults(withhold_acks=True)) as (server, _):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)
        client.stop()
        client.read_until_closed()
        assert client.received.close_code == 1000
        assert client.received.of_type("audio_chunk") == []
        assert client.received.of_type("stop_recording")[0]["acknowledged"] is True
        assert stored_audio(server.url, created["id"]) == AUDIO


def test_delayed_acknowledgments_alone() -> None:
    with clocked_server(faults=Faults(ack_delay=3.0)) as (server, clock):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO[:3200])
        client.send_json({"type": "ping_me"})  # answered at once, with an error
        assert client.read(1)[0]["type"] == "error"  # the ack did not overtake it
        clock.advance(3.0)
        ack = client.read(1)[0]
        assert ack["type"] == "audio_chunk" and ack["data"]["byte_range"] == [0, 3200]
        client.close()


def test_drop_after_seconds_alone_on_the_clock() -> None:
    with clocked_server(faults=Faults(drop_after_seconds=2.0)) as (server, clock):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO[:3200])
        client.read(1)
        clock.advance(2.0)
        client.read_until_closed()
        assert client.received.close_code is None  # dropped, no close frame


def test_slow_finish_alone_on_the_clock() -> None:
    body = {"messages_config": {"receive_lifecycle_events": True}}
    with clocked_server(faults=Faults(slow_finish=10.0)) as (server, clock):
        created = create_session(server.url, body)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)
        client.stop()
        while client.read(1)[0]["type"] != "end_recording":
            pass
        assert get_session(server.url, created["id"])["status"] == "processing"
        clock.advance(10.0)
        client.read_until_closed()
        assert client.received.types[-1] == "end_session"


def test_idle_timeout_and_maximum_duration_on_the_clock() -> None:
    with clocked_server(idle_timeout=30.0, max_duration=100.0) as (server, clock):
        idle = create_session(server.url)
        client = RawClient(idle["url"])
        client.send_audio(AUDIO[:6400])
        client.read(2)
        clock.advance(29.0)
        assert get_session(server.url, idle["id"])["status"] == "processing"
        clock.advance(1.0)
        client.read_until_closed()
        assert client.received.close_code == 1000
        assert "post_final_transcript" in client.received.types
        # The client went away without ending the session: what it may have sent after
        # the last byte stored is not there, so the session is never `done`.
        abandoned = get_session(server.url, idle["id"])
        assert (abandoned["status"], abandoned["error_code"]) == ("error", 408)
        assert abandoned["local_server"]["ended_by"] == "no audio for 30 s"
        assert abandoned["result"]["transcription"] is not None  # what it has is kept

        busy = create_session(server.url)
        client = RawClient(busy["url"])
        for _ in range(5):  # audio keeps coming, but the session may not record forever
            client.send_audio(AUDIO[:3200])
            client.read(1)
            clock.advance(20.0)
        client.read_until_closed()
        assert client.received.close_code == 1000
        assert "post_final_transcript" in client.received.types


def _stop_timed(server: LocalServer) -> float:
    started = time.monotonic()
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    stopper.join(timeout=8)
    assert not stopper.is_alive()
    return time.monotonic() - started


def test_shutdown_closes_live_connections_with_1001() -> None:
    with clocked_server() as (server, _):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO[:6400])
        client.read(2)
        reader = threading.Thread(target=client.read_until_closed)
        reader.start()
        assert _stop_timed(server) < 2
        reader.join(timeout=5)
    assert client.received.close_code == 1001
    assert client.received.close_reason == "server shutting down"


def test_a_silent_client_does_not_hold_up_a_shutdown() -> None:
    with clocked_server() as (server, _):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO[:6400])
        client.read(2)  # then it neither sends nor reads: it will never answer the close
        assert _stop_timed(server) < 4  # the 2 s close timeout, not aiohttp's 10 s
    client.ws.abort()


def test_a_superseded_connection_that_still_delivers_frames_is_not_heard() -> None:
    with clocked_server() as (server, _):
        created = create_session(server.url)
        stale = RawClient(created["url"])
        stale.send_audio(AUDIO[:6400])
        stale.read(2)
        fresh = RawClient(created["url"])
        fresh.ws.ping("gladia-resume:6400")
        # The pong comes from the reader loop, after the session took the new connection.
        assert fresh.ws.recv_data(control_frame=True)[0] == websocket.ABNF.OPCODE_PONG
        stale.ws.send_bytes(b"\x55" * 3200)  # late frames of the old connection...
        stale.stop()  # ...and its stop: neither is the client's word any more
        fresh.send_audio(AUDIO[6400:])
        fresh.stop()
        fresh.read_until_closed()
        assert fresh.received.close_code == 1000
        assert stored_audio(server.url, created["id"]) == AUDIO
        assert fresh.received.of_type("audio_chunk")[0]["data"]["byte_range"][0] == 6400
        stale.ws.abort()


def test_python_websockets_confirms_delivery_too() -> None:
    """The official SDK's library answers pings as it reads: on a clock that never lets the
    confirmation time out, the 1000 close can only come from its pong."""
    from websockets.exceptions import ConnectionClosedOK
    from websockets.sync.client import connect

    with clocked_server() as (server, _):
        created = create_session(server.url)
        types = []
        with connect(created["url"], open_timeout=5, close_timeout=2) as ws:
            for start in range(0, len(AUDIO), 3200):
                ws.send(AUDIO[start : start + 3200])
            ws.send(json.dumps({"type": "stop_recording"}))
            try:
                while True:
                    types.append(json.loads(ws.recv(timeout=10))["type"])
            except ConnectionClosedOK as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1000
        assert "post_final_transcript" in types
