"""The live WebSocket: `GET /v2/live?token=…` upgraded. One reader loop per connection.

Close codes chosen where Gladia documents none (protocol.md §10), all in the 4400–4499
"do not reconnect" range: 4401 unknown token, 4410 session already finished, 4400 a message
that cannot be understood (invalid JSON, invalid base64, an audio_chunk without a chunk, a
chunk that is not whole samples, e.g. an odd length of 16-bit audio), and 4400 after
`ERROR_FLOOD_LIMIT` messages that each got an `error` (unknown types, repeated stops). A
frame over 1 MiB gets 1009; a server shutting down closes with 1001.

Pings are ours to answer (autoping is off so that pongs reach the session: they confirm
delivery, see outbox). A client ping `gladia-resume:<offset>` before its first audio says
where that audio starts (see ingest); it is answered like any ping.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import WebSocketError, WSMessage, WSMsgType, web

from gladia_cli.audio.wav_stream import find_wav_data
from gladia_cli.protocol.closing import (
    ABNORMAL,
    BAD_MESSAGE,
    INVALID_TOKEN,
    MAX_FRAME_BYTES,
    MESSAGE_TOO_BIG,
    SESSION_FINISHED,
)
from gladia_cli.server.live.ingest import parse_resume_hint
from gladia_cli.server.live.live_session import LiveSession
from gladia_cli.server.live.message_log import read_stored
from gladia_cli.server.live.outbox import StoredText

log = logging.getLogger("gladia.server")

# Frames up to this size are read whole, then refused with 1009 (Gladia's limit is 1 MiB);
# aiohttp refuses a bigger one before reading it (memory), see `DrainingWebSocket`.
HARD_FRAME_LIMIT = 4 * MAX_FRAME_BYTES
# How long the rest of a refused oversized frame is read and discarded, at most.
DRAIN_SECONDS = 10.0
# Messages on one connection that each earned an `error` before it is closed with 4400.
ERROR_FLOOD_LIMIT = 100
# Client text echoed back in an error message is cut to this many characters.
ECHO_LIMIT = 64
# How long a close waits for the client's reply (aiohttp's default is 10 s): a silent
# client must not hold up a server that is stopping.
CLOSE_TIMEOUT = 2.0
# A stored text (a long session's end message) is written to the transport while its write
# buffer holds less than this; above it, the writer waits (polling: the network's pace).
STREAM_HIGH_WATER = 256 * 1024
STREAM_POLL = 0.005
_TEXT_FIN = 0x81  # FIN + text opcode


def text_frame_header(length: int) -> bytes:
    """RFC 6455 §5.2: a whole, unmasked text frame of `length` bytes (server to client)."""
    if length < 126:
        return bytes((_TEXT_FIN, length))
    if length < 1 << 16:
        return bytes((_TEXT_FIN, 126)) + length.to_bytes(2, "big")
    return bytes((_TEXT_FIN, 127)) + length.to_bytes(8, "big")


class DrainingWebSocket(web.WebSocketResponse):
    """aiohttp's WebSocket, except when it refuses an oversized frame.

    aiohttp then sends its 1009 and closes the socket at once, while the client is still
    sending the frame: the kernel answers the unread bytes with a reset, and the client
    loses the 1009 it was sent. So in that one case the socket is only half-closed (a FIN
    after the close frame) and the rest of the frame is read and thrown away (aiohttp's
    protocol discards input once the parser failed) until the client closes, or for
    `DRAIN_SECONDS`.
    """

    _draining_transport: asyncio.BaseTransport | None = None
    drain_after_close = False

    async def prepare(self, request: web.BaseRequest) -> Any:
        self._draining_transport = request.transport
        return await super().prepare(request)

    def _close_transport(self) -> None:
        error = self.exception()
        transport = self._draining_transport
        if (
            isinstance(error, WebSocketError)
            and error.code == MESSAGE_TOO_BIG
            and isinstance(transport, asyncio.WriteTransport)
            and not transport.is_closing()
            and transport.can_write_eof()
        ):
            transport.write_eof()
            self.drain_after_close = True
            return
        super()._close_transport()

    async def drain_refused_frame(self) -> None:
        """Until the client closed its side (or DRAIN_SECONDS), then close for good."""
        transport = self._draining_transport
        if transport is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_SECONDS):
                while not transport.is_closing():
                    await asyncio.sleep(0.05)  # real time: this is the network's pace
        transport.close()


class WebSocketConnection:
    """One client connection to a session. (One due to suffer faults on purpose is a
    `connection_faults.FaultyConnection`, which overrides `opened`, `admit` and `ended`.)

    Only the connection's reader task closes the socket: aiohttp drains what the client
    still sends until its close reply only when no other task is inside `receive()`.
    Closing from elsewhere would discard that unread input, and the reset it causes can
    make the client lose our last messages, close frame included.
    """

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self._transport = request.transport
        self.received = 0
        self.errors = 0  # messages that earned an `error` message
        self.dropped = False
        self.close_request: tuple[int, str] | None = None
        self.answered_close = False
        self._wake = asyncio.Event()
        self._ended = asyncio.Event()
        # Set while no stored text is being written: its frame goes out in pieces, and no
        # other frame (a pong, a close) may be written in the middle of it.
        self._between_frames = asyncio.Event()
        self._between_frames.set()
        self._pong_due: bytes | None = None  # a ping that came meanwhile: answered after

    async def opened(self) -> None:
        """The session has the connection and its writer runs: the reader starts next."""

    async def admit(self, chunk: bytes) -> bool:
        """Count a chunk of whole samples received; whether it goes on to the session."""
        self.received += len(chunk)
        return True

    def ended(self) -> None:
        """The reader is done with the connection."""

    async def send_text(self, text: str) -> None:
        await self.ws.send_str(text)

    async def send_stored(self, stored: StoredText) -> None:
        """One text frame, its payload read from `stored` as it is written: the server never
        holds a long session's end message (6 MB after 10 h; aiohttp would hold it twice)."""
        try:
            pieces = read_stored(stored)
        except FileNotFoundError:
            return  # the session was deleted meanwhile: nobody is waiting for it
        transport = self._transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("connection closed")
        assert isinstance(transport, asyncio.WriteTransport)
        self._between_frames.clear()
        try:
            transport.write(text_frame_header(stored.length))
            for piece in pieces:
                while transport.get_write_buffer_size() > STREAM_HIGH_WATER:
                    await asyncio.sleep(STREAM_POLL)  # real time: the network's pace
                    if transport.is_closing():
                        raise ConnectionResetError("connection closed while sending")
                transport.write(piece)
        finally:
            self._between_frames.set()
        if self._pong_due is not None:
            payload, self._pong_due = self._pong_due, None
            await self.ws.pong(payload)

    async def pong(self, payload: bytes) -> None:
        """Answer a ping now, or right after the stored text being written (RFC 6455 §5.5.3
        allows answering only the latest ping)."""
        if self._between_frames.is_set():
            await self.ws.pong(payload)
        else:
            self._pong_due = payload

    async def between_frames(self, timeout: float) -> bool:
        """Until no stored text is being written (False: still one after `timeout`)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._between_frames.wait()
        return self._between_frames.is_set()

    async def ping(self, payload: bytes) -> None:
        await self.ws.ping(payload)

    async def close(self, code: int, reason: str) -> None:
        """Ask the reader task to close with `code` (any task may ask; the first ask wins)."""
        if self.close_request is None:
            self.close_request = (code, reason)
        self._wake.set()

    async def wait_closed(self) -> None:
        """Until the reader task is done with this connection."""
        await self._ended.wait()

    def drop(self) -> None:
        """End the TCP connection without a WebSocket close frame: what a network failure
        looks like to the client. What was already written is still delivered (FIN)."""
        self.dropped = True
        if self._transport is not None:
            self._transport.close()

    async def wait_for(self, event: asyncio.Event) -> None:
        """Until `event` is set or a close was asked for."""
        waiters = {asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._wake.wait())}
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def next_message(self) -> WSMessage | None:
        """The next client message, or None when a close was asked for meanwhile."""
        receive = asyncio.ensure_future(self.ws.receive())
        wake = asyncio.ensure_future(self._wake.wait())
        await asyncio.wait({receive, wake}, return_when=asyncio.FIRST_COMPLETED)
        wake.cancel()
        if receive.done():
            return receive.result()
        receive.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await receive
        return None


# Makes the connection object for a socket, given the session's connections before it.
Connect = Callable[[web.WebSocketResponse, web.Request, int], WebSocketConnection]


def plain_connection(
    ws: web.WebSocketResponse, request: web.Request, before: int
) -> WebSocketConnection:
    return WebSocketConnection(ws, request)


async def live_socket(
    request: web.Request, session: LiveSession | None, connect: Connect = plain_connection
) -> web.WebSocketResponse:
    # Gladia's 1 MiB is checked below, on a frame read whole, so the client reliably gets
    # its 1009 (see HARD_FRAME_LIMIT).
    ws = DrainingWebSocket(
        max_msg_size=HARD_FRAME_LIMIT, compress=False, autoping=False, timeout=CLOSE_TIMEOUT
    )
    await ws.prepare(request)
    if session is None:
        await ws.close(code=INVALID_TOKEN, message=b"invalid or expired token")
        return ws
    if not session.reconnectable:
        await ws.close(code=SESSION_FINISHED, message=b"session already finished")
        return ws

    conn = connect(ws, request, session.connections)
    session.attach(conn)
    log.info("session %s: connection %d opened", session.id, session.connections)
    writer = asyncio.create_task(session.deliver(conn))
    await conn.opened()

    close_code: int | None = None
    try:
        while not conn.dropped and not ws.closed:
            if conn.close_request is not None:
                code, reason = conn.close_request
                if not await conn.between_frames(CLOSE_TIMEOUT):
                    conn.drop()  # a close frame cannot go in the middle of another
                    break
                await ws.close(code=code, message=reason.encode()[:123])
                conn.answered_close = ws.close_code not in (None, ABNORMAL)
                break
            if session.backlogged(conn):
                await conn.wait_for(session.room)  # TCP back-pressure on the client
                continue
            # Recognition that is behind never stops this reader (pings must be answered,
            # the stop must get through): it holds acknowledgments back (ack_credit.py).
            msg = await conn.next_message()
            if msg is None:
                continue
            over, close_code = await _on_frame(session, conn, ws, msg)
            if over:
                break
    except (ConnectionError, RuntimeError):
        pass  # the connection broke while we answered it
    finally:
        conn.ended()
        session.detach(conn, close_code)
        writer.cancel()
        conn._ended.set()
    if ws.drain_after_close:
        await ws.drain_refused_frame()
        log.info(
            "session %s: connection closed (%s), %d bytes received on it",
            session.id,
            _how_closed(conn, close_code),
            conn.received,
        )
    return ws


async def _on_frame(
    session: LiveSession, conn: WebSocketConnection, ws: web.WebSocketResponse, msg: WSMessage
) -> tuple[bool, int | None]:
    """One frame from the client: (whether the connection is over, the client's close code)."""
    if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT) and _too_big(msg.data):
        await conn.close(MESSAGE_TOO_BIG, "frame larger than 1 MiB")
    elif msg.type is WSMsgType.BINARY:
        await _on_audio(session, conn, msg.data)
    elif msg.type is WSMsgType.TEXT:
        await _on_text(session, conn, msg.data)
    elif msg.type is WSMsgType.PING:
        await conn.pong(msg.data)  # after a stored text being written, if one is
        offset = parse_resume_hint(msg.data)
        if offset is not None:
            session.resume_hint(conn, offset)
    elif msg.type is WSMsgType.PONG:
        session.pong(conn, msg.data)
    elif msg.type is WSMsgType.CLOSE:
        return True, int(msg.data)
    else:  # CLOSING, CLOSED, ERROR: the connection is over
        return True, None
    return False, None


