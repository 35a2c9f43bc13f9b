"""The live stream's rules with an in-memory connection: no sockets, millisecond backoff.

The fake server acknowledges every audio frame with session-wide half-open ranges, and
places a new connection's first byte at the last acknowledgment the client actually read,
which is where the real server places it too (see server/live/ingest.py).
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from gladia_cli.client.connection import (
    CloseFrame,
    ConnectFailed,
    ConnectionLost,
    Frame,
    TextFrame,
)
from gladia_cli.client.stream import LiveStream
from gladia_cli.errors import NetworkError
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.client_session import MAX_PIECE as MAX_AUDIO_FRAME
from gladia_cli.protocol.messages import ServerMessage
from gladia_cli.protocol.retry import Backoff

FAST = Backoff(base=0.001, cap=0.005, attempts=3)
CHUNK = 3200


@dataclass
class FakeServer:
    """What the server side saw, and how it misbehaves."""

    drop_after_bytes: list[int] = field(default_factory=list)  # per connection, in order
    close_with: list[CloseFrame] = field(default_factory=list)  # first connections close so
    refuse: list[ConnectFailed] = field(default_factory=list)  # handshake failures, in order
    stored: bytearray = field(default_factory=bytearray)
    connections: list[FakeConnection] = field(default_factory=list)
    last_ack_read: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self, url: str) -> FakeConnection:
        if self.refuse:
            raise self.refuse.pop(0)
        index = len(self.connections)
        conn = FakeConnection(
            self,
            drop_after=self.drop_after_bytes[index] if index < len(self.drop_after_bytes) else None,
        )
        if index < len(self.close_with):
            conn.incoming.put(self.close_with[index])
        self.connections.append(conn)
        return conn


class FakeConnection:
    def __init__(self, server: FakeServer, drop_after: int | None) -> None:
        self.server = server
        self.drop_after = drop_after
        self.position = server.last_ack_read  # where this connection's bytes start
        self.frames: list[bytes | str] = []
        self.received = 0
        self.incoming: queue.Queue[Frame | Exception] = queue.Queue()
        self.broken = False

    def _check(self) -> None:
        if self.broken:
            raise ConnectionLost("broken")

    def send_binary(self, data: bytes) -> None:
        self._check()
        self.frames.append(data)
        self.received += len(data)
        if self.drop_after is not None and self.received > self.drop_after:
            self.abort()
            raise ConnectionLost("dropped")
        with self.server.lock:
            start, end = self.position, self.position + len(data)
            self.position = end
            fresh = data[max(0, len(self.server.stored) - start) :]
            if end > len(self.server.stored):
                self.server.stored += fresh
        ack = {"type": "audio_chunk", "acknowledged": True, "data": {"byte_range": [start, end]}}
        self.incoming.put(TextFrame(json.dumps(ack)))

    def send_text(self, text: str) -> None:
        self._check()
        self.frames.append(text)
        if json.loads(text)["type"] == "stop_recording":
            self.incoming.put(TextFrame(json.dumps({"type": "post_final_transcript", "data": {}})))
            self.incoming.put(CloseFrame(1000, "session ended"))

    def receive(self, timeout: float) -> Frame | None:
        try:
            item = self.incoming.get(timeout=min(timeout, 0.01))
        except queue.Empty:
            return None
        if isinstance(item, Exception):
            raise item
        if isinstance(item, TextFrame) and '"byte_range"' in item.text:
            with self.server.lock:
                end = json.loads(item.text)["data"]["byte_range"][1]
                self.server.last_ack_read = max(self.server.last_ack_read, end)
        return item

    def ping(self, payload: bytes = b"") -> None:
        self._check()

    def close(self, code: int, reason: str) -> None:
        self.abort()

    def abort(self) -> None:
        if not self.broken:
            self.broken = True
            self.incoming.put(ConnectionLost("aborted"))


def _stream(
    server: FakeServer, on_message: Callable[[ServerMessage], None] | None = None, **kwargs: object
) -> tuple[LiveStream, list[ServerMessage], list[str]]:
    messages: list[ServerMessage] = []
    notices: list[str] = []
    stream = LiveStream(
        "ws://fake/v2/live?token=t",
        fmt=AudioFormat(),
        connect=server.connect,
        on_message=on_message or messages.append,
        notice=notices.append,
        backoff=FAST,
        **kwargs,  # type: ignore[arg-type]
    )
    return stream, messages, notices


AUDIO = bytes(i % 253 for i in range(40 * CHUNK))


def _send_all(stream: LiveStream, audio: bytes = AUDIO) -> None:
    for start in range(0, len(audio), CHUNK):
        stream.send_audio(audio[start : start + CHUNK])


def test_stream_stop_and_normal_end() -> None:
    server = FakeServer()
    stream, messages, _ = _stream(server)
    stream.open()
    _send_all(stream)
    stream.stop()
    end = stream.wait(5)
    assert end is not None and end.error is None and not end.by_server_before_stop
    assert bytes(server.stored) == AUDIO
    assert stream.stats.acked_bytes == len(AUDIO)
    assert stream.unacknowledged_bytes == 0
    assert messages[-1].type == "post_final_transcript"
    assert server.connections[0].frames[-1] == json.dumps({"type": "stop_recording"})


def test_a_drop_is_resumed_with_nothing_lost_or_repeated() -> None:
    server = FakeServer(drop_after_bytes=[7 * CHUNK, 5 * CHUNK])
    stream, _, notices = _stream(server)
    stream.open()
    _send_all(stream)
    stream.stop()
    end = stream.wait(5)
    assert end is not None and end.error is None
    assert bytes(server.stored) == AUDIO
    # The second connection broke while re-sending: three connections.
    assert len(server.connections) == 3 and stream.stats.reconnects == 2
    assert any("reconnected" in n for n in notices)


def test_stop_requested_during_an_outage_goes_after_the_replay() -> None:
    server = FakeServer(drop_after_bytes=[3 * CHUNK])
    stream, _, _ = _stream(server)
    stream.open()
    _send_all(stream, AUDIO[: 6 * CHUNK])  # the 4th chunk breaks the connection
    stream.stop()
    end = stream.wait(5)
    assert end is not None and end.error is None
    assert bytes(server.stored) == AUDIO[: 6 * CHUNK]
    second = server.connections[1].frames
    assert second[-1] == json.dumps({"type": "stop_recording"})
    assert all(isinstance(f, bytes) for f in second[:-1])


def test_replayed_frames_never_exceed_the_frame_limit() -> None:
    server = FakeServer(drop_after_bytes=[0])
    stream, _, _ = _stream(server)
    stream.open()
    big = bytes(range(256)) * (3 * MAX_AUDIO_FRAME // 256)
    stream.send_audio(big)
    stream.stop()
    assert stream.wait(5) is not None
    assert all(
        len(f) <= MAX_AUDIO_FRAME for f in server.connections[1].frames if isinstance(f, bytes)
    )
    assert bytes(server.stored) == big


def test_a_client_error_close_is_final() -> None:
    server = FakeServer(close_with=[CloseFrame(4403, "forbidden feature")])
    stream, _, _ = _stream(server)
    stream.open()
    end = stream.wait(5)
    assert end is not None and isinstance(end.error, NetworkError)
    assert "4403" in end.error.message and "forbidden feature" in end.error.message
    assert len(server.connections) == 1  # no retry loop


def test_a_server_error_close_is_retried() -> None:
    server = FakeServer(close_with=[CloseFrame(1011, "internal error")])
    stream, _, _ = _stream(server)
    stream.open()
    _send_all(stream)
    stream.stop()
    end = stream.wait(5)
    assert end is not None and end.error is None
    assert len(server.connections) == 2
    assert bytes(server.stored) == AUDIO


def test_reconnect_attempts_are_bounded() -> None:
    server = FakeServer(drop_after_bytes=[0])
    stream, _, _ = _stream(server)
    stream.open()
    server.refuse = [ConnectFailed("refused", retryable=True) for _ in range(10)]
    stream.send_audio(AUDIO[:CHUNK])
    end = stream.wait(5)
    assert end is not None and isinstance(end.error, NetworkError)
    assert "could not reconnect" in end.error.message
    assert len(server.refuse) == 10 - FAST.attempts


def test_a_final_handshake_refusal_is_not_retried() -> None:
    server = FakeServer(
        refuse=[ConnectFailed("the server refused the connection (404)", retryable=False)]
    )
    stream, _, _ = _stream(server)
    with pytest.raises(NetworkError, match="404"):
        stream.open()


def test_the_first_connection_is_retried() -> None:
    server = FakeServer(refuse=[ConnectFailed("cannot connect", retryable=True)])
    stream, _, _ = _stream(server)
    stream.open()
    assert len(server.connections) == 1


def test_a_server_ending_before_stop_is_reported() -> None:
    server = FakeServer(close_with=[CloseFrame(1000, "idle")])
    stream, _, _ = _stream(server)
    stream.open()
    end = stream.wait(5)
    assert end is not None and end.error is None and end.by_server_before_stop


def test_a_failing_output_stops_the_stream_without_killing_it_silently() -> None:
    server = FakeServer()

    def broken_output(message: ServerMessage) -> None:
        raise BrokenPipeError

    stream, _, _ = _stream(server, on_message=broken_output)
    stream.open()
    _send_all(stream, AUDIO[:CHUNK])
    end = stream.wait(5)
    assert end is not None
    assert isinstance(stream.output_failure, BrokenPipeError)


def test_an_unparsable_message_is_ignored_with_a_notice() -> None:
    server = FakeServer()
    stream, messages, notices = _stream(server)
    stream.open()
    server.connections[0].incoming.put(TextFrame("{not json"))
    server.connections[0].incoming.put(TextFrame(json.dumps({"type": "something_new", "data": 1})))
    stream.stop()
    assert stream.wait(5) is not None
    assert any("invalid JSON" in n for n in notices)
    assert [m.type for m in messages][:1] == ["something_new"]


def test_a_silent_connection_is_pinged_then_declared_dead() -> None:
    clock = [0.0]
    server = FakeServer()
    stream, _, _ = _stream(server, keepalive=1.0, dead_after=3.0, clock=lambda: clock[0])
    stream.open()
    pings = []
    conn = server.connections[0]
    conn.ping = lambda payload=b"": pings.append(clock[0])  # type: ignore[method-assign]
    for _ in range(50):
        clock[0] += 0.2
        threading.Event().wait(0.005)
        if len(server.connections) > 1:
            break
    assert pings, "no keep-alive ping"
    assert len(server.connections) == 2, "a silent connection was never replaced"
    stream.stop()
    assert stream.wait(5) is not None


def test_base64_mode_sends_json_audio_chunks() -> None:
    server = FakeServer()
    stream, _, _ = _stream(server, use_base64=True)
    stream.open()
    captured: list[str] = []
    conn = server.connections[0]
    original = conn.send_text

    def send_text(text: str) -> None:
        captured.append(text)
        payload = json.loads(text)
        if payload["type"] == "audio_chunk":
            import base64

            conn.send_binary(base64.b64decode(payload["data"]["chunk"]))
        else:
            original(text)

    conn.send_text = send_text  # type: ignore[method-assign]
    _send_all(stream, AUDIO[: 3 * CHUNK])
    stream.stop()
    assert stream.wait(5) is not None
    types = [json.loads(t)["type"] for t in captured]
    assert types[-1] == "stop_recording" and set(types[:-1]) == {"audio_chunk"}
    assert bytes(server.stored) == AUDIO[: 3 * CHUNK]


def test_the_send_hook_sees_every_frame_that_left() -> None:
    server = FakeServer(drop_after_bytes=[7 * CHUNK])
    sent: list[tuple[int, int]] = []
    stream, _, _ = _stream(
        server, on_sent=lambda offset, length, now: sent.append((offset, length))
    )
    stream.open()
    _send_all(stream)
    stream.stop()
    end = stream.wait(5)
    assert end is not None and end.error is None and stream.stats.reconnects == 1
    # Reported: each frame a connection took; not the one whose send failed in the drop
    # (it is reported when re-sent on the next connection).
    left = []
    for conn in server.connections:
        frames = [len(f) for f in conn.frames if isinstance(f, bytes)]
        dropped = conn.drop_after is not None and conn.received > conn.drop_after
        left += frames[:-1] if dropped else frames
    assert [length for _, length in sent] == left
    covered = bytearray(len(AUDIO))
    for offset, length in sent:
        covered[offset : offset + length] = b"\x01" * length
    assert covered == b"\x01" * len(AUDIO)
