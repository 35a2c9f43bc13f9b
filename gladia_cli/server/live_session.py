"""One live session on the local server: its audio, its transcription, its messages, its end.

A session outlives its connections: a client may drop and reconnect to the same URL, and
nothing is lost either way. Audio is placed on the session stream by `AudioIngest` (re-sent
bytes are kept once), stored on disk, and transcribed on a worker thread. Messages go
through one ordered `Outbox`; what a dropped connection did not confirm (by answering a
ping) is delivered again on the next one (acknowledgments excepted: they belong to the
connection that carried the audio). Only the current connection is listened to: frames
still arriving on a superseded one are ignored.

The end follows protocol.md §4.2: stop ack → remaining finals and add-ons → end_recording →
post_transcript → post_summarization / post_chapterization → post_final_transcript →
end_session → close 1000, once the client confirmed it has everything (or after
`confirm_timeout`). A session also ends when its client closes with 1000 without
stopping (finished in the background), when no audio came for `idle_timeout` seconds, and
after `max_duration` seconds of recording. Every timer runs on the injected `Clock`.

`result.messages` keeps what was sent except partials and acknowledgments, at most
`MAX_RESULT_MESSAGES` of them (the closing messages always). It, the final utterances and
the end result are kept on disk with the audio (see session_files.py), not in memory: a
long session's memory stays flat, and a stored session costs only a few objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime
from typing import Any, Protocol

from gladia_cli.audio.wav_stream import find_wav_data
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.closing import GOING_AWAY, INTERNAL_ERROR, NORMAL, SUPERSEDED
from gladia_cli.protocol.messages import (
    build_message,
    gating_flag,
    is_final_message,
    iso_timestamp,
)
from gladia_cli.server.addons.runner import AddonRunner, SessionAddons
from gladia_cli.server.clock import Clock
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.engines.base import (
    ChannelSettings,
    Hypothesis,
    SpeechEnded,
    SpeechStarted,
)
from gladia_cli.server.ingest import AudioIngest, Received
from gladia_cli.server.outbox import Kind, Outbox, Outgoing
from gladia_cli.server.recognition_status import RecognitionStatus
from gladia_cli.server.session_files import SessionFiles
from gladia_cli.server.transcriber import ChannelEvent
from gladia_cli.server.transcriber_pool import SessionTranscriber, TranscriberFactory
from gladia_cli.server.utterances import utterance_of

log = logging.getLogger("gladia.server")

STOPPED_CHUNK = "Recording is stopped, audio chunk ignored"
# Messages kept for `result.messages` (partials and acknowledgments are never kept); the
# closing messages are kept past it. A flood of client errors cannot grow a session.
MAX_RESULT_MESSAGES = 50_000
# Messages waiting to be written before the session stops reading its client: a client
# that sends without reading would otherwise make the server queue acknowledgments (each
# bigger than a tiny chunk) without end. Reading resumes below half of it.
MAX_BACKLOG = 2000


class ClientSocket(Protocol):
    """What a session needs of a WebSocket connection."""

    async def send_text(self, text: str) -> None: ...

    async def ping(self, payload: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...

    async def wait_closed(self) -> None: ...

    @property
    def answered_close(self) -> bool:
        """The client answered our close frame (so it read everything before it)."""
        ...


def _now_iso() -> str:
    return iso_timestamp(datetime.now(UTC))


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
        addons: AddonRunner,
        on_callback: Callable[[LiveSession, dict[str, Any]], None] | None = None,
    ) -> None:
        self.id = session_id
        self.owner = owner  # a digest of the key that created the session
        self.token = token
        self.request_id = request_id
        self.config = config
        self.created_at = _now_iso()
        self.completed_at: str | None = None
        self.status = "queued"
        self.post_session_metadata: dict[str, Any] = {}
        self.fmt = AudioFormat.from_config(config)
        self._flags: dict[str, bool] = config["messages_config"]
        self._transcribers = transcribers
        self._server = server
        self._executor = executor
        self._on_callback = on_callback
        self._loop = asyncio.get_running_loop()
        self._clock = clock

        self.files = SessionFiles(store_directory)
        self.store = self.files.audio
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
        self._transcriber: SessionTranscriber | None = None
        self._recognition_failed = False
        # Lag, failure and the languages heard (see recognition_status.py).
        self.recognition = RecognitionStatus(limit=server.max_recognition_backlog)
        # Set while recognition keeps up: the socket's reader waits on it (see websocket.py).
        self.recognition_room = asyncio.Event()
        self.recognition_room.set()
        self._audio: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._queued_bytes = 0
        self._processor: asyncio.Task[None] | None = None

        self.connection: ClientSocket | None = None
        self.connections = 0
        self._outbox = Outbox()
        self._outbox_changed = asyncio.Event()
        self.room = asyncio.Event()  # set while the outbox backlog allows reading more
        self.room.set()
        self._delayed_acks: deque[tuple[float, ClientSocket, Outgoing]] = deque()
        self._ack_releaser: asyncio.Task[None] | None = None
        self.messages_dropped = 0  # past MAX_RESULT_MESSAGES, not kept for the result

        self.recording = True
        self.client_gone = False  # closed with 1000: nothing more goes on the socket
        self._finalizer: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()
        # After the end, a client may reconnect for a while (the last messages can be lost
        # with a dropped connection): it gets the closing messages again, then 1000.
        self._linger_until = float("inf")
        self.finished_at: float | None = None  # on the clock
        self._closing = False  # the end sequence is being emitted
        self._started = self._clock.now()
        self._last_audio = self._attached_at = self._started
        self._recording_started = False
        self._utterance_counts: dict[int, int] = {}
        self._open_utterance: dict[int, str] = {}
        self._open_start: dict[int, float] = {}  # start of each channel's open utterance
        self._watchdog = self._loop.create_task(self._watch())

    # --- audio -------------------------------------------------------------------------

    @property
    def audio_bytes(self) -> int:
        return self.ingest.committed - (self.header_bytes or 0)

    @property
    def audio_duration(self) -> float:
        return self.fmt.seconds(self.audio_bytes - self.audio_bytes % self.fmt.frame_bytes)

    def receive_audio(self, connection: ClientSocket, chunk: bytes) -> None:
        """A chunk from `connection`: placed on the stream (perhaps later, see ingest) and
        acknowledged; refused when recording has stopped; ignored from a superseded one."""
        if connection is not self.connection:
            return
        if not self.recording:
            self.send_acknowledgment(connection, None)
            return
        self._last_audio = self._clock.now()
        self._placed(self.ingest.receive(chunk))

    def resume_hint(self, connection: ClientSocket, offset: int) -> None:
        """The client said where the bytes it is about to send start (see ingest)."""
        if connection is self.connection and self.recording:
            self._placed(self.ingest.hint(offset))

    def _placed(self, placed: list[Received]) -> None:
        for received in placed:
            self._keep(received)
            if self.connection is not None:
                self.send_acknowledgment(self.connection, received)

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
            self._queued_bytes += len(audio)
            self._note_backlog()
            self._audio.put_nowait(audio)
            if self._processor is None:
                self._processor = self._loop.create_task(self._process())

    def acknowledgment(self, received: Received | None) -> dict[str, Any]:
        if received is None:
            return build_message(
                "audio_chunk",
                self.id,
                _now_iso(),
                acknowledged=False,
                error={"message": STOPPED_CHUNK},
                data=None,
            )
        header = self.header_bytes or 0
        audio_start = max(0, received.start - header)
        audio_end = max(0, received.end - header)
        bps = self.fmt.bytes_per_second
        return build_message(
            "audio_chunk",
            self.id,
            _now_iso(),
            acknowledged=True,
            error=None,
            data={
                "byte_range": [received.start, received.end],
                "time_range": [round(audio_start / bps, 6), round(audio_end / bps, 6)],
            },
        )

    def send_acknowledgment(self, connection: ClientSocket, received: Received | None) -> None:
        if connection is not self.connection or not self._flags["receive_acknowledgments"]:
            return
        faults = self._server.faults
        if faults.withhold_acks and received is not None:
            return
        message = self.acknowledgment(received)
        ack_end = received.end if received is not None else None
        item = Outgoing(json.dumps(message, separators=(",", ":")), Kind.ACK, ack_end)
        if faults.ack_delay > 0 and received is not None:
            self._delayed_acks.append((self._clock.now() + faults.ack_delay, connection, item))
            if self._ack_releaser is None:
                self._ack_releaser = self._loop.create_task(self._release_acks())
            return
        self._outbox.put(item)
        self._outbox_changed.set()

    async def _release_acks(self) -> None:
        """The ack-delay fault: each acknowledgment goes out `ack_delay` after its chunk."""
        while self._delayed_acks:
            due, connection, item = self._delayed_acks[0]
            await self._clock.sleep_until(due)
            self._delayed_acks.popleft()
            if connection is self.connection:
                self._outbox.put(item)
                self._outbox_changed.set()
        self._ack_releaser = None

    async def _process(self) -> None:
        """Feed queued audio to the recogniser, in order, batching what piled up."""
        while True:
            data = await self._audio.get()
            pieces = [] if data is None else [data]
            ended = data is None
            while not ended and not self._audio.empty():
                more = self._audio.get_nowait()
                if more is None:
                    ended = True
                else:
                    pieces.append(more)
            if pieces:
                batch = b"".join(pieces)
                await self._recognize(self._feed, batch)
                self._queued_bytes -= len(batch)
                self._note_backlog()
            if ended:
                await self._recognize(self._finish)
                return

    async def _recognize(self, call: Callable[..., list[ChannelEvent]], *args: bytes) -> None:
        if self._recognition_failed:
            return  # the audio is still kept; only its transcription stopped
        try:
            events = await self._loop.run_in_executor(self._executor, call, *args)
        except Exception as exc:
            self._recognition_failure(exc)
            return
        self._handle(events)

    def _recognition_failure(self, exc: BaseException) -> None:
        """A failing recogniser must not wedge the session, nor end it as if all was well:
        an `error` message, then the session ends normally with what was transcribed, in
        status `error` (error_code 500). No traceback unless the log level is debug."""
        if self._recognition_failed:
            return
        self._recognition_failed = True
        self.recognition.failed = f"{type(exc).__name__}: {exc}"
        log.error("session %s: recognition failed: %s", self.id, self.recognition.failed)
        log.debug("session %s: recognition failure", self.id, exc_info=exc)
        message = f"recognition failed: {exc}"
        self.emit(
            "error",
            error={"message": message},
            data={"code": "recognition_failed", "message": message},
        )

    def _late(self, item: list[ChannelEvent] | BaseException) -> None:
        """Events a recogniser delivers later, from its own thread (whisper partials)."""
        # RuntimeError: the loop is closed, the server stopped: nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._handle_late, item)

    def _handle_late(self, item: list[ChannelEvent] | BaseException) -> None:
        if isinstance(item, BaseException):
            self._recognition_failure(item)
        elif not self._recognition_failed and not self.finished.is_set():
            # A partial is shown only while its utterance is the open one (speech_start
            # handled, final not yet): late ones that lost the race are dropped.
            self._handle(
                [
                    (channel, event)
                    for channel, event in item
                    if isinstance(event, Hypothesis)
                    and self._open_start.get(channel) == event.start
                ]
            )

    def _note_backlog(self) -> None:
        """Track how far recognition is behind; block the socket's reader at the bound."""
        lag = self.fmt.seconds(self._queued_bytes)
        for line in self.recognition.observe(lag):
            # Info, not a warning: at --pace max being behind is by design (the lag is
            # also in GET /v2/live/{id}, under local_server).
            log.info("session %s: %s", self.id, line)
        if self.recognition.at_limit(lag):
            self.recognition_room.clear()
        else:
            self.recognition_room.set()

    def _feed(self, data: bytes) -> list[ChannelEvent]:
        if self._transcriber is None:
            self._transcriber = self._transcribers.open(
                self.fmt, self._channel_settings(), on_late=self._late
            )
        return self._transcriber.feed(data)

    def _finish(self) -> list[ChannelEvent]:
        transcriber, self._transcriber = self._transcriber, None  # finishing frees it
        return transcriber.finish() if transcriber is not None else []

    def _channel_settings(self) -> list[ChannelSettings]:
        pre = self.config["pre_processing"]
        languages = self.config["language_config"]
        return [
            ChannelSettings(
                channel=c,
                endpointing=float(self.config["endpointing"]),
                max_duration_without_endpointing=float(
                    self.config["maximum_duration_without_endpointing"]
                ),
                speech_threshold=float(pre["speech_threshold"]),
                languages=tuple(str(code) for code in languages.get("languages") or ()),
                code_switching=bool(languages.get("code_switching")),
                vocabulary=custom_vocabulary(self.config),
                channel_count=self.fmt.channels,
                session_id=self.id,
            )
            for c in range(self.fmt.channels)
        ]

    @property
    def language(self) -> str:
        """The language reported when the engine says none: the first one configured."""
        languages = self.config["language_config"]["languages"]
        return str(languages[0]) if languages else "en"

    # --- recogniser events → messages --------------------------------------------------

    def _handle(self, events: list[ChannelEvent]) -> None:
        for channel, event in events:
            if isinstance(event, SpeechStarted):
                count = self._utterance_counts.get(channel, 0)
                self._utterance_counts[channel] = count + 1
                self._open_utterance[channel] = f"{channel:02d}_{count:08d}"
                self._open_start[channel] = event.time
                self.emit("speech_start", data={"time": round(event.time, 3), "channel": channel})
            elif isinstance(event, SpeechEnded):
                self.emit("speech_end", data={"time": round(event.time, 3), "channel": channel})
            elif isinstance(event, Hypothesis):
                if event.is_final:
                    self._open_start.pop(channel, None)
                self._transcript(channel, event)

    def _utterance(self, channel: int, hyp: Hypothesis) -> dict[str, Any]:
        # The language recognised (detection, code switching), when the engine says.
        fallback = hyp.language or self.language
        language = self.recognition.heard(fallback) if hyp.is_final else fallback
        return utterance_of(channel, hyp, language)

    def _transcript(self, channel: int, hyp: Hypothesis) -> None:
        utterance_id = self._open_utterance.get(channel, f"{channel:02d}_00000000")
        utterance = self._utterance(channel, hyp)
        self.emit(
            "transcript",
            data={"id": utterance_id, "is_final": hyp.is_final, "utterance": utterance},
        )
        if hyp.is_final:
            self.files.utterances.append_json(utterance)
            self.addons.final(utterance_id, utterance)

    # --- delivery ------------------------------------------------------------------------

    def emit(self, message_type: str, **fields: Any) -> None:
        """Send a message to the client (as messages_config allows) and to the callback."""
        message = build_message(message_type, self.id, _now_iso(), **fields)
        if self._on_callback is not None:
            self._on_callback(self, message)
        is_final = is_final_message(message)
        flag = gating_flag(message_type, is_final)
        if flag is not None and not self._flags.get(flag, False):
            return
        text = json.dumps(message, separators=(",", ":"))
        if is_final:
            self._remember(text, closing=self._closing)
        if not self.client_gone:
            self._outbox.put(Outgoing(text, Kind.MESSAGE if is_final else Kind.PARTIAL))
            self._outbox_changed.set()

    def _remember(self, text: str, *, closing: bool = False) -> None:
        if self.files.messages.count < MAX_RESULT_MESSAGES or closing:
            self.files.messages.append(text)
            return
        if not self.messages_dropped:
            log.warning("session %s: more than %d messages", self.id, MAX_RESULT_MESSAGES)
        self.messages_dropped += 1

    @property
    def reconnectable(self) -> bool:
        if self.client_gone:
            return False
        return not self.finished.is_set() or self._clock.now() < self._linger_until

    def attach(self, connection: ClientSocket) -> None:
        """A client connected to the session's URL (the first time, or to resume)."""
        previous = self.connection
        if previous is not None:
            self._lost()  # whatever the old one still brings is ignored from now on
            self._loop.create_task(previous.close(SUPERSEDED, "another connection took over"))
        self.connection = connection
        self.connections += 1
        self.ingest.new_connection()
        self._last_audio = self._attached_at = self._clock.now()
        if self.status == "queued":
            self.status = "processing"
        self._outbox_changed.set()

    def backlogged(self, connection: ClientSocket) -> bool:
        """Whether `connection`'s reader should wait for the outbox to drain."""
        if connection is not self.connection or self._outbox.backlog < MAX_BACKLOG:
            return False
        self.room.clear()
        return True

    def _lost(self) -> None:
        self.room.set()
        self._outbox.connection_lost()
        self.ingest.connection_lost()
        self._delayed_acks.clear()

    def detach(self, connection: ClientSocket, close_code: int | None) -> None:
        """The connection ended; `close_code` is the client's, None when it did not close."""
        if connection is not self.connection:
            return
        if connection.answered_close:
            self._outbox.confirm_all()
        if close_code == NORMAL and not self.finished.is_set():
            # Gladia's documented alternative to stop_recording: finish in the background.
            self._flush_ingest()
            self.client_gone = True
            self._outbox.clear()
            self.finish("client closed with 1000")
        self.connection = None
        self._lost()

    def pong(self, connection: ClientSocket, payload: bytes) -> None:
        """A pong on `connection`: what it confirms was delivered."""
        if connection is not self.connection:
            return
        ends = self._outbox.pong(payload)
        if ends:
            self.ingest.confirmed(ends[-1])
        if ends is not None:
            self._outbox_changed.set()

    async def deliver(self, connection: ClientSocket) -> None:
        """Write the outbox to `connection` until it is replaced, pinging for confirmation;
        close it with 1000 once the session has ended and the client confirmed everything
        (or `confirm_timeout` passed: it may then reconnect and get the rest again)."""
        while connection is self.connection:
            self._outbox_changed.clear()
            item = self._outbox.next()
            try:
                if item is not None:
                    await connection.send_text(item.text)
                    if connection is not self.connection:
                        return  # replaced meanwhile: the message stays due on the next one
                    self._outbox.written(item)
                    if item.ack_end is not None:
                        self.ingest.acknowledged(item.ack_end)
                    if self._outbox.backlog < MAX_BACKLOG // 2:
                        self.room.set()
                    continue
                payload = self._outbox.ping()
                if payload is not None:
                    await connection.ping(payload)
                    continue
            except (ConnectionError, RuntimeError):
                # The connection is broken: wake its reader (it may be waiting for room)
                # so that it notices and the session lets the connection go.
                await connection.close(INTERNAL_ERROR, "write failed")
                return
            if self.finished.is_set():
                if self._outbox.delivered:
                    await connection.close(NORMAL, "session ended")
                    return
                # From the end, or from this connection when it came after the end.
                since = max(self.finished_at or 0.0, self._attached_at)
                confirm_by = since + self._server.confirm_timeout
                if self._clock.now() >= confirm_by:
                    log.info("session %s: end not confirmed, closing anyway", self.id)
                    await connection.close(NORMAL, "session ended")
                    return
                await self._wait_for_change(until=confirm_by)
            else:
                await self._outbox_changed.wait()

    async def _wait_for_change(self, until: float) -> None:
        changed = asyncio.ensure_future(self._outbox_changed.wait())
        timer = asyncio.ensure_future(self._clock.sleep_until(until))
        try:
            await asyncio.wait({changed, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (changed, timer):
                task.cancel()

    # --- the end -------------------------------------------------------------------------

    def stop(self) -> dict[str, Any]:
        """`stop_recording` from the client: its acknowledgment, and the end begins."""
        if not self.recording:
            return build_message(
                "stop_recording",
                self.id,
                _now_iso(),
                acknowledged=False,
                error={"message": "Recording is already stopped"},
                data=None,
            )
        ack = build_message(
            "stop_recording",
            self.id,
            _now_iso(),
            acknowledged=True,
            error=None,
            data={
                "recording_duration": round(self.audio_duration, 3),
                "recording_left_to_process": round(self.fmt.seconds(self._queued_bytes), 3),
            },
        )
        self.finish("stop_recording")
        return ack

    def send_stop_acknowledgment(self, connection: ClientSocket) -> bool:
        """`stop_recording` from `connection`; False when it was refused (already stopped)."""
        if connection is not self.connection:
            return True  # from a superseded connection: not the client's word any more
        if self.recording:
            self._flush_ingest()  # held bytes are placed (and acknowledged) before the stop
        ack = self.stop()
        if self._flags["receive_acknowledgments"]:
            # The ack goes ahead of the end sequence the stop just started; it is a
            # closing message the client must get, so it is re-delivered like one.
            self._outbox.put(Outgoing(json.dumps(ack, separators=(",", ":"))))
            self._outbox_changed.set()
        return bool(ack["acknowledged"])

    def finish(self, reason: str) -> None:
        """End recording and run post-processing (once, whatever asks first)."""
        self.recording = False
        if self._finalizer is None:
            log.info("session %s: ending (%s)", self.id, reason)
            self._finalizer = self._loop.create_task(self._finalize())

    async def _finalize(self) -> None:
        self._watchdog.cancel()
        if self.ingest.deciding:
            self._flush_ingest()
        if self._processor is not None:
            self._audio.put_nowait(None)
            await self._processor
        await self.addons.drain()  # the last finals' add-ons come before end_recording
        self.store.finish()  # no more audio: release the file descriptor
        self._closing = True
        self.emit("end_recording", data={"recording_duration": round(self.audio_duration, 3)})
        if self._server.faults.slow_finish:
            await self._clock.sleep_until(self._clock.now() + self._server.faults.slow_finish)
        transcription = self._transcription()
        self.emit("post_transcript", data=transcription)
        result: dict[str, Any] = {"metadata": {}, "transcription": transcription}
        await self.addons.post_process(result)
        # From the session's creation to its results, post-processing included (once).
        elapsed = self._clock.now() - self._started
        result["metadata"] = {
            "audio_duration": round(self.audio_duration, 3),
            "number_of_distinct_channels": self.fmt.channels,
            "billing_time": round(self.audio_duration * self.fmt.channels, 3),
            "transcription_time": round(elapsed, 3),
        }
        self.emit("post_final_transcript", data=result)
        self.emit("end_session")
        self.files.save_result(result)  # read back by GET: not held in memory
        self.files.finish()  # a finished session holds no file descriptor
        self.status = "error" if self._recognition_failed else "done"
        self.completed_at = _now_iso()
        self.finished_at = self._clock.now()
        self._linger_until = self.finished_at + self._server.linger
        self.finished.set()
        self._outbox_changed.set()
        log.info(
            "session %s: done, %.2f s of audio, %d utterances",
            self.id,
            self.audio_duration,
            self.files.utterances.count,
        )

    def _transcription(self) -> dict[str, Any]:
        # Read back from disk for the end only (post-processing needs them all).
        ordered = sorted(self.files.utterances.values(), key=lambda u: (u["start"], u["channel"]))
        return {
            "full_transcript": " ".join(u["text"].strip() for u in ordered),
            "languages": self.recognition.languages or [self.language],
            "utterances": ordered,
        }

    async def _watch(self) -> None:
        """Finish a session left without audio for `idle_timeout`, or past `max_duration`."""
        while self.recording:
            now = self._clock.now()
            idle_at = self._last_audio + self._server.idle_timeout
            max_at = self._started + self._server.max_duration
            if now >= max_at:
                self.finish("maximum duration reached")
                return
            if now >= idle_at:
                self.finish(f"no audio for {self._server.idle_timeout:g} s")
                return
            await self._clock.sleep_until(min(idle_at, max_at))

    # --- REST views ----------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The session as `GET /v2/live/{id}` shows it (Gladia's StreamingResponse)."""
        result = self.files.result()
        if result is not None:
            result["messages"] = list(self.files.messages.texts())
        has_audio = self.store.size > 0
        return {
            "id": self.id,
            "request_id": self.request_id,
            "version": 2,
            "status": self.status,
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "kind": "live",
            "custom_metadata": self.config.get("custom_metadata") or {},
            "error_code": 500 if self._recognition_failed else None,
            "post_session_metadata": self.post_session_metadata,
            "file": {
                "id": self.id,
                "filename": None,
                "source": None,
                "audio_duration": round(self.audio_duration, 3) if has_audio else None,
                "number_of_channels": self.fmt.channels,
            },
            "request_params": self.config,
            "result": result,
            # Not Gladia's: the local server's own view of recognition (README, "The local
            # server"). An extra key, which Gladia's clients ignore.
            "local_server": self.recognition.describe(
                self.fmt.seconds(self._queued_bytes),
                self._transcribers.skipped_partials(self.id),
            ),
        }

    async def close(self, *, shutting_down: bool = False) -> None:
        """Forget the session (DELETE, eviction, or server shutdown: then 1001)."""
        for task in (self._watchdog, self._finalizer, self._processor, self._ack_releaser):
            if task is not None and not task.done():
                task.cancel()
        self.addons.cancel()
        self.recognition_room.set()  # a reader waiting for room must not hang
        if self._transcriber is not None:
            with contextlib.suppress(Exception):
                await self._loop.run_in_executor(self._executor, self._transcriber.close)
        if self.connection is not None:
            connection, self.connection = self.connection, None
            if shutting_down:
                await connection.close(GOING_AWAY, "server shutting down")
            else:
                await connection.close(NORMAL, "session deleted")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(connection.wait_closed(), timeout=5.0)
        self.files.delete()

    async def flush_outbox(self) -> None:
        """Write what is due to the current connection (before a shutdown closes it)."""
        connection = self.connection
        while connection is not None and connection is self.connection:
            item = self._outbox.next()
            if item is None:
                return
            try:
                await connection.send_text(item.text)
            except (ConnectionError, RuntimeError):
                return
            self._outbox.written(item)


def custom_vocabulary(config: dict[str, Any]) -> tuple[str, ...]:
    """`realtime_processing.custom_vocabulary_config.vocabulary` as plain words, when on."""
    realtime = config.get("realtime_processing") or {}
    if not realtime.get("custom_vocabulary"):
        return ()
    entries = (realtime.get("custom_vocabulary_config") or {}).get("vocabulary") or ()
    words = [e.get("value", "") if isinstance(e, dict) else e for e in entries]
    return tuple(str(w).strip() for w in words if str(w).strip())
