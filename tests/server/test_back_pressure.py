"""A session whose recognition is behind slows its client down without looking dead.

The server is slowed on purpose (`Faults.slow_recognition`: the scripted engine takes
wall time per second of audio), so a backlog builds up in seconds, with no real load.
"""

from __future__ import annotations

import json

import websocket

from gladia_cli.server.config import Faults
from tests.support import RawClient, create_session, get_session, local_server, tone_bursts

SECONDS = 6.0
AUDIO = tone_bursts([(0.5, 1.0, 0), (2.5, 1.0, 0), (4.5, 1.0, 0)], total=SECONDS).tobytes()
LIMIT = 1.0  # seconds of recognition backlog before acknowledgments are held


def _acked_end(messages: list[dict]) -> int:
    ends = [m["data"]["byte_range"][1] for m in messages if m["type"] == "audio_chunk"]
    return max(ends, default=0)


def test_pings_are_answered_and_acknowledgments_held_while_recognition_is_behind() -> None:
    faults = Faults(slow_recognition=1.0)  # one second per second of audio
    with local_server(max_recognition_backlog=LIMIT, faults=faults) as server:
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)  # 6 s of audio, all at once
        client.ws.ping(b"are you there")
        # Read until the pong: the server answers it while recognition is still behind,
        # so most acknowledgments are still held (before, it stopped reading its socket
        # at the bound, and the ping waited behind the audio, pong after the last ack).
        while True:
            opcode, data = client.ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_PONG:
                break
            if opcode == websocket.ABNF.OPCODE_TEXT:
                client.received.messages.append(json.loads(data))
        acked_at_pong = _acked_end(client.received.messages)
        assert acked_at_pong < len(AUDIO)
        # Held acknowledgments come as recognition catches up, without a stop.
        while _acked_end(client.received.messages) < len(AUDIO):
            client.read(1)
        held = get_session(server.url, created["id"])["local_server"]
        assert held["max_recognition_lag"] >= LIMIT
        client.stop()
        received = client.read_until_closed()
        done = get_session(server.url, created["id"])
    assert received.close_code == 1000
    assert done["status"] == "done" and done["file"]["audio_duration"] == SECONDS
    finals = [m for m in received.of_type("transcript") if m["data"]["is_final"]]
    assert len(finals) == 3


def test_the_stop_releases_every_held_acknowledgment_before_its_own() -> None:
    faults = Faults(slow_recognition=1.0)
    with local_server(max_recognition_backlog=LIMIT, faults=faults) as server:
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)
        client.stop()
        received = client.read_until_closed()
    types = received.types
    stop_at = types.index("stop_recording")
    assert _acked_end(received.messages[:stop_at]) == len(AUDIO)  # all, before the stop's
    assert "audio_chunk" not in types[stop_at:]
    assert received.close_code == 1000 and len(received.of_type("transcript")) >= 3
