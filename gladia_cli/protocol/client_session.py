"""The client side of a live session as a plain object: no sockets, no threads, no clock.

As python-websockets separates its protocol from its connections, the rules live here and
the threaded driver (`client/stream.py`) only carries them out. Inputs:

- `audio(data)`, `stop()`: from the source.
- `connected(now)`: a connection opened. The send cursor goes back to the last
  acknowledgment received, so `next_frame` yields the unacknowledged backlog, then new
  audio (queued behind it, in order), then `stop_recording` when asked.
- `message(text, now)`: a server frame. Returns what to deliver to the outputs, with
  duplicates dropped (a server may re-deliver what was in flight at a drop) and, at
  `post_transcript`, any final the live output missed rebuilt from it. Acknowledgments
  trim the backlog as they come, also during a re-send.
- `closed(code, now)`, `connect_failed(…)`: `Reconnect(delay)` or `Finish(error)`.
  Progress (acknowledgments advancing, a new message) resets the attempt count.
- `tick(now)`: `Ping` every `keepalive` seconds, `Abort` when nothing came for
  `dead_after` seconds (a black hole never closes by itself).
- `activity(now)`: any other frame (a pong) proves the connection alive.

Alive is not the same as keeping up. A server that is behind (the local server's
recognition, see server/live/ack_credit.py) holds its acknowledgments back while it still
answers pings and sends transcripts: the connection is alive, and `behind` says that
`window` bytes wait for an acknowledgment, so a source that can wait should (`has_room`).
The window is a courtesy, not a condition: acknowledgments lost on the way (a broken
middlebox) would otherwise stop the audio for good, so after `Timing.window_patience`
seconds without one advancing it is dropped for the rest of the connection, said once (the
server stores what it reads either way, and a re-send covers what a cut loses).
`last_progress` is when the server last showed progress (an acknowledgment advancing, a
new message): the job gives up on a server that is alive but makes none for too long.

The session's own state is one `State`, moved only through `_TRANSITIONS` (as h11 keeps
its states): connected or not, the source stopped or not, finished. What belongs to one
connection (its send cursor, pings, the first acknowledgment's check) is a `_Link`, made
anew at each connection. What the core produces goes out one way each: answers as return
values (`message`, `closed`, `tick`…), frames to send by `next_frame`, what to tell the user
by `take_notices`, figures as a `stats` snapshot.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from enum import Enum, auto
from typing import Any

from gladia_cli.errors import GladiaError, NetworkError
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.closing import (
    GOING_AWAY,
    INVALID_TOKEN,
    NORMAL,
    SESSION_FINISHED,
    is_retryable,
)
from gladia_cli.protocol.messages import (
    AudioChunkAck,
    MessageParseError,
    ServerMessage,
    StopRecordingAck,
    Transcript,
    Utterance,
    list_at,
    parse_server_message,
)
from gladia_cli.protocol.reconcile import FinalsLedger
from gladia_cli.protocol.resume import ResumeBuffer
from gladia_cli.protocol.retry import Backoff
from gladia_cli.protocol.state_machine import StateMachine
from gladia_cli.safe_text import plain

STOP_RECORDING = json.dumps({"type": "stop_recording"})
# Largest audio frame sent: many acknowledgments per second of re-send (progress is
# visible), far under the 1 MiB frame limit even as base64.
MAX_PIECE = 32 * 1024
# Messages that come once per session: a repeat is a re-delivery.
ONCE_PER_SESSION = frozenset(
    {
        "start_session",
        "start_recording",
        "end_recording",
        "post_transcript",
        "post_summarization",
        "post_chapterization",
        "post_final_transcript",
        "end_session",
    }
)
# After these, every result is in: a drop then needs no reconnect.
LAST_MESSAGES = frozenset({"post_final_transcript", "end_session"})
_RECENT = 4096  # exact repeats are looked for among this many recent frames
GOING_AWAY_ATTEMPTS = 3  # a server that shut down rarely comes back with our session
DURATION_TOLERANCE = 0.05  # seconds: rounding of the server's recording_duration


@dataclass(frozen=True)
class Timing:
    keepalive: float = 3.0  # seconds between pings
    dead_after: float = 10.0  # seconds without any frame before a connection is dead
    # Connections that open and then break without progress are given up only after the
    # attempts run out *and* this long without progress: on a loaded machine several in a
    # row can be cut before any acknowledgment could come back, and a server that keeps
    # accepting connections is not gone. (Connections that cannot even open are bounded
    # by the attempts alone.)
    give_up_after: float = 30.0
    # Seconds the window waits for an acknowledgment to advance before it is dropped for
    # the connection: a server holding them back releases some every few seconds.
    window_patience: float = 10.0


@dataclass(frozen=True)
class AudioFrame:
    data: bytes
    offset: int  # session offset of data[0]


@dataclass(frozen=True)
class StopFrame:
    text: str = STOP_RECORDING


@dataclass(frozen=True)
class PingFrame:
    payload: bytes = b""


RESUME_HINT = b"gladia-resume:%d"  # a ping payload: where the next audio byte sits


Outgoing = AudioFrame | StopFrame | PingFrame


@dataclass(frozen=True)
class Reconnect:
    delay: float
    attempt: int


@dataclass(frozen=True)
class Finish:
    error: GladiaError | None = None
    by_server_before_stop: bool = False


@dataclass(frozen=True)
class Ping:
    pass


@dataclass(frozen=True)
class Abort:
    reason: str


class State(Enum):
    """Where the session is on the client's side."""

    CONNECTING = auto()  # the first connection is being opened
    STREAMING = auto()  # connected: the audio goes out as it comes
    RECONNECTING = auto()  # the connection was lost: another is being opened
    STOPPING = auto()  # connected, the source stopped: the backlog, then stop_recording
    STOPPING_OFFLINE = auto()  # the source stopped, no connection: one is being opened
    DONE = auto()
    FAILED = auto()


