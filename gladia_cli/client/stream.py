"""A live stream: the threaded driver of `protocol.client_session.ClientSession`.

It keeps only what needs I/O: the socket, two threads, one lock, the sleep. The rules (what
to send, what to deliver, when to reconnect) are the session core's.

- The caller's thread (a source pump) calls `send_audio` and `stop`: they only queue, under
  the lock, and never touch the network (`send_audio` may wait for room when asked to, so a
  file read as fast as possible does not pile up in memory).
- The sender thread sends `core.next_frame()` on the current connection, outside the lock:
  the backlog from the last acknowledgment after a (re)connect, then new audio, then
  `stop_recording`, and the keep-alive pings.
- The receiver thread reads frames, feeds them to the core, delivers what it returns (in
  order: it is the only thread that calls `on_message`), ticks the core (pings, a dead
  connection), and reconnects when the core says so. It never sends, so a send stuck in a
  stalled network cannot stop it from noticing.
"""

from __future__ import annotations

import json
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from gladia_cli.client.connection import (
    Activity,
    CloseFrame,
    ConnectFailed,
    Connection,
    ConnectionLost,
    Connector,
    TextFrame,
)
from gladia_cli.errors import GladiaError
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.client_session import (
    MAX_PIECE,
    Abort,
    AudioFrame,
    ClientSession,
    Finish,
    Outgoing,
    PingFrame,
    Reconnect,
    SessionStats,
    StopFrame,
    Timing,
)
from gladia_cli.protocol.closing import NORMAL
from gladia_cli.protocol.messages import ServerMessage, Utterance
from gladia_cli.protocol.resume import ResumeBuffer
from gladia_cli.protocol.retry import Backoff

# What `send_audio(wait=True)` lets pile up unsent before it waits: a few seconds of audio.
SEND_AHEAD_SECONDS = 2.0
# And unacknowledged: a server that is behind holds its acknowledgments back (the local
# server does, server/live/ack_credit.py), and a source that can wait then goes at its pace.
WINDOW_SECONDS = 10.0
# Pings at least this many times per `dead_after`: a pong must be able to arrive in time.
PINGS_PER_DEAD_AFTER = 3


