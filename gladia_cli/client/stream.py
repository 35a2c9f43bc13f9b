"""A live stream: audio out over the WebSocket, messages in, and nothing lost on a drop.

Threads: the caller's (a source pump) calls `send_audio` and `stop`; one receiver thread
reads messages and owns reconnection. One lock makes "append to the resume buffer, then
send" and "reconnect, then re-send the backlog" atomic with respect to each other, so a
reconnect can neither duplicate nor reorder audio, and `stop_recording` never overtakes it.
`send_audio` never blocks on the network beyond one frame: while disconnected it only
buffers (the buffer holds what is unacknowledged, so it grows only during an outage).

The rules themselves live in plain objects: `ResumeBuffer` (what to re-send),
`closing.is_retryable` (whether to reconnect), `Backoff` (how long to wait).
"""

from __future__ import annotations

import json
import threading
import time
from base64 import b64encode
from collections.abc import Callable
from dataclasses import dataclass, field

from gladia_cli.client.connection import (
    Activity,
    CloseFrame,
    ConnectFailed,
    Connection,
    ConnectionLost,
    Connector,
    TextFrame,
)
from gladia_cli.errors import GladiaError, NetworkError
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.closing import MAX_FRAME_BYTES, NORMAL, is_retryable
from gladia_cli.protocol.messages import (
    AudioChunkAck,
    MessageParseError,
    ServerMessage,
    parse_server_message,
)
from gladia_cli.protocol.resume import ResumeBuffer
from gladia_cli.protocol.retry import Backoff
from gladia_cli.safe_text import plain