class Event(Enum):
    CONNECTED = auto()  # a connection opened
    CONNECT_FAILED = auto()  # an attempt to open one failed; another follows
    LOST = auto()  # the connection ended; another follows
    STOP = auto()  # the source stopped
    FINISH = auto()  # the session ended normally (or the user closed it)
    FAIL = auto()  # the session ended with an error


_ENDS = {Event.FINISH: State.DONE, Event.FAIL: State.FAILED}
_TRANSITIONS: dict[State, dict[Event, State]] = {
    State.CONNECTING: {
        Event.CONNECTED: State.STREAMING,
        Event.CONNECT_FAILED: State.CONNECTING,
        Event.STOP: State.STOPPING_OFFLINE,
        **_ENDS,
    },
    State.STREAMING: {Event.LOST: State.RECONNECTING, Event.STOP: State.STOPPING, **_ENDS},
    State.RECONNECTING: {
        Event.CONNECTED: State.STREAMING,
        Event.CONNECT_FAILED: State.RECONNECTING,
        Event.STOP: State.STOPPING_OFFLINE,
        **_ENDS,
    },
    State.STOPPING: {Event.LOST: State.STOPPING_OFFLINE, **_ENDS},
    State.STOPPING_OFFLINE: {
        Event.CONNECTED: State.STOPPING,
        Event.CONNECT_FAILED: State.STOPPING_OFFLINE,
        **_ENDS,
    },
    # A stop after the end changes nothing (the source may end after the session did).
    State.DONE: {Event.STOP: State.DONE},
    State.FAILED: {Event.STOP: State.FAILED},
}
CONNECTED_STATES = frozenset({State.STREAMING, State.STOPPING})
STOPPED_STATES = frozenset({State.STOPPING, State.STOPPING_OFFLINE})
# The word the status line shows for each state (STREAMING may show "server behind").
SHOWN = {
    State.CONNECTING: "connecting",
    State.STREAMING: "streaming",
    State.RECONNECTING: "reconnecting",
    State.STOPPING: "stopping",
    State.STOPPING_OFFLINE: "reconnecting",
    State.DONE: "done",
    State.FAILED: "failed",
}