@dataclass
class StreamEnd:
    """How the stream ended: normally (server closed with 1000) or with an error."""

    error: GladiaError | None = None
    by_server_before_stop: bool = False
    stats: SessionStats = field(default_factory=SessionStats)


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
        keepalive: float = 3.0,
        dead_after: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        backlog: ResumeBuffer | None = None,
        reconcile: bool = True,
        lean: bool = False,
        poll: float = 0.25,
        on_sent: Callable[[int, int, float], None] | None = None,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self._url = url  # carries the session token: never shown
        self._fmt = fmt
        self._connect = connect
        self._on_message = on_message
        self._notice = notice
        self._use_base64 = use_base64
        self._clock = clock
        self._poll = poll
        # (offset, length, clock) once an audio frame left the socket: latency figures.
        self._on_sent = on_sent
        window = max(MAX_PIECE, int(window_seconds * fmt.bytes_per_second))
        self.core = ClientSession(
            fmt,
            backlog=backlog,
            backoff=backoff,
            timing=Timing(
                keepalive=min(keepalive, dead_after / PINGS_PER_DEAD_AFTER), dead_after=dead_after
            ),
            reconcile=reconcile,
            window=window - window % fmt.frame_bytes,
            lean=lean,
        )
        self._send_ahead = max(MAX_PIECE, int(SEND_AHEAD_SECONDS * fmt.bytes_per_second))

        self._lock = threading.Condition()
        self._conn: Connection | None = None
        # Set when we tear the stream down: backoff sleeps end at once.
        self._closing = threading.Event()
        self._ended = threading.Event()
        self._end = StreamEnd()
        self._threads: list[threading.Thread] = []
        self.output_failure: BaseException | None = None

    # --- the caller's side -------------------------------------------------------------

    def open(self) -> None:
        """Connect (with retries) and start the threads. Raises NetworkError on failure."""
        if not self._connect_until_done(Reconnect(0.0, 0)):
            assert self._end.error is not None
            raise self._end.error
        for name, target in (("receiver", self._receive_loop), ("sender", self._send_loop)):
            thread = threading.Thread(
                target=self._guarded, args=(target,), name=f"gladia-{name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def send_audio(self, data: bytes, *, wait: bool = False) -> bool:
        """Queue audio for the server (kept until acknowledged); False once stopped (the
        audio is not taken). With `wait`, first wait while a few seconds of audio are still
        unsent, or while the server is behind (a file source can wait; a microphone cannot,
        and never waits)."""
        with self._lock:
            if wait:
                while (
                    not self.core.has_room(self._send_ahead, self._clock())
                    and not self._ended.is_set()
                    and not self.core.stop_requested
                ):
                    self._lock.wait(0.5)
            taken = self.core.audio(data)
            notices = self._take_notices()
            self._lock.notify_all()
        self._emit(notices)
        return taken

    def stop(self) -> None:
        """Send `stop_recording` after everything queued (now, or after the next reconnect)."""
        with self._lock:
            self.core.stop()
            self._lock.notify_all()

    @property
    def stop_requested(self) -> bool:
        return self.core.stop_requested

    @property
    def stats(self) -> SessionStats:
        return self.core.stats

    def wait(self, timeout: float | None = None) -> StreamEnd | None:
        """The end of the stream, or None if it has not ended within `timeout`."""
        return self._end if self._ended.wait(timeout) else None

    def close(self, code: int = NORMAL, reason: str = "client closed") -> None:
        """Close now. With 1000 the server still finishes the session in the background."""
        self._closing.set()
        with self._lock:
            conn, self._conn = self._conn, None
            self.core.abandon()
            self._lock.notify_all()
        if conn is not None:
            conn.close(code, reason)
        self._finish(None)

    def release(self) -> None:
        """Free the backlog (its temporary file) once the stream is over."""
        with self._lock:
            self.core.abandon()
            self.core.backlog.close()

    @property
    def unacknowledged_bytes(self) -> int:
        return self.core.backlog.pending_bytes

    # What the job asks of the session (it never reaches into the core).

    @property
    def behind(self) -> bool:
        """The server holds back its acknowledgments until it catches up."""
        return self.core.behind

    @property
    def needs_result_check(self) -> bool:
        """Finals may have been lost with a connection and no end message checked them:
        the session's result must (`recover_finals`)."""
        return self.core.needs_result_check

    @property
    def result_unchecked(self) -> bool:
        """No end message said how much audio the result holds: `check_result` must."""
        return self.core.result_unchecked

    def recover_finals(self, utterances: Iterable[Utterance] | None) -> list[ServerMessage]:
        """The finals the live output missed, rebuilt from the session's result (once)."""
        with self._lock:
            return self.core.reconcile(utterances, None, "GET /v2/live/{id}")

    def check_result(self, session: Any) -> GladiaError | None:
        """The session's result (`GET /v2/live/{id}`) must hold the whole stream."""
        with self._lock:
            return self.core.check_result(session)

    def take_notices(self) -> list[str]:
        """What the session has to say and has not said through `notice` yet."""
        with self._lock:
            return self.core.take_notices()

    def seconds_without_progress(self) -> float | None:
        """Seconds since the server last showed progress, while we wait for it (audio not
        yet acknowledged, or the results after a stop); None when nothing is awaited."""
        with self._lock:
            core = self.core
            if self._ended.is_set() or not (core.stop_requested or core.backlog.pending_bytes):
                return None
            return self._clock() - core.last_progress

    # --- internals ---------------------------------------------------------------------

    def _take_notices(self) -> list[str]:
        return self.core.take_notices()

    def _emit(self, notices: list[str]) -> None:
        for text in notices:
            self._notice(text)

    def _finish(self, finish: Finish | None) -> None:
        if self._ended.is_set():
            return
        self._end.stats = self.core.stats
        if finish is not None:
            self._end.error = finish.error
            self._end.by_server_before_stop = finish.by_server_before_stop
        with self._lock:
            self._lock.notify_all()
        self._ended.set()

    def _send(self, conn: Connection, frame: Outgoing) -> None:
        if isinstance(frame, AudioFrame):
            if self._use_base64:
                chunk = b64encode(frame.data).decode("ascii")
                conn.send_text(json.dumps({"type": "audio_chunk", "data": {"chunk": chunk}}))
            else:
                conn.send_binary(frame.data)
            if self._on_sent is not None:
                self._on_sent(frame.offset, len(frame.data), self._clock())
        elif isinstance(frame, StopFrame):
            conn.send_text(frame.text)
        elif isinstance(frame, PingFrame):
            conn.ping(frame.payload)

    def _guarded(self, loop: Callable[[], None]) -> None:
        """A thread's loop; a bug in it ends the stream with an error instead of a hang."""
        try:
            loop()
        except Exception as exc:
            self._closing.set()
            with self._lock:
                conn, self._conn = self._conn, None
                self.core.abandon()
            if conn is not None:
                conn.abort()
            failure = GladiaError(f"unexpected {type(exc).__name__} in the stream: {exc}")
            failure.__cause__ = exc
            self._finish(Finish(failure))

    def _send_loop(self) -> None:
        while True:
            with self._lock:
                while True:
                    if self._ended.is_set():
                        return
                    conn = self._conn
                    frame = self.core.next_frame() if conn is not None else None
                    if frame is not None:
                        break
                    self._lock.wait(0.5)
                self._lock.notify_all()  # a pump may be waiting for room
            assert conn is not None
            try:
                self._send(conn, frame)
            except ConnectionLost:
                conn.abort()  # the receiver notices and reconnects

    def _connect_until_done(self, action: Reconnect | Finish) -> bool:
        """Carry out the core's decisions until connected (True) or finished (False)."""
        while isinstance(action, Reconnect):
            if action.delay > 0 and self._closing.wait(action.delay):
                return False
            if self._closing.is_set():
                return False
            try:
                conn = self._connect(self._url)
            except ConnectFailed as exc:
                with self._lock:
                    action = self.core.connect_failed(
                        exc.reason, retryable=exc.retryable, now=self._clock()
                    )
                    notices = self._take_notices()
                self._emit(notices)
                continue
            with self._lock:
                if self._closing.is_set():
                    conn.abort()
                    return False
                self._conn = conn
                self.core.connected(self._clock())
                notices = self._take_notices()
                self._lock.notify_all()
            self._emit(notices)
            return True
        self._finish(action)
        return False

    def _after_close(self, code: int | None, reason: str) -> Connection | None:
        """The current connection ended: the next one, or None when the stream is over."""
        if self._closing.is_set():
            return None
        with self._lock:
            self._conn = None
            action = self.core.closed(code, reason, self._clock())
            notices = self._take_notices()
        self._emit(notices)
        if not self._connect_until_done(action):
            return None
        return self._conn

    def _receive_loop(self) -> None:
        conn = self._conn
        while conn is not None and not self._ended.is_set():
            try:
                frame = conn.receive(self._poll)
            except ConnectionLost as exc:
                conn = self._after_close(None, str(exc))
                continue
            now = self._clock()
            with self._lock:
                tick = self.core.tick(now)
                if isinstance(tick, Abort):
                    self._notice(f"{tick.reason}: dropping the connection")
                    conn.abort()  # the next receive raises ConnectionLost
                elif tick is not None:
                    self._lock.notify_all()  # the sender sends the ping
            if frame is None:
                continue
            if isinstance(frame, TextFrame):
                with self._lock:
                    delivered = self.core.message(frame.text, now)
                    notices = self._take_notices()
                    self._lock.notify_all()
                frame = None  # a long session's end messages are megabytes each: the text
                self._emit(notices)
                done = self._deliver(delivered)
                del delivered  # …and the parsed message go before the next one is read
                if not done:
                    return
            elif isinstance(frame, CloseFrame):
                conn = self._after_close(frame.code, frame.reason)
            elif isinstance(frame, Activity):
                with self._lock:
                    self.core.activity(now)

    def _deliver(self, messages: list[ServerMessage]) -> bool:
        try:
            for message in messages:
                self._on_message(message)
        except Exception as exc:
            self.output_failure = exc
            self.close(NORMAL, "client output closed")
            return False
        return True
