"""The WebSocket under a live stream, behind a small interface so the stream's rules can be
tested with an in-memory connection. The real one is websocket-client's, with no limit on
incoming message size (a long session's `post_final_transcript` can exceed 1 MiB).

A long text frame (a 10 h session's end messages are 6 MB each) is read here rather than
by websocket-client, which gathers it in 16 KiB pieces, joins them (twice its size), then
hands over the bytes to be decoded (twice again): here it is decoded as it arrives into
one growing str, so the frame costs its text and a piece (issue 18).
"""

from __future__ import annotations

import codecs
import contextlib
import select
import ssl
import threading
from dataclasses import dataclass, field
from typing import Protocol

import websocket

from gladia_cli.protocol.retry import RETRYABLE_STATUSES

_SEND_ERRORS = (websocket.WebSocketException, OSError, AttributeError)


class ConnectionLost(Exception):
    """The connection broke (network error, or a send that could not complete)."""


class ConnectFailed(Exception):
    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class TextFrame:
    text: str


@dataclass(frozen=True)
class CloseFrame:
    code: int
    reason: str


@dataclass(frozen=True)
class Activity:
    """A control frame (ping, pong): proof the connection is alive, nothing to act on."""


Frame = TextFrame | CloseFrame | Activity


class Connection(Protocol):
    def send_binary(self, data: bytes) -> None: ...

    def send_text(self, text: str) -> None: ...

    def receive(self, timeout: float) -> Frame | None:
        """The next frame; None when nothing came within `timeout` seconds."""
        ...

    def ping(self, payload: bytes = b"") -> None: ...

    def close(self, code: int, reason: str) -> None: ...

    def abort(self) -> None:
        """Tear the connection down at once; a blocked `receive` then raises ConnectionLost."""
        ...


class Connector(Protocol):
    def __call__(self, url: str) -> Connection: ...


NO_STATUS = 1005  # a close frame without a code
# Text frames from this length on are read by `_LongText`; at most `LONG_STEP` bytes of one
# per `receive`, so the receiver still ticks (pings, a dead connection) while it arrives.
LONG_FRAME_BYTES = 256 * 1024
LONG_STEP = 1024 * 1024
_PIECE = 64 * 1024


@dataclass
class _LongText:
    """A long text frame being read: what is left of it, and its text so far."""

    remaining: int
    text: str = ""
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )


class WebSocketClientConnection:
    """The socket's own timeout bounds a send (a stalled network); `receive` waits with
    select, so the receiver can poll often without making sends give up early."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self._ws = ws
        self._long: _LongText | None = None

    def send_binary(self, data: bytes) -> None:
        try:
            self._ws.send_bytes(data)
        except _SEND_ERRORS as exc:
            raise ConnectionLost(type(exc).__name__) from None

    def send_text(self, text: str) -> None:
        try:
            self._ws.send(text)
        except _SEND_ERRORS as exc:
            raise ConnectionLost(type(exc).__name__) from None

    def _readable(self, timeout: float) -> bool:
        sock = self._ws.sock
        if sock is None:
            raise ConnectionLost("connection closed")
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True  # decrypted bytes wait inside the TLS layer, invisible to select
        try:
            readable, _, _ = select.select([sock], [], [], timeout)
        except (OSError, ValueError):  # closed under us by abort()
            raise ConnectionLost("connection closed") from None
        return bool(readable)

    def receive(self, timeout: float) -> Frame | None:
        if not self._readable(timeout):
            return None
        try:
            if self._long is None:
                self._long = self._long_text_ahead()
            if self._long is not None:
                return self._read_long()
            frame = self._ws.recv_frame()  # type: ignore[no-untyped-call]
        except websocket.WebSocketTimeoutException:
            return None
        except (websocket.WebSocketException, OSError, AttributeError) as exc:
            # AttributeError: websocket-client's socket is None once aborted from another thread.
            raise ConnectionLost(_lost_reason(exc)) from None
        abnf = websocket.ABNF
        if frame.opcode in (abnf.OPCODE_TEXT, abnf.OPCODE_BINARY, abnf.OPCODE_CONT):
            # A message may come in fragments: reassembled as websocket-client does.
            try:
                self._ws.cont_frame.validate(frame)
                self._ws.cont_frame.add(frame)
                if not self._ws.cont_frame.is_fire(frame):
                    return Activity()
                opcode, whole = self._ws.cont_frame.extract(frame)
            except websocket.WebSocketException as exc:
                raise ConnectionLost(_lost_reason(exc)) from None
            data = whole.data
            if opcode == abnf.OPCODE_TEXT:
                if isinstance(data, str):
                    return TextFrame(data)
                return TextFrame(data.decode("utf-8", errors="replace"))
            return Activity()
        if frame.opcode == abnf.OPCODE_CLOSE:
            data = frame.data
            # Our reply, and a pong below, may fail when the server is already gone: the
            # close frame we hold still says why (websocket-client's recv would hide it).
            with contextlib.suppress(*_SEND_ERRORS):
                self._ws.send_close()
            self.abort()
            code = int.from_bytes(data[:2], "big") if len(data) >= 2 else NO_STATUS
            return CloseFrame(code, data[2:].decode("utf-8", errors="replace"))
        if frame.opcode == abnf.OPCODE_PING:
            with contextlib.suppress(*_SEND_ERRORS):
                self._ws.pong(frame.data)
        return Activity()

    def _long_text_ahead(self) -> _LongText | None:
        """Reads the next frame's header (websocket-client keeps it for `recv_frame`
        otherwise); a long, whole, unmasked text frame is then ours to read."""
        buffer = self._ws.frame_buffer
        if buffer.needs_header():
            buffer.recv_header()
        if buffer.needs_length():
            buffer.recv_length()
        assert buffer.header is not None and buffer.length is not None
        fin, rsv1, rsv2, rsv3, opcode, masked, _ = buffer.header
        plain_text = opcode == websocket.ABNF.OPCODE_TEXT and fin and not (rsv1 or rsv2 or rsv3)
        if (
            not plain_text
            or masked
            or buffer.length < LONG_FRAME_BYTES
            or self._ws.cont_frame.recving_frames  # illegal: websocket-client says so
        ):
            return None
        long = _LongText(buffer.length)
        buffer.clear()  # the payload is read below, never by websocket-client
        return long

    def _read_long(self) -> Frame:
        """Up to LONG_STEP more bytes of the long frame: the frame once whole, else Activity.
        `text` is the only reference to the growing str while it grows, so `+=` extends it
        in place (CPython; glibc moves a large block's pages without copying them)."""
        long = self._long
        assert long is not None
        text, long.text = long.text, ""
        read = 0
        try:
            # A `for`, not a `while`: CPython 3.11 extends the str in place only in the
            # former (measured: a `while` copied it at each piece, twice its size at peak).
            for _ in range(LONG_STEP):
                if not long.remaining or read >= LONG_STEP:
                    break
                piece = self._ws.frame_buffer.recv(min(_PIECE, long.remaining))
                if not piece:
                    raise websocket.WebSocketConnectionClosedException("closed mid-frame")
                long.remaining -= len(piece)
                read += len(piece)
                text += long.decoder.decode(piece, final=not long.remaining)
        finally:
            long.text = text  # kept across a timeout; dropped with `long` once whole
        if long.remaining:
            return Activity()
        self._long = None
        long.text = ""
        return TextFrame(text)

    def ping(self, payload: bytes = b"") -> None:
        try:
            self._ws.ping(payload)
        except _SEND_ERRORS as exc:
            raise ConnectionLost(type(exc).__name__) from None

    def close(self, code: int, reason: str) -> None:
        # Send the close frame, then tear down without waiting for the reply: waiting would
        # mean reading, which the receiver thread does. The close frame waits for a send in
        # progress, which a stalled network can hold: give it half a second, no more (a
        # second Ctrl-C must be instant).
        def send_close() -> None:
            with contextlib.suppress(*_SEND_ERRORS):
                self._ws.send_close(status=code, reason=reason.encode())

        sender = threading.Thread(target=send_close, name="gladia-close", daemon=True)
        sender.start()
        sender.join(0.5)
        self.abort()

    def abort(self) -> None:
        try:
            self._ws.abort()  # type: ignore[no-untyped-call]
            self._ws.shutdown()  # type: ignore[no-untyped-call]
        except (websocket.WebSocketException, OSError, AttributeError):
            pass


def _lost_reason(exc: BaseException) -> str:
    if isinstance(exc, websocket.WebSocketConnectionClosedException):
        return "connection closed without a close frame"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, OSError | AttributeError):
        return "connection closed"
    return type(exc).__name__


class WebSocketClientConnector:
    """Opens connections with websocket-client. `send_timeout` is the longest a send may
    block (a stalled network) before the connection is deemed broken."""

    def __init__(self, *, open_timeout: float = 10.0, send_timeout: float = 10.0) -> None:
        self._open_timeout = open_timeout
        self._send_timeout = send_timeout

    def __call__(self, url: str) -> Connection:
        try:
            ws = websocket.create_connection(
                url,
                timeout=self._open_timeout,
                enable_multithread=True,
                skip_utf8_validation=True,
                suppress_origin=True,
                # The URL was checked to be on the API's origin (protocol/origin.py); a
                # redirect at the handshake would take the audio elsewhere unchecked.
                redirect_limit=0,
            )
        except websocket.WebSocketBadStatusException as exc:
            status = exc.status_code
            raise ConnectFailed(
                f"the server refused the connection ({status})",
                retryable=status in RETRYABLE_STATUSES,
            ) from None
        except websocket.WebSocketException as exc:
            if "redirect" in str(exc).lower():
                raise ConnectFailed(
                    "the session's WebSocket answered with a redirect, not followed: the audio "
                    "goes to the API's own origin only",
                    retryable=False,
                ) from None
            raise ConnectFailed(f"cannot connect ({type(exc).__name__})", retryable=True) from None
        except OSError as exc:
            raise ConnectFailed(f"cannot connect ({type(exc).__name__})", retryable=True) from None
        ws.settimeout(self._send_timeout)
        return WebSocketClientConnection(ws)