@dataclass
class _Link:
    """What belongs to one connection; a new one at each connection."""

    cursor: int  # the next byte of the session stream to send on it
    opened: float  # when it opened
    resume_hint: bytes | None = None  # the ping that goes before any audio, if not sent yet
    resume_offset: int | None = None  # where its audio started, until the first ack checks it
    audio_sent: bool = False
    stop_sent: bool = False
    ping_due: bool = False
    last_frame: float = 0.0  # when anything last came from the server on it
    last_ping: float = 0.0
    progress: bool = False  # the server showed progress on it
    window_off: bool = False  # acknowledgments stopped coming: the window is not waited for
    last_ack_at: float = 0.0  # when an acknowledgment last advanced on it (or it opened)

    def __post_init__(self) -> None:
        self.last_frame = self.last_ping = self.last_ack_at = self.opened


@dataclass
class SessionStats:
    state: str = "connecting"
    sent_bytes: int = 0
    acked_bytes: int = 0
    reconnects: int = 0
    replayed_bytes: int = 0
    close_code: int | None = None
    close_reason: str = ""
    duplicates_dropped: int = 0
    recovered_finals: int = 0


@dataclass(slots=True)  # 4096 of them are kept: 60 bytes each, not 200
class _Copies:
    """How often one exact frame was delivered, and how often it came on this connection."""

    delivered: int = 0
    connection: int = -1  # the connection the counts below are about
    before: int = 0  # delivered on earlier connections
    arrived: int = 0  # arrived on `connection`


@dataclass
class _Dedup:
    """What was delivered, to recognise re-deliveries."""

    # "channel:id" of every final delivered (one str a final, not a tuple and a str: a
    # 10 h session delivers 15 000 of them).
    finals: set[str] = field(default_factory=set)
    once: set[str] = field(default_factory=set)
    recent: OrderedDict[int, _Copies] = field(default_factory=OrderedDict)

    def redelivered(self, text: str, connection: int) -> bool:
        """Whether this exact frame is a copy of one delivered before the connection it came
        on. A server may send identical frames itself (three equal add-on errors in one
        millisecond): on one connection every copy is new. After a reconnect, the first N
        copies of a frame delivered N times before are what the server sent again."""
        digest = int.from_bytes(
            hashlib.blake2b(text.encode("utf-8", "replace"), digest_size=16).digest()
        )
        copies = self.recent.pop(digest, None) or _Copies()
        self.recent[digest] = copies  # the most recent last: the oldest go first
        if len(self.recent) > _RECENT:
            self.recent.popitem(last=False)
        if copies.connection != connection:
            copies.connection, copies.before, copies.arrived = connection, copies.delivered, 0
        copies.arrived += 1
        if copies.arrived <= copies.before:
            return True
        copies.delivered += 1
        return False


def _session_gone(code: int, detail: str) -> NetworkError:
    """A reconnection refused for a session the server had accepted before: nothing the
    client sent was wrong; the session is no longer there (a restarted server knows no
    token, 4401; one that ended the session meanwhile says so, 4410)."""
    if code == INVALID_TOKEN:
        return NetworkError(
            f"the server restarted and the session is gone (it no longer knows it: {code}{detail})",
            hint="start the session again; audio sent since the last acknowledgment was not kept",
        )
    return NetworkError(
        f"the session ended on the server while the connection was down ({code}{detail})",
        hint="see what the server kept with `gladia sessions get ID`",
    )