def _how_closed(conn: WebSocketConnection, close_code: int | None) -> str:
    if close_code is not None:
        return f"client closed with {close_code}"
    if conn.close_request is not None and not conn.dropped:
        return f"server closed with {conn.close_request[0]}"
    return "dropped"


def _too_big(data: str | bytes) -> bool:
    if isinstance(data, str):
        return len(data) > MAX_FRAME_BYTES // 4 and len(data.encode()) > MAX_FRAME_BYTES
    return len(data) > MAX_FRAME_BYTES


def _whole_samples(session: LiveSession, chunk: bytes) -> bool:
    """Whether `chunk` holds whole samples (a WAV header at the stream's start aside).

    Frames of several channels may be split across chunks (the official SDK re-sends its
    backlog in 512 KiB slices), but a sample cut in two means the client lost count.
    """
    size = session.fmt.sample_bytes
    if len(chunk) % size == 0:
        return True
    header = find_wav_data(chunk) if session.header_bytes is None else None
    return header is not None and (len(chunk) - header) % size == 0


async def _on_audio(session: LiveSession, conn: WebSocketConnection, chunk: bytes) -> None:
    if not _whole_samples(session, chunk):
        size = session.fmt.sample_bytes
        await conn.close(
            BAD_MESSAGE, f"audio chunk of {len(chunk)} bytes is not whole {size}-byte samples"
        )
        return
    if await conn.admit(chunk):
        session.receive_audio(conn, chunk)


