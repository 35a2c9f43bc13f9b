"""A stored text (a long session's end message) written as one WebSocket frame in pieces:
nothing else in the middle of it (a pong waits for its end), with a fake transport."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import websocket

from gladia_cli.server.live.message_log import MessageLog
from gladia_cli.server.live.websocket import (
    STREAM_HIGH_WATER,
    WebSocketConnection,
    text_frame_header,
)


class FakeTransport(asyncio.WriteTransport):
    """Takes what is written; its buffer empties only when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.buffered = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.data += data
        self.buffered += len(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return False


class FakeWs:
    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport

    async def pong(self, payload: bytes) -> None:
        self.transport.write(b"<pong:" + payload + b">")


def test_the_frame_header_is_rfc_6455s() -> None:
    for length in (0, 125, 126, 65535, 65536, 6_000_000):
        frame = websocket.ABNF(1, 0, 0, 0, websocket.ABNF.OPCODE_TEXT, 0, "x" * length)
        assert frame.format()[: -length or None] == text_frame_header(length)


def test_a_stored_text_is_one_whole_frame_and_a_ping_meanwhile_is_answered_after(
    tmp_path: Path,
) -> None:
    log = MessageLog(tmp_path / "messages.jsonl")
    log.append('{"type":"end_recording"}')
    text = '{"type":"post_transcript","data":"' + "golf " * 400_000 + '"}'
    stored = log.append_pieces([text[:1000], text[1000:]])
    assert stored is not None
    transport = FakeTransport()
    request = cast(Any, type("Request", (), {"transport": transport})())
    conn = WebSocketConnection(cast(Any, FakeWs(transport)), request)

    async def main() -> None:
        sending = asyncio.create_task(conn.send_stored(stored))
        while transport.buffered <= STREAM_HIGH_WATER:  # written until the buffer is full
            await asyncio.sleep(0)
        await conn.pong(b"1")  # the reader answers a ping: not inside the frame
        await conn.pong(b"2")  # only the latest is answered (RFC 6455 §5.5.3)
        assert b"<pong" not in transport.data
        assert not await conn.between_frames(0.01)  # a close would wait too
        while not sending.done():  # the network takes it
            transport.buffered = 0
            await asyncio.sleep(0.001)
        await sending
        assert await conn.between_frames(0.01)
        await conn.pong(b"3")  # between frames: at once

    asyncio.run(main())
    frame = text_frame_header(len(text)) + text.encode()
    assert bytes(transport.data) == frame + b"<pong:2><pong:3>"