class ClientSession:
    def __init__(
        self,
        fmt: AudioFormat,
        *,
        backlog: ResumeBuffer | None = None,
        backoff: Backoff | None = None,
        timing: Timing | None = None,
        max_piece: int = MAX_PIECE,
        reconcile: bool = True,
        window: int | None = None,
        lean: bool = False,
    ) -> None:
        """`lean`: messages are parsed without their utterances' words (the outputs need
        none: protocol/messages.parse_server_message)."""
        self.fmt = fmt
        self._lean = lean
        self.backlog = backlog or ResumeBuffer()
        self.backoff = backoff or Backoff()
        self.timing = timing or Timing()
        self._max_piece = max(fmt.frame_bytes, max_piece - max_piece % fmt.frame_bytes)
        self._reconcile = reconcile
        # Unacknowledged bytes past which the server is taken to be behind (None: never).
        self.window = window
        self.last_progress = 0.0
        self._machine: StateMachine[State, Event] = StateMachine(
            "client session", State.CONNECTING, _TRANSITIONS
        )
        self._stats = SessionStats()
        self._notices: list[str] = []
        self.ledger = FinalsLedger()
        self._dedup = _Dedup()

        self.connections = 0
        self._link = _Link(cursor=0, opened=0.0)  # none opened yet
        self._attempt = 0
        self._stuck_since: float | None = None  # the first fruitless end since progress
        self._went_away = False
        self._last_failure = ""
        self._misplaced: tuple[int, int] | None = None

        self._stops_sent = 0
        # What the server said: it takes no more audio; every result is in.
        self._recording_over = False
        self.results_complete = False
        self._spill_reported = False
        self.reconciled = False
        self.server_recorded: float | None = None  # the latest duration the server gave
        # Seconds of audio the server said it received (the stop acknowledgment), and that
        # its end result holds (end_recording, post_final_transcript, or a GET at the end).
        self.receipt_recorded: float | None = None
        self.result_recorded: float | None = None
        self.session_id: str | None = None
        self.finished: Finish | None = None

    # --- its state -------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._machine.state

    @property
    def is_connected(self) -> bool:
        return self._machine.state in CONNECTED_STATES

    @property
    def stop_requested(self) -> bool:
        return self._machine.state in STOPPED_STATES

    @property
    def stats(self) -> SessionStats:
        """The session's figures now (a copy: the core alone changes its own)."""
        state = self._machine.state
        shown = "server behind" if state is State.STREAMING and self.behind else SHOWN[state]
        return replace(
            self._stats,
            state=shown,
            sent_bytes=self.backlog.sent,
            acked_bytes=self.backlog.acknowledged,
        )

    def take_notices(self) -> list[str]:
        """What to tell the user since the last call (the only way they leave the core)."""
        notices, self._notices = self._notices, []
        return notices

    # --- from the source -----------------------------------------------------------------

    def audio(self, data: bytes) -> bool:
        """Queue audio; False once stopped or finished (the audio is not taken)."""
        if self.stop_requested or self.finished is not None:
            return False
        self.backlog.append(data)
        if self.backlog.spills and not self._spill_reported:
            self._spill_reported = True
            self._notices.append(
                f"{self.fmt.seconds(self.backlog.memory_bytes):.0f} s of audio not yet "
                "acknowledged by the server; keeping the rest in a temporary file"
            )
        return True

    def stop(self) -> None:
        if not self.stop_requested:
            self._machine.fire(Event.STOP)

    @property
    def behind(self) -> bool:
        """Whether a window's worth of audio waits for the server to acknowledge it."""
        return (
            self.window is not None
            and not self._link.window_off
            and not self._recording_over
            and self.backlog.pending_bytes >= self.window
        )

    def has_room(self, send_ahead: int, now: float) -> bool:
        """Whether a source that can wait should send more now: less than `send_ahead`
        bytes not yet handed to a connection, and the server not behind (or no longer
        waited for: see the module docstring)."""
        if self.unsent_bytes > send_ahead:
            return False
        if not self.behind:
            return True
        if self.is_connected and now - self._link.last_ack_at > self.timing.window_patience:
            self._link.window_off = True
            self._notices.append(
                f"no acknowledgment from the server for {self.timing.window_patience:g} s "
                "while it answers: sending without waiting for them"
            )
            return True
        return False

    @property
    def unsent_bytes(self) -> int:
        """Audio queued and not yet handed to a connection (all of the backlog when none)."""
        if self._recording_over:
            return 0
        base = self._link.cursor if self.is_connected else self.backlog.acknowledged
        return self.backlog.sent - base

    # --- connections -----------------------------------------------------------------------

    def connected(self, now: float) -> None:
        self._machine.fire(Event.CONNECTED)
        cursor = self.backlog.acknowledged
        # Before any audio, a ping saying where it starts: the local server then places
        # re-sent bytes exactly; any other server just answers it.
        self._link = _Link(cursor=cursor, opened=now, resume_hint=RESUME_HINT % cursor)
        self.last_progress = max(self.last_progress, now)  # waiting starts again from here
        if self.connections:
            self._stats.reconnects += 1
            replay = 0 if self._recording_over else self.backlog.pending_bytes
            self._stats.replayed_bytes += replay
            self._notices.append(
                f"reconnected; re-sending {self.fmt.seconds(replay):.1f} s of audio "
                f"({replay} bytes) not yet acknowledged"
            )
        self.connections += 1

    def next_frame(self) -> Outgoing | None:
        """What to send next on the current connection, or None for now."""
        if not self.is_connected:
            return None
        link = self._link
        if link.resume_hint is not None:
            hint, link.resume_hint = link.resume_hint, None
            return PingFrame(hint)
        if link.ping_due:
            link.ping_due = False
            return PingFrame()
        if self._recording_over:
            return None
        link.cursor = max(link.cursor, self.backlog.acknowledged)
        if link.cursor < self.backlog.sent:
            data = self.backlog.read(link.cursor, self._max_piece)
            frame = AudioFrame(data, link.cursor)
            if not link.audio_sent:
                link.audio_sent = True
                link.resume_offset = link.cursor  # checked against the first ack
            link.cursor += len(data)
            return frame
        if self.stop_requested and not link.stop_sent:
            link.stop_sent = True
            self._stops_sent += 1
            return StopFrame()
        return None

    def tick(self, now: float) -> Ping | Abort | None:
        if not self.is_connected:
            return None
        link = self._link
        if now - link.last_frame > self.timing.dead_after:
            return Abort(f"nothing from the server for {self.timing.dead_after:g} s")
        if now - link.last_ping >= self.timing.keepalive:
            link.last_ping = now
            link.ping_due = True
            return Ping()
        return None

    def activity(self, now: float) -> None:
        self._link.last_frame = now

    def closed(self, code: int | None, reason: str, now: float) -> Reconnect | Finish:
        """The connection ended: with a close frame (`code`) or without one (None)."""
        reason = plain(reason)
        if code is not None:
            self._stats.close_code = code
            self._stats.close_reason = reason
        if self.finished is not None:
            return self.finished
        detail = f": {reason}" if reason else ""
        if code == NORMAL:
            return self._finish(self._end_check(), by_server_before_stop=not self.stop_requested)
        if code is not None and not is_retryable(code):
            if self._went_away:  # the session went with the server that shut down
                self._last_failure = f"then {code}{detail}"
                return self._give_up()
            if self.connections > 1 and code in (INVALID_TOKEN, SESSION_FINISHED):
                return self._finish(_session_gone(code, detail))
            return self._finish(
                NetworkError(
                    f"the server closed the session ({code}{detail})",
                    hint="this is not retried: the server rejected what was sent",
                )
            )
        if self.results_complete:
            # Every result arrived; the close frame was what got lost.
            return self._finish(self._end_check(), by_server_before_stop=not self.stop_requested)
        if code == GOING_AWAY:
            self._went_away = True
        why = f"closed by the server ({code}{detail})" if code is not None else reason
        self._last_failure = why
        self._notices.append(f"connection lost ({why}); reconnecting")
        progress = self._link.progress
        if progress:
            self._attempt = 0
            self._stuck_since = None
        elif self._stuck_since is None:
            self._stuck_since = now
        self._attempt += 1
        stuck_for = 0.0 if self._stuck_since is None else now - self._stuck_since
        patient = not self._went_away and stuck_for < self.timing.give_up_after
        if self._attempt > self._attempt_limit and not patient:
            return self._give_up()
        self._machine.fire(Event.LOST)
        # After a productive connection, at once; after a fruitless one, back off.
        productive = progress and self._attempt == 1
        return Reconnect(0.0 if productive else self.backoff.delay(self._attempt), self._attempt)

    def connect_failed(self, reason: str, *, retryable: bool, now: float) -> Reconnect | Finish:
        if self.finished is not None:
            return self.finished  # an attempt that was under way when the user closed
        reason = plain(reason)
        self._last_failure = reason
        if not retryable:
            if self._went_away:
                return self._give_up()
            return self._finish(NetworkError(reason, hint="the session may have expired"))
        self._attempt += 1
        if self._attempt > self._attempt_limit:
            return self._give_up()
        self._machine.fire(Event.CONNECT_FAILED)
        self._notices.append(f"{reason}; attempt {self._attempt} of {self._attempt_limit}")
        return Reconnect(self.backoff.delay(self._attempt), self._attempt)

    def abandon(self) -> None:
        """The user closed the stream (an abort, or the output went away)."""
        self._finish(None)

    @property
    def _attempt_limit(self) -> int:
        if self._went_away:
            return min(self.backoff.attempts, GOING_AWAY_ATTEMPTS)
        return self.backoff.attempts

    def _give_up(self) -> Finish:
        if self._went_away:
            return self._finish(
                NetworkError(
                    f"the server went away (closed with 1001) and did not come back "
                    f"({self._last_failure})",
                    hint="the server was shut down or restarted; the session may be lost",
                )
            )
        if self.connections == 0:
            return self._finish(
                NetworkError(
                    f"could not connect to the session ({self._last_failure})",
                    hint="check your network and --api-url",
                )
            )
        return self._finish(
            NetworkError(
                f"lost the connection and could not reconnect ({self._last_failure})",
                hint="check your network; the session stays open on the server for a while",
            )
        )

    def _finish(self, error: GladiaError | None, *, by_server_before_stop: bool = False) -> Finish:
        if self.finished is None:
            self._machine.fire(Event.FAIL if error else Event.FINISH)
            self.finished = Finish(error, by_server_before_stop)
        return self.finished

    def _end_check(self) -> GladiaError | None:
        """After a normal end: did the server take every byte we sent? Only what it said
        counts: acknowledgments covering the stream (or the stop acknowledgment's duration),
        and the end result's duration (`result_unchecked`: then a GET must give it)."""
        if self._misplaced is not None:
            expected, placed = self._misplaced
            return NetworkError(
                f"the server placed re-sent audio at byte {placed} instead of {expected}: "
                "its copy of the audio (and the transcript) may be damaged",
                hint="stream the file again",
            )
        if self.server_recorded is not None:
            error = self._duration_check(self.server_recorded, "recorded")
            if error is not None:
                return error
        return self._receipt_check()

    def _duration_check(self, recorded: float, verb: str) -> GladiaError | None:
        sent = self.fmt.seconds(self.backlog.sent)
        slack = DURATION_TOLERANCE + self.fmt.seconds(self.fmt.frame_bytes)
        if recorded + slack < sent:
            return NetworkError(
                f"the server {verb} {recorded:.2f} s of the {sent:.2f} s of "
                "audio sent: the rest was lost",
                hint="the transcript misses that audio; stream the file again",
            )
        if recorded > sent + slack:
            self._notices.append(
                f"the server {verb} {recorded:.2f} s, more than the {sent:.2f} s "
                "sent: some audio may have been stored twice"
            )
        return None

    def _receipt_check(self) -> GladiaError | None:
        """Every byte sent acknowledged: by the audio acknowledgments (always asked for:
        the client sets `receive_acknowledgments`), or the stop acknowledgment's duration
        (acknowledgments lost on the way are not audio lost)."""
        sent, acked = self.backlog.sent, self.backlog.acknowledged
        if acked >= sent:
            return None
        if self.receipt_recorded is not None:
            slack = DURATION_TOLERANCE + self.fmt.seconds(self.fmt.frame_bytes)
            if self.receipt_recorded + slack >= self.fmt.seconds(sent):
                return None
        seconds = self.fmt.seconds
        said = f"{acked} of the {sent} bytes" if acked else f"none of the {sent} bytes"
        return NetworkError(
            f"the server acknowledged {said} of audio sent "
            f"({seconds(acked):.2f} of {seconds(sent):.2f} s) and ended the session without "
            "confirming the rest",
            hint=f"the last {seconds(sent - acked):.2f} s may be missing from the transcript; "
            "stream the file again",
        )

    @property
    def result_unchecked(self) -> bool:
        """Whether no end message said how much audio the session's result holds (a GET of
        the session must then say it: `check_result`)."""
        return self.backlog.sent > 0 and self.result_recorded is None

    def check_result(self, session: Any) -> GladiaError | None:
        """The end result from `GET /v2/live/{id}`: it must hold the whole stream."""
        duration = result_duration(session)
        if duration is None:
            status = session.get("status") if isinstance(session, dict) else None
            return NetworkError(
                "could not check that the server kept all the audio: the session result "
                f"gives no duration (status {plain(str(status))!r})",
                hint="the whole result may be there: gladia sessions get "
                f"{self.session_id or 'ID'}",
            )
        self.result_recorded = duration
        return self._duration_check(duration, "holds")

    # --- messages --------------------------------------------------------------------------

    def message(self, text: str, now: float) -> list[ServerMessage]:
        """A server text frame in; the messages to deliver out (in order)."""
        self._link.last_frame = now
        try:
            message = parse_server_message(text, lean=self._lean)
        except MessageParseError as exc:
            self._notices.append(f"ignored a message from the server: {exc}")
            return []
        if self.session_id is None and message.session_id:
            self.session_id = message.session_id
        if isinstance(message, AudioChunkAck):
            self._on_audio_ack(message, now)
            return [message]  # per connection, never re-delivered: not de-duplicated
        if isinstance(message, StopRecordingAck):
            self.last_progress = now
            return self._on_stop_ack(message)
        if self._is_duplicate(message):
            self._stats.duplicates_dropped += 1
            return []
        self.last_progress = now
        self._link.progress = True
        self._attempt = 0
        self._note_duration(message)
        delivered: list[ServerMessage] = []
        if isinstance(message, Transcript) and message.is_final:
            self.ledger.record(message.utterance)
        elif message.type in ("post_transcript", "post_final_transcript"):
            delivered += self.reconcile(_end_utterances(message), message, message.type)
        if message.type in LAST_MESSAGES:
            self.results_complete = True
        delivered.append(message)
        return delivered

    def reconcile(
        self, utterances: Iterable[Utterance] | None, origin: ServerMessage | None, source: str
    ) -> list[ServerMessage]:
        """Finals the live output missed, rebuilt from the session's end list (once)."""
        if not self._reconcile or self.reconciled or utterances is None:
            return []
        self.reconciled = True
        created_at = str(origin.raw.get("created_at", "")) if origin is not None else ""
        rebuilt = [
            parse_server_message(
                self.ledger.rebuild(
                    u, session_id=self.session_id, created_at=created_at, source=source
                )
            )
            for u in self.ledger.missing(utterances)
        ]
        if rebuilt:
            self._stats.recovered_finals += len(rebuilt)
            self._notices.append(
                f"{len(rebuilt)} final utterance{'s' if len(rebuilt) > 1 else ''} did not "
                f"arrive live (lost with a dropped connection); recovered from {source}"
            )
        return rebuilt

    @property
    def needs_result_check(self) -> bool:
        """Whether finals could have been lost and nothing at the end checked them yet."""
        return self._reconcile and not self.reconciled and self._stats.reconnects > 0

    def _on_audio_ack(self, ack: AudioChunkAck, now: float) -> None:
        if ack.acknowledged and ack.byte_range is not None:
            if self._link.resume_offset is not None:
                # The first acknowledgment on a connection starts where the server put the
                # connection's first byte: ours, or the server misplaced it.
                if ack.byte_range[0] != self._link.resume_offset and self._misplaced is None:
                    self._misplaced = (self._link.resume_offset, ack.byte_range[0])
                    self._notices.append(
                        f"the server placed re-sent audio at byte {ack.byte_range[0]}, "
                        f"not {self._link.resume_offset}"
                    )
                self._link.resume_offset = None
            end = ack.byte_range[1]
            end -= end % self.fmt.frame_bytes  # never resume mid-sample
            if self.backlog.acknowledge(end):
                self._link.progress = True
                self._attempt = 0
                self.last_progress = self._link.last_ack_at = now
        elif not ack.acknowledged:
            # The server takes no more audio: our stop reached it, or it ended the recording
            # on its own (the duration check at the end tells which).
            self._recording_over = True

    def _on_stop_ack(self, ack: StopRecordingAck) -> list[ServerMessage]:
        self._recording_over = True
        self._link.progress = True
        if ack.acknowledged and _is_number(ack.recording_duration):
            self.server_recorded = self.receipt_recorded = ack.recording_duration
        first = "stop_recording" not in self._dedup.once
        if ack.acknowledged and first:
            self._dedup.once.add("stop_recording")
            return [ack]
        if not ack.acknowledged and first and self._stops_sent <= 1:
            return [ack]  # a real refusal, not the echo of a stop we sent twice
        self._stats.duplicates_dropped += 1
        return []

    def _is_duplicate(self, message: ServerMessage) -> bool:
        if message.type in ONCE_PER_SESSION:
            if message.type in self._dedup.once:
                return True
            self._dedup.once.add(message.type)
            return False  # its type says it all (no copy of a frame of megabytes to hash)
        if isinstance(message, Transcript):
            key = f"{message.utterance.channel}:{message.utterance_id}"
            if key in self._dedup.finals:
                return True  # a repeated final, or a partial arriving after its final
            if message.is_final:
                self._dedup.finals.add(key)
        return self._dedup.redelivered(message.text, self.connections)

    def _note_duration(self, message: ServerMessage) -> None:
        data = message.raw.get("data")
        if not isinstance(data, dict):
            return
        value: Any = None
        if message.type == "end_recording":
            value = data.get("recording_duration")
        elif message.type == "post_final_transcript":
            metadata = data.get("metadata")
            value = metadata.get("audio_duration") if isinstance(metadata, dict) else None
        if _is_number(value):
            self.server_recorded = self.result_recorded = float(value)