STOP_RECORDING = json.dumps({"type": "stop_recording"})
# Base64 inflates by 4/3 and the JSON envelope adds a few bytes: stay under 1 MiB either way.
MAX_AUDIO_FRAME = (MAX_FRAME_BYTES // 4) * 3 - 1024


@dataclass
class StreamStats:
    state: str = "connecting"
    sent_bytes: int = 0
    acked_bytes: int = 0
    reconnects: int = 0
    replayed_bytes: int = 0
    close_code: int | None = None
    close_reason: str = ""


@dataclass
class StreamEnd:
    """How the stream ended: normally (server closed with 1000) or with an error."""

    error: GladiaError | None = None
    by_server_before_stop: bool = False
    stats: StreamStats = field(default_factory=StreamStats)


class LiveStream:
    def __init__(
        self,
        url: str,
        *,
        fmt: AudioFormat,
        connect: Connector,
        on_message: Callable[[ServerMessage], None],
        notice: Callable[[str], None],
        backoff: Backoff | None = None,
        use_base64: bool = False,
        keepalive: float = 10.0,
        dead_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url  # carries the session token: never shown
        self._fmt = fmt
        self._connect = connect
        self._on_message = on_message
        self._notice = notice
        self._backoff = backoff or Backoff()
        self._use_base64 = use_base64
        self._keepalive = keepalive
        self._dead_after = dead_after
        self._clock = clock

        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._buffer = ResumeBuffer()
        self._stop_requested = False
        # Set when we tear the stream down: a lost connection is then expected, and backoff
        # sleeps end at once.
        self._closing = threading.Event()
        self._ended = threading.Event()
        self._end = StreamEnd()
        self.stats = self._end.stats
        self._receiver: threading.Thread | None = None
        self.output_failure: BaseException | None = None

    # --- the caller's side -------------------------------------------------------------

    def open(self) -> None:
        """Connect (with retries) and start receiving. Raises NetworkError on failure."""
        conn = self._connect_with_retries(first=True)
        if conn is None:
            assert self._end.error is not None
            raise self._end.error
        self._conn = conn
        self.stats.state = "streaming"
        self._receiver = threading.Thread(
            target=self._receive_loop, name="gladia-receiver", daemon=True
        )
        self._receiver.start()

    def send_audio(self, data: bytes) -> None:
        """Queue audio for the server: sent now if connected, kept until acknowledged."""
        frame_bytes = self._fmt.frame_bytes
        piece_size = MAX_AUDIO_FRAME - MAX_AUDIO_FRAME % frame_bytes
        for start in range(0, len(data), piece_size):
            piece = data[start : start + piece_size]
            with self._lock:
                if self._stop_requested or self._ended.is_set():
                    return
                self._buffer.append(piece)
                self.stats.sent_bytes = self._buffer.sent
                if self._conn is not None:
                    try:
                        self._send_audio_frame(self._conn, piece)
                    except ConnectionLost:
                        # The receiver notices too (its read fails) and reconnects; the piece
                        # is in the buffer and will be re-sent.
                        self._conn.abort()

    def stop(self) -> None:
        """Send `stop_recording` (now, or right after the next reconnect's re-send)."""
        with self._lock:
            if self._stop_requested:
                return
            self._stop_requested = True
            self.stats.state = "stopping"
            if self._conn is not None:
                try:
                    self._conn.send_text(STOP_RECORDING)
                except ConnectionLost:
                    self._conn.abort()

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def wait(self, timeout: float | None = None) -> StreamEnd | None:
        """The end of the stream, or None if it has not ended within `timeout`."""
        return self._end if self._ended.wait(timeout) else None

    def close(self, code: int = NORMAL, reason: str = "client closed") -> None:
        """Close now. With 1000 the server still finishes the session in the background."""
        self._closing.set()
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close(code, reason)
        self._finish(None)

    @property
    def unacknowledged_bytes(self) -> int:
        return self._buffer.pending_bytes

    # --- internals ---------------------------------------------------------------------

    def _send_audio_frame(self, conn: Connection, piece: bytes) -> None:
        if self._use_base64:
            chunk = b64encode(piece).decode("ascii")
            conn.send_text(json.dumps({"type": "audio_chunk", "data": {"chunk": chunk}}))
        else:
            conn.send_binary(piece)

    def _finish(self, error: GladiaError | None, *, by_server_before_stop: bool = False) -> None:
        if self._ended.is_set():
            return
        self._end.error = error
        self._end.by_server_before_stop = by_server_before_stop
        self.stats.state = "failed" if error else "done"
        self._ended.set()

    def _receive_loop(self) -> None:
        last_frame = self._clock()
        last_ping = last_frame
        while not self._ended.is_set():
            conn = self._conn
            if conn is None:
                return
            try:
                frame = conn.receive()
            except ConnectionLost as exc:
                if self._closing.is_set() or self._ended.is_set():
                    return
                if not self._reconnect(str(exc)):
                    return
                last_frame = last_ping = self._clock()
                continue
            now = self._clock()
            if frame is None:
                if now - last_frame > self._dead_after:
                    conn.abort()  # silent for too long: treat it as dropped
                elif now - last_ping > self._keepalive:
                    last_ping = now
                    try:
                        conn.ping()
                    except ConnectionLost:
                        conn.abort()
                continue
            last_frame = now
            if isinstance(frame, TextFrame):
                if not self._handle_text(frame.text):
                    return
            elif isinstance(frame, CloseFrame):
                if not self._handle_close(frame):
                    return
                last_frame = last_ping = self._clock()
            elif isinstance(frame, Activity):
                continue

    def _handle_text(self, text: str) -> bool:
        try:
            message = parse_server_message(text)
        except MessageParseError as exc:
            self._notice(f"ignored a message from the server: {exc}")
            return True
        if isinstance(message, AudioChunkAck) and message.acknowledged and message.byte_range:
            with self._lock:
                self._buffer.acknowledge(message.byte_range[1])
                self.stats.acked_bytes = self._buffer.acknowledged
        try:
            self._on_message(message)
        except Exception as exc:
            self.output_failure = exc
            self._closing.set()
            with self._lock:
                conn, self._conn = self._conn, None
            if conn is not None:
                conn.close(NORMAL, "client output closed")
            self._finish(None)
            return False
        return True

    def _handle_close(self, frame: CloseFrame) -> bool:
        """Returns whether the stream goes on (it reconnected)."""
        self.stats.close_code = frame.code
        self.stats.close_reason = plain(frame.reason)
        reason = f": {plain(frame.reason)}" if frame.reason else ""
        if frame.code == NORMAL:
            self._finish(None, by_server_before_stop=not self._stop_requested)
            return False
        if not is_retryable(frame.code):
            self._finish(
                NetworkError(
                    f"the server closed the session ({frame.code}{reason})",
                    hint="this is not retried: the server rejected what was sent",
                )
            )
            return False
        return self._reconnect(f"closed by the server ({frame.code}{reason})")

    def _reconnect(self, why: str) -> bool:
        with self._lock:
            self._conn = None
        self.stats.state = "reconnecting"
        self._notice(f"connection lost ({why}); reconnecting")
        conn = self._connect_with_retries(first=False)
        if conn is None:
            return False
        self.stats.reconnects += 1
        self.stats.state = "stopping" if self._stop_requested else "streaming"
        return True

    def _connect_with_retries(self, *, first: bool) -> Connection | None:
        """A connection (after re-sending the backlog on it, when resuming), or None once
        the attempts are exhausted or the failure is final (the error is then recorded)."""
        attempt = 0
        last_failure = ""
        while not self._closing.is_set():
            if not first or attempt:
                if not self._backoff.allows(attempt + 1):
                    break
                if self._closing.wait(self._backoff.delay(attempt + 1)):
                    return None
            attempt += 1
            try:
                conn = self._connect(self._url)
            except ConnectFailed as exc:
                last_failure = exc.reason
                if not exc.retryable:
                    self._finish(NetworkError(exc.reason, hint="the session may have expired"))
                    return None
                self._notice(f"{exc.reason}; attempt {attempt} of {self._backoff.attempts + 1}")
                continue
            if first:
                return conn
            with self._lock:
                replay = self._buffer.pending_bytes
                try:
                    for piece in self._buffer.unacknowledged(MAX_AUDIO_FRAME):
                        self._send_audio_frame(conn, piece)
                    if self._stop_requested:
                        conn.send_text(STOP_RECORDING)
                except ConnectionLost:
                    conn.abort()
                    last_failure = "connection lost while re-sending"
                    continue
                self._conn = conn
                self.stats.replayed_bytes += replay
            self._notice(
                f"reconnected; re-sent {self._fmt.seconds(replay):.1f} s of audio "
                f"({replay} bytes) not yet acknowledged"
            )
            return conn
        if not self._closing.is_set():
            self._finish(
                NetworkError(
                    f"lost the connection and could not reconnect ({last_failure})",
                    hint="check your network; the session stays open on the server for a while",
                )
            )
        return None
