"""One live session on the local server: its audio, its transcription, its messages, its end.

A session outlives its connections: a client may drop and reconnect to the same URL, and
nothing is lost either way. Audio is placed on the session stream by `AudioIngest` (re-sent
bytes are kept once), stored on disk, and transcribed by `SessionRecognition` on a worker
thread. Engine events become messages in `EventMessages`; messages go through one ordered
outbox, written by `Delivery`: what a dropped connection did not confirm (by answering a
ping) is delivered again on the next one (acknowledgments excepted: they belong to the
connection that carried the audio). Only the current connection is listened to: frames
still arriving on a superseded one are ignored.

The end follows protocol.md §4.2: stop ack → remaining finals and add-ons → end_recording →
the end result (`SessionResult`: post_transcript … end_session) → close 1000, once the
client confirmed it has everything (or after `confirm_timeout`). A session also ends when
its client closes with 1000 without stopping (finished in the background), and when its
`Watchdog` says so (no audio for `idle_timeout`, or `max_duration` of recording). Every
timer runs on the injected `Clock`.

Where the session is, is one `State` moved only through `_TRANSITIONS`: recording →
ending (recognition and add-ons finish) → closing (the end sequence is emitted) → ended.
Everything for the client leaves one way, the outbox (`_post`); `Delivery` writes it.

This module is the orchestration; each part is its own module, named above.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from datetime import UTC, datetime
from enum import Enum, auto
from typing import Any

from gladia_cli.audio.wav_stream import find_wav_data
from gladia_cli.protocol import init_config
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.closing import GOING_AWAY, NORMAL, SUPERSEDED
from gladia_cli.protocol.messages import build_message, gating_flag, is_final_message, iso_timestamp
from gladia_cli.protocol.state_machine import StateMachine
from gladia_cli.server.addons.runner import AddonRunner, SessionAddons
from gladia_cli.server.clock import Clock
from gladia_cli.server.config import ANSWERING_MACHINE_WINDOW, ServerConfig
from gladia_cli.server.live.ack_credit import AckCredit, credit_limit
from gladia_cli.server.live.delivery import ClientSocket, Delivery
from gladia_cli.server.live.event_messages import (
    EventMessages,
    chunk_acknowledgment,
    final_utterance,
    stop_acknowledgment,
)
from gladia_cli.server.live.ingest import AudioIngest, Received
from gladia_cli.server.live.outbox import Kind, Outgoing
from gladia_cli.server.live.session_files import SessionFiles
from gladia_cli.server.live.session_result import SessionResult
from gladia_cli.server.live.stored_session import session_meta
from gladia_cli.server.live.watchdog import IDLE_REASON, Watchdog
from gladia_cli.server.recognition.engines.base import Hypothesis
from gladia_cli.server.recognition.recognition_status import RecognitionStatus
from gladia_cli.server.recognition.session_recognition import (
    SessionRecognition,
    configured_language,
)
from gladia_cli.server.recognition.transcriber import ChannelEvent
from gladia_cli.server.recognition.transcriber_pool import TranscriberFactory

log = logging.getLogger("gladia.server")

# How long closing a session waits for its client's close reply: real time on purpose,
# it is the network's pace (a test's manual clock would never let a silent client go).
CLOSE_REPLY_SECONDS = 5.0


# The session's status when its client went away without ending it (see _error_code).
ABANDONED = 408


class State(Enum):
    RECORDING = auto()  # audio is taken
    ENDING = auto()  # recording stopped: recognition and the add-ons finish
    CLOSING = auto()  # the end sequence (end_recording … end_session) is being emitted
    ENDED = auto()  # the end result is complete; the socket closes once it is confirmed


class Event(Enum):
    FINISH = auto()  # stop_recording, a close with 1000, or the watchdog: the first one counts
    END_SEQUENCE = auto()
    ENDED = auto()


_TRANSITIONS: dict[State, dict[Event, State]] = {
    State.RECORDING: {Event.FINISH: State.ENDING},
    # Whatever asks to finish after the first changes nothing.
    State.ENDING: {Event.FINISH: State.ENDING, Event.END_SEQUENCE: State.CLOSING},
    State.CLOSING: {Event.FINISH: State.CLOSING, Event.ENDED: State.ENDED},
    State.ENDED: {},
}


def _now_iso() -> str:
    return iso_timestamp(datetime.now(UTC))


def _compact(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


class LiveSession:
    def __init__(
        self,
        *,
        session_id: str,
        token: str,
        request_id: str,
        config: dict[str, Any],
        transcribers: TranscriberFactory,
        server: ServerConfig,
        executor: Executor,
        clock: Clock,
        owner: str = "",
        store_directory: str | None = None,
        durable: bool = False,
        addons: AddonRunner,
        on_callback: Callable[[LiveSession, dict[str, Any]], None] | None = None,
    ) -> None:
        self.id = session_id
        self.owner = owner  # a digest of the key that created the session
        self.token = token
        self.request_id = request_id
        self.config = config
        self.created_at = _now_iso()
        self.fmt = AudioFormat.from_config(config)
        self.language = configured_language(config)  # when the engine names none
        self._flags: dict[str, bool] = config["messages_config"]
        self._server = server
        self._on_callback = on_callback
        self._loop = asyncio.get_running_loop()
        self._clock = clock

        # durable: kept in --data-dir, found again after a restart (stored_session.py).
        self.files = SessionFiles(store_directory, durable=durable)
        self.store = self.files.audio
        self.result = SessionResult(
            session_id=session_id,
            request_id=request_id,
            config=config,
            fmt=self.fmt,
            files=self.files,
            created_at=self.created_at,
        )
        # Realtime and post-processing add-ons, off the real-time path (addons/runner.py).
        self.addons = SessionAddons(
            addons,
            session_id=session_id,
            config=config,
            emit=self.emit,
            files=self.files,
            fmt=self.fmt,
            header=lambda: self.header_bytes or 0,
        )
        self.ingest = AudioIngest(
            self.store.read,
            frame_bytes=self.fmt.frame_bytes,
            append_only=not self._flags["receive_acknowledgments"],
        )
        self.header_bytes: int | None = None  # a RIFF header the client sent first, if any
        self._recording_started = False
        self.recognition = RecognitionStatus(limit=server.max_recognition_backlog)
        self._recognizer = SessionRecognition(
            session_id=session_id,
            fmt=self.fmt,
            config=config,
            transcribers=transcribers,
            executor=executor,
            status=self.recognition,
            read_audio=lambda offset, n: self.store.read((self.header_bytes or 0) + offset, n),
            on_events=self._handle,
            on_late=self._handle_late,
            on_failure=self._recognition_failed,
            on_progress=self._recognition_progress,
            clock=clock,
        )
        self._credit = AckCredit(credit_limit(server.max_recognition_backlog, self.fmt))
        self._messages = EventMessages(
            session_id, self.language, _now_iso, turn_ends=init_config.turn_ends_asked(config)
        )

        self._delivery = Delivery(
            session_id=session_id,
            ingest=self.ingest,
            clock=clock,
            confirm_timeout=server.confirm_timeout,
        )
        self.connections = 0
        # A scripted answering-machine verdict (config.Faults): when it is due, in audio time.
        self._verdict_due: float | None = None
        self._verdict_channel = 0
        self._verdict_sent = server.faults.answering_machine is None

        self._machine: StateMachine[State, Event] = StateMachine(
            "live session", State.RECORDING, _TRANSITIONS
        )
        self.ended_by: str | None = None  # why recording ended
        # Closed with 1000: nothing more goes on the socket. Not a state of the session: who
        # listens, not where the session is (it may be said at any point before the end).
        self.client_gone = False
        self._finalizer: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()  # set with State.ENDED: what the routes wait for
        self.finished_wall: float | None = None  # when it ended, as the wall clock says
        self._watchdog = Watchdog(
            clock,
            idle_timeout=server.idle_timeout,
            max_duration=server.max_duration,
            on_expired=self.finish,
        )
        self._persist()

    # --- what the REST routes and the socket read -------------------------------------------

    @property
    def state(self) -> State:
        return self._machine.state

    @property
    def recording(self) -> bool:
        return self._machine.state is State.RECORDING

    @property
    def _closing(self) -> bool:
        """The end sequence is being emitted (or was): its messages are the end result's."""
        return self._machine.state in (State.CLOSING, State.ENDED)

    @property
    def status(self) -> str:
        """queued → processing (a client connected) → done, or error (recognition failed)."""
        return self.result.status

    @status.setter
    def status(self, status: str) -> None:
        self.result.status = status

    @property
    def completed_at(self) -> str | None:
        return self.result.completed_at

    @property
    def post_session_metadata(self) -> dict[str, Any]:
        return self.result.post_session_metadata

    @post_session_metadata.setter
    def post_session_metadata(self, metadata: dict[str, Any]) -> None:
        self.result.post_session_metadata = metadata
        self._persist()

    @property
    def failed(self) -> bool:
        """Whether recognition failed (the session ends in status error)."""
        return self._recognizer.failed

    def _persist(self) -> None:
        """`session.json`: what a restarted server needs to find the session again."""
        self.files.save_meta(session_meta(self))

    @property
    def connection(self) -> ClientSocket | None:
        return self._delivery.connection

    @property
    def room(self) -> asyncio.Event:
        """Set while the outbox backlog allows reading more from the client."""
        return self._delivery.room

    @property
    def finished_at(self) -> float | None:
        """When the session ended, on the clock."""
        return self._delivery.ended_at

    @property
    def audio_bytes(self) -> int:
        return self.ingest.committed - (self.header_bytes or 0)

    @property
    def audio_duration(self) -> float:
        return self.fmt.seconds(self.audio_bytes - self.audio_bytes % self.fmt.frame_bytes)

    def describe(self) -> dict[str, Any]:
        """The session as `GET /v2/live/{id}` shows it."""
        return self.result.describe(
            audio_duration=self.audio_duration,
            failed=self._recognizer.failed,
            local_server={**self._recognizer.describe(), "ended_by": self.ended_by},
        )

    # --- audio -------------------------------------------------------------------------

    def receive_audio(self, connection: ClientSocket, chunk: bytes) -> None:
        """A chunk from `connection`: placed on the stream (perhaps later, see ingest) and
        acknowledged; refused when recording has stopped; ignored from a superseded one."""
        if connection is not self.connection:
            return
        if not self.recording:
            self.send_acknowledgment(connection, None)
            return
        self._watchdog.audio_arrived()
        self._placed(self.ingest.receive(chunk))

    def resume_hint(self, connection: ClientSocket, offset: int) -> None:
        """The client said where the bytes it is about to send start (see ingest)."""
        if connection is self.connection and self.recording:
            self._placed(self.ingest.hint(offset))

    def _placed(self, placed: list[Received]) -> None:
        for received in placed:
            self._keep(received)
            self._acknowledge(self._credit.offer(received, self._recognised_offset()))

    def _recognised_offset(self) -> int:
        """Where recognition is on the session stream (bytes, the header included)."""
        return (self.header_bytes or 0) + self._recognizer.recognised

    def _recognition_progress(self) -> None:
        """Recognition advanced: the acknowledgments held for it that may go out now."""
        if self._credit.holding:
            # The client waits for us meanwhile: that is not a session gone idle.
            self._watchdog.audio_arrived()
        self._acknowledge(self._credit.progress(self._recognised_offset()))

    def _acknowledge(self, chunks: list[Received]) -> None:
        connection = self.connection
        if connection is not None:
            for received in chunks:
                self.send_acknowledgment(connection, received)

    def _flush_ingest(self) -> None:
        """Decide where held bytes belong now (the stream is about to end)."""
        self._placed(self.ingest.flush())
        if self.ingest.guessed_resumes or self.ingest.unmatched_resumes:
            log.warning(
                "session %s: %d resume(s) placed by rule, %d matching no candidate",
                self.id,
                self.ingest.guessed_resumes,
                self.ingest.unmatched_resumes,
            )

    def _keep(self, received: Received) -> None:
        fresh = received.fresh
        if self.header_bytes is None and fresh:
            self.header_bytes = find_wav_data(fresh) or 0
            audio = fresh[self.header_bytes :]
        else:
            audio = fresh
        self.store.append(fresh)
        if audio:
            if not self._recording_started:
                self._recording_started = True
                self.emit("start_recording")
            self._recognizer.put(len(audio))
            self._maybe_send_verdict()

    def send_acknowledgment(self, connection: ClientSocket, received: Received | None) -> None:
        if connection is not self.connection or not self._flags["receive_acknowledgments"]:
            return
        faults = self._server.faults
        if faults.withhold_acks and received is not None:
            return
        message = chunk_acknowledgment(
            self.id, _now_iso(), received, header=self.header_bytes or 0, fmt=self.fmt
        )
        ack_end = received.end if received is not None else None
        item = Outgoing(_compact(message), Kind.ACK, ack_end)
        if faults.ack_delay > 0 and received is not None:
            self._delivery.put_later(self._clock.now() + faults.ack_delay, connection, item)
        else:
            self._post(item)

    # --- recogniser events → messages --------------------------------------------------

    def _handle(self, events: list[ChannelEvent]) -> None:
        for message in self._messages.messages(events):
            final = final_utterance(message)
            if final is None:
                self._send(message)
                if message["type"] == "speech_start" and self._verdict_due is None:
                    # After the speech_start it follows (recognition may be far enough
                    # behind the audio that the verdict is due at once).
                    self._verdict_due = message["data"]["time"] + ANSWERING_MACHINE_WINDOW
                    self._verdict_channel = int(message["data"]["channel"])
                    self._maybe_send_verdict()
                continue
            utterance_id, utterance = final
            self.recognition.heard(utterance["language"])  # before the message is seen
            self._send(message)
            self.files.utterances.append_json(utterance)  # for the end result
            self.addons.final(utterance_id, utterance)

    def _maybe_send_verdict(self) -> None:
        """The scripted answering-machine verdict, once its window of audio has come in."""
        due = self._verdict_due
        verdict = self._server.faults.answering_machine
        if self._verdict_sent or verdict is None or due is None or self.audio_duration < due:
            return
        self._verdict_sent = True
        kind, confidence = verdict
        data = {"kind": kind, "confidence": confidence, "time": round(due, 3)}
        self.emit("answering_machine", data={**data, "channel": self._verdict_channel})

    def _handle_late(self, events: list[ChannelEvent]) -> None:
        """Late partials (whisper's): shown only while their utterance is the open one
        (speech_start handled, final not yet); those that lost the race are dropped."""
        if not self.finished.is_set():
            self._handle(
                [
                    (channel, event)
                    for channel, event in events
                    if isinstance(event, Hypothesis) and self._messages.is_open(channel, event)
                ]
            )

    def _recognition_failed(self, message: str) -> None:
        """An `error` message; the session then ends normally with what was transcribed,
        in status `error` (error_code 500)."""
        self.emit(
            "error",
            error={"message": message},
            data={"code": "recognition_failed", "message": message},
        )

    # --- delivery ------------------------------------------------------------------------

    def _post(self, item: Outgoing) -> None:
        """The one way out to the client: the outbox, which `Delivery` writes (and writes
        again on a new connection until a pong confirms it)."""
        self._delivery.put(item)

    def emit(self, message_type: str, **fields: Any) -> None:
        """Send a message to the client (as messages_config allows) and to the callback."""
        self._send(build_message(message_type, self.id, _now_iso(), **fields))

    def _emit_stored(self, message_type: str, data: Callable[[], Iterable[str]]) -> None:
        """`emit(message_type, data=…)` of data serialised piece by piece: the message is
        written to the message log (result.messages) as it is built, and sent from there."""
        flag = gating_flag(message_type, True)
        if flag is not None and not self._flags.get(flag, False):
            return
        envelope = _compact(build_message(message_type, self.id, _now_iso()))

        def pieces() -> Iterator[str]:
            yield f'{envelope[:-1]},"data":'
            yield from data()
            yield "}"

        stored = self.result.remember_pieces(pieces())
        if stored is not None and not self.client_gone:
            self._post(Outgoing("", Kind.MESSAGE, stored=stored))

    def _send(self, message: dict[str, Any]) -> None:
        if self._on_callback is not None:
            self._on_callback(self, message)
        is_final = is_final_message(message)
        flag = gating_flag(message["type"], is_final)
        if flag is not None and not self._flags.get(flag, False):
            return
        text = _compact(message)
        if is_final:
            self.result.remember(text, closing=self._closing)
        if not self.client_gone:
            self._post(Outgoing(text, Kind.MESSAGE if is_final else Kind.PARTIAL))

    @property
    def reconnectable(self) -> bool:
        if self.client_gone:
            return False
        ended_at = self._delivery.ended_at
        return ended_at is None or self._clock.now() < ended_at + self._server.linger

    def attach(self, connection: ClientSocket) -> None:
        """A client connected to the session's URL (the first time, or to resume)."""
        previous = self._delivery.attach(connection)
        self._credit.clear()  # the client re-sends what it did not see acknowledged
        if (
            not self.recording
            or not self._flags["receive_acknowledgments"]
            or (self._server.faults.withhold_acks)
        ):
            self._delivery.release()  # no acknowledgment to wait for: re-deliver at once
        if previous is not None:
            self._loop.create_task(previous.close(SUPERSEDED, "another connection took over"))
        self.connections += 1
        self.ingest.new_connection()
        self._watchdog.audio_arrived()
        if self.status == "queued":
            self.status = "processing"

    def backlogged(self, connection: ClientSocket) -> bool:
        """Whether `connection`'s reader should wait for the outbox to drain."""
        return self._delivery.backlogged(connection)

    def detach(self, connection: ClientSocket, close_code: int | None) -> None:
        """The connection ended; `close_code` is the client's, None when it did not close."""
        if connection is not self.connection:
            return
        if close_code == NORMAL and not self.finished.is_set():
            # Gladia's documented alternative to stop_recording: finish in the background.
            self._flush_ingest()
            self.client_gone = True
            self._delivery.clear()
            self.finish("client closed with 1000")
        self._delivery.detach(connection)

    def pong(self, connection: ClientSocket, payload: bytes) -> None:
        """A pong on `connection`: what it confirms was delivered."""
        self._delivery.pong(connection, payload)

    async def deliver(self, connection: ClientSocket) -> None:
        """Write the outbox to `connection` until it is replaced or the end is confirmed."""
        await self._delivery.deliver(connection)

    async def flush_outbox(self) -> None:
        """Write what is due to the current connection (before a shutdown closes it)."""
        await self._delivery.flush()

    # --- the end -------------------------------------------------------------------------

    def stop(self) -> dict[str, Any]:
        """`stop_recording` from the client: its acknowledgment, and the end begins."""
        ack = stop_acknowledgment(
            self.id,
            _now_iso(),
            recording=self.recording,
            duration=self.audio_duration,
            left_to_process=self._recognizer.lag,
        )
        if self.recording:
            self.finish("stop_recording")
        return ack

    def send_stop_acknowledgment(self, connection: ClientSocket) -> bool:
        """`stop_recording` from `connection`; False when it was refused (already stopped)."""
        if connection is not self.connection:
            return True  # from a superseded connection: not the client's word any more
        if self.recording:
            self._flush_ingest()  # held bytes are placed (and acknowledged) before the stop
            self._acknowledge(self._credit.release_all())
        ack = self.stop()
        if self._flags["receive_acknowledgments"]:
            # The ack goes ahead of the end sequence the stop just started; it is a
            # closing message the client must get, so it is re-delivered like one.
            self._post(Outgoing(_compact(ack)))
        return bool(ack["acknowledged"])

    def finish(self, reason: str) -> None:
        """End recording and run post-processing (once, whatever asks first)."""
        first = self.recording
        self._machine.fire(Event.FINISH)
        self._acknowledge(self._credit.release_all())  # everything received is stored
        self._delivery.release()  # no more acknowledgments: a held re-delivery goes
        if first:
            self.ended_by = reason
            log.info("session %s: ending (%s)", self.id, reason)
            self._finalizer = self._loop.create_task(self._finalize())

    async def _finalize(self) -> None:
        self._watchdog.cancel()
        if self.ingest.deciding:
            self._flush_ingest()
        await self._recognizer.finish()
        await self.addons.drain()  # the last finals' add-ons come before end_recording
        self.store.finish()  # no more audio: release the file descriptor
        self._machine.fire(Event.END_SEQUENCE)
        self.emit("end_recording", data={"recording_duration": round(self.audio_duration, 3)})
        if self._server.faults.slow_finish:
            await self._clock.sleep_until(self._clock.now() + self._server.faults.slow_finish)
        await self.result.produce(
            emit=self.emit,
            # The end messages as text when no callback wants them as objects.
            emit_stored=self._emit_stored
            if self._on_callback is None or not self.config.get("callback")
            else None,
            addons=self.addons,
            languages=self.recognition.languages or [self.language],
            audio_duration=self.audio_duration,
            # From the session's creation to its results, post-processing included.
            elapsed=lambda: self._clock.now() - self._watchdog.started,
        )
        self.result.completed(_now_iso(), error_code=self._error_code())
        self._delivery.end()
        self._machine.fire(Event.ENDED)
        self.finished.set()
        self.finished_wall = time.time()
        self._persist()
        log.info(
            "session %s: done, %.2f s of audio, %d utterances",
            self.id,
            self.audio_duration,
            self.files.utterances.count,
        )

    def _error_code(self) -> int | None:
        if self._recognizer.failed:
            return 500
        if self.ended_by is not None and self.ended_by.startswith(IDLE_REASON):
            # The client went away without stop_recording or a close: what it may have sent
            # after the last byte stored is not here. Never `done` with a short recording.
            return ABANDONED
        return None

    async def close(self, *, shutting_down: bool = False, keep_files: bool = False) -> None:
        """Forget the session (DELETE, eviction, or server shutdown: then 1001); its files
        go, unless `keep_files` (a shutdown that keeps its --data-dir)."""
        self._watchdog.cancel()
        if self._finalizer is not None and not self._finalizer.done():
            self._finalizer.cancel()
        self._delivery.cancel()
        self.addons.cancel()
        await self._recognizer.close()
        connection = self.connection
        if connection is not None:
            self._delivery.connection = None
            if shutting_down:
                await connection.close(GOING_AWAY, "server shutting down")
            else:
                await connection.close(NORMAL, "session deleted")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(connection.wait_closed(), timeout=CLOSE_REPLY_SECONDS)
        if keep_files:
            self.files.finish()  # what was buffered reaches the disk; no descriptor held
        else:
            self.files.delete()