def _end_utterances(message: ServerMessage) -> Iterator[Utterance] | None:
    """The complete list of final utterances an end message carries, if it does: read from
    its JSON one at a time (a 10 h session's list is 15 000 long; a lean parse leaves it in
    the frame's text: messages.list_at)."""
    if message.type == "post_transcript":
        items = list_at(message, "data", "utterances")
    else:
        items = list_at(message, "data", "transcription", "utterances")
    if items is None:
        return None
    first = next(items, None)
    if first is not None and not isinstance(first, dict):
        return None  # a shape that is not understood: no list at all
    return _each_utterance(itertools.chain([first], items) if first is not None else items)


def _each_utterance(utterances: Iterable[Any]) -> Iterator[Utterance]:
    for item in utterances:
        try:
            yield Utterance.from_dict(item)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue


def result_utterances(result: Any) -> list[Utterance] | None:
    """`result.transcription.utterances` of a session result, if well formed."""
    if not isinstance(result, dict):
        return None
    transcription = result.get("transcription")
    utterances = transcription.get("utterances") if isinstance(transcription, dict) else None
    if not isinstance(utterances, list):
        return None
    try:
        return [Utterance.from_dict(u) for u in utterances]
    except (KeyError, TypeError, ValueError):
        return None


def result_duration(session: Any) -> float | None:
    """Seconds of audio a session (`GET /v2/live/{id}`) holds: `result.metadata.
    audio_duration`, else `file.audio_duration`."""
    if not isinstance(session, dict):
        return None
    result, file = session.get("result"), session.get("file")
    metadata = result.get("metadata") if isinstance(result, dict) else None
    for holder in (metadata, file):
        value = holder.get("audio_duration") if isinstance(holder, dict) else None
        if value is not None and _is_number(value):
            return float(value)
    return None


def _is_number(value: Any) -> bool:
    """A finite number (not a bool, not NaN: a NaN duration compares as covering anything)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