def _echo(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= ECHO_LIMIT else shown[: ECHO_LIMIT - 1] + "…"


async def _on_text(session: LiveSession, conn: WebSocketConnection, text: str) -> None:
    try:
        payload: Any = json.loads(text)
    except (ValueError, RecursionError):  # invalid JSON, too deep, a 5000-digit number
        await conn.close(BAD_MESSAGE, "invalid JSON")
        return
    if not isinstance(payload, dict):
        await conn.close(BAD_MESSAGE, "a message must be a JSON object")
        return
    message_type = payload.get("type")
    if message_type == "audio_chunk":
        data = payload.get("data")
        chunk = data.get("chunk") if isinstance(data, dict) else None
        if not isinstance(chunk, str):
            await conn.close(BAD_MESSAGE, "audio_chunk needs data.chunk, a base64 string")
            return
        try:
            audio = base64.b64decode(chunk, validate=True)
        except (binascii.Error, ValueError):
            await conn.close(BAD_MESSAGE, "audio_chunk data.chunk is not valid base64")
            return
        await _on_audio(session, conn, audio)
    elif message_type == "stop_recording":
        if not session.send_stop_acknowledgment(conn):
            await _count_error(conn)
    else:
        if conn is session.connection:
            shown = _echo(message_type)
            session.emit(
                "error",
                error={"message": f"unknown message type {shown}"},
                data={"code": "unknown_message_type", "message": f"unknown type {shown}"},
            )
        await _count_error(conn)


async def _count_error(conn: WebSocketConnection) -> None:
    conn.errors += 1
    if conn.errors >= ERROR_FLOOD_LIMIT:
        await conn.close(BAD_MESSAGE, f"too many invalid messages ({ERROR_FLOOD_LIMIT})")
