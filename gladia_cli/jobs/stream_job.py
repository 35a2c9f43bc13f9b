"""One streaming job, for `file`, `live` and `mix` alike: init, stream, stop, drain, render.

Threads: a pump reads the source and sends audio; the stream's receiver thread reads
messages; the main thread handles signals and refreshes the status. The first Ctrl-C (or
SIGTERM, or the end of the source) stops the source, sends `stop_recording`, and the job
keeps rendering until the server has finished post-processing and closed with 1000. A
second Ctrl-C aborts at once (exit 130); the server then finishes the session in the
background, so nothing sent is lost.

Waiting is tied to progress, not to the clock: the job gives up only when the server, while
awaited (audio not yet acknowledged, or the results after the stop), showed no progress (no
acknowledgment, no new message) for `--stop-timeout` seconds. A server that is slow but
working — behind on recognition, long post-processing — is waited for.

Where the server is, is not decided here: the settings name it, and the caller may hand in
`server_for` (the embedded `--local` server: cli/local_server.py), entered once the signals
are handled.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gladia_cli.audio import codecs
from gladia_cli.audio.pacing import paced
from gladia_cli.audio.source import AudioSource
from gladia_cli.audio.wav import WavWriter
from gladia_cli.client.api import CreatedSession, LiveApi
from gladia_cli.client.connection import WebSocketClientConnector
from gladia_cli.client.spill import TemporaryFileOverflow
from gladia_cli.client.stream import LiveStream, StreamEnd
from gladia_cli.errors import Aborted, GladiaError, NetworkError
from gladia_cli.jobs.server import ServerFor
from gladia_cli.jobs.session_figures import SessionFigures
from gladia_cli.jobs.signals import JobSignals
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.client_session import result_utterances
from gladia_cli.protocol.messages import ServerMessage, Transcript
from gladia_cli.protocol.resume import ResumeBuffer
from gladia_cli.recording import RecordingWriter, secrets_of
from gladia_cli.render.base import Renderer, SessionOutcome, StatusView
from gladia_cli.render.notices import Notices
from gladia_cli.render.output import OutputClosed
from gladia_cli.settings import Settings


@dataclass(frozen=True)
class StreamJob:
    settings: Settings
    body: dict[str, Any]  # the init body, complete
    source: AudioSource
    wire: AudioFormat  # what goes on the socket
    renderer: Renderer
    pace: float | None = 1.0  # None: as fast as possible
    chunk_ms: int = 100
    use_base64: bool = False
    stop_timeout: float = 120.0  # seconds without progress while the server is awaited
    save_audio: Path | None = None
    live_source: bool = False  # a microphone: its audio cannot wait for the network
    backlog_seconds: float = 300.0  # unacknowledged audio kept in memory; the rest on disk
    dead_after: float = 10.0  # seconds without a frame before a connection is given up
    record: Path | None = None  # --record: every server message, timed (recording.py)
    labels: tuple[str, ...] = ()  # the channels' names, for the recording
    # 429 on POST /v2/live raises SessionLimitReached at once (a run over many inputs
    # queues the input) instead of being retried here.
    raise_on_session_limit: bool = False
    # The renderer reads no utterance's words (text, jsonl, json): messages are parsed
    # without them, so a long session's end messages cost no memory for them.
    lean_messages: bool = False
    # Called with the server's settings and the session's id once the session is done (and
    # the run's verdict is 0), while the server is still there (--local's embedded one):
    # `--speakers`' pre-recorded job over the session's recording (jobs/speakers.py).
    after_session: Callable[[Settings, str], None] | None = None


def run_stream_job(
    job: StreamJob,
    notices: Notices,
    signals: JobSignals | None = None,
    *,
    server_for: ServerFor = contextlib.nullcontext,
) -> int:
    """`signals`: an ExternalSignals when run from a worker thread; by default the job
    handles SIGINT, SIGTERM and SIGHUP itself (it then runs in the main thread).
    `server_for`: the server for the job's duration (its settings returned).

    The job's renderer is closed once, on every path: by the run where its output ends
    (before the summary; before an abort's hint), else when the job ends."""
    run: StreamRun | None = None
    try:
        with signals or JobSignals() as handled, server_for(job.settings) as settings:
            api = LiveApi(
                settings,
                notice=notices.warning,
                raise_on_session_limit=job.raise_on_session_limit,
            )
            created = api.create_session(job.body)
            recorder = _recorder(job, settings, created)
            try:
                run = StreamRun(job, api, created, notices, handled, recorder)
                code = run.run()
            finally:
                if recorder is not None:
                    recorder.close()
            if code == 0 and job.after_session is not None:
                job.after_session(settings, created.id)
            return code
    finally:
        if run is not None:
            run.close_renderer()
        else:
            job.renderer.close()


def _recorder(
    job: StreamJob, settings: Settings, created: CreatedSession
) -> RecordingWriter | None:
    if job.record is None:
        return None
    writer = RecordingWriter.create(job.record, secrets=secrets_of(settings.api_key, created.url))
    writer.header(session_id=created.id, channels=job.wire.channels, labels=job.labels)
    return writer


def result_hint(
    why: str, session_id: str, *, local: bool, record: Path | None = None, then: str = ""
) -> str:
    """Where a session's result can be read after this command: the server keeps it
    (`why: gladia sessions get ID`), unless it is the embedded --local server, which stops
    with this command and its sessions with it: then what was kept is named (--record), or
    that the rest is lost is said plainly. `then`: what else to do, with --local."""
    if not local:
        return f"{why}: gladia sessions get {session_id}"
    lost = "the local server stopped with gladia, and the session with it"
    if record is not None:
        kept = f"{lost}; every message received is in {record} (gladia replay {record})"
        return f"{kept}; {then}" if then else kept
    keep = then or "keep what arrives with --record FILE.jsonl"
    return f"{lost}: what was shown is all there is; {keep}, or run `gladia serve`"


def _finals_expected(body: dict[str, Any]) -> bool:
    messages = body.get("messages_config") or {}
    return bool(messages.get("receive_final_transcripts", True))


class Pump:
    """Reads the source (paced), sends each block, saves it; stops the stream at the end."""

    def __init__(self, job: StreamJob, stream: LiveStream, saver: WavWriter | None) -> None:
        self._job = job
        self._stream = stream
        self._saver = saver
        self.error: GladiaError | None = None
        self.exhausted = False  # the source ended by itself (not stopped)
        self._thread = threading.Thread(target=self._run, name="gladia-pump", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        source = self._job.source
        rate = source.format.sample_rate
        frames = max(1, rate * self._job.chunk_ms // 1000)
        try:
            for block in paced(source.blocks(frames), rate, self._job.pace):
                data = codecs.encode(block, self._job.wire)
                if not self._stream.send_audio(data, wait=not self._job.live_source):
                    break  # stopped: the saved audio stays exactly what was sent
                if self._saver is not None:
                    self._saver.write(data)
            else:
                self.exhausted = True
        except GladiaError as exc:
            self.error = exc  # reported after the transcript of what was read
        except Exception as exc:
            self.error = GladiaError(f"reading {source.description} failed: {exc}")
        finally:
            self._stream.stop()


class StreamRun:
    """A created session, from its first audio to its verdict. The phases are methods:
    open, stream until the end (the drain after a stop included), release, the result
    check, the summary, the verdict; what they share is here as attributes."""

    def __init__(
        self,
        job: StreamJob,
        api: LiveApi,
        created: CreatedSession,
        notices: Notices,
        signals: JobSignals,
        recorder: RecordingWriter | None = None,
    ) -> None:
        self.job = job
        self.api = api
        self.created = created
        self.notices = notices
        self.signals = signals
        self.recorder = recorder
        self.renderer = job.renderer
        self.renderer_closed = False
        self.finals = 0  # counted, not kept: renderers keep what they need
        self.server_errors: list[str] = []  # `error` messages: the run cannot end with 0
        self.figures = SessionFigures(job.wire)  # lags and billed time
        self.interrupted = False  # stopped by a signal
        self.said_behind = False  # the notice that the server is behind, said once
        # The session's result does not provably hold all the audio sent (said at the end).
        self.unverified: GladiaError | None = None
        memory = int(job.backlog_seconds * job.wire.bytes_per_second)
        self.stream = LiveStream(
            created.url,
            fmt=job.wire,
            connect=WebSocketClientConnector(send_timeout=job.dead_after),
            on_message=self.on_message,
            notice=notices.warning,
            use_base64=job.use_base64,
            dead_after=job.dead_after,
            backlog=ResumeBuffer(memory_limit=memory, overflow=TemporaryFileOverflow),
            reconcile=_finals_expected(job.body),
            lean=job.lean_messages,
            on_sent=self.figures.sent,
        )
        self.saver = WavWriter(job.save_audio, job.wire) if job.save_audio else None
        self.pump = Pump(job, self.stream, self.saver)

    def run(self) -> int:
        """0 when the whole result is there; otherwise the error that says what is not."""
        try:
            self.open()
            end = self.stream_until_end()
        except Aborted:
            self.stream.close()
            self.close_renderer()  # the table keeps what was shown, and the hint goes below it
            if self.signals.on_first is not None:  # streaming had started
                self.notices.warning(
                    "aborted; "
                    + self.result_later("the server finishes the session in the background")
                )
            raise
        except OutputClosed:
            self.stream.close()
            return 0
        finally:
            self.release()
        try:
            self.finish(end)
        except OutputClosed:
            return 0
        finally:
            self.close_renderer()
        self.summary()
        self.verdict(end)
        return 0

    def close_renderer(self) -> None:
        """The renderer's output ends here (once: the job closes it too, on every path)."""
        if not self.renderer_closed:
            self.renderer_closed = True
            self.renderer.close()

    def on_message(self, message: ServerMessage) -> None:
        """Every message delivered (the receiver thread, and the result check)."""
        if self.recorder is not None:
            self.recorder.message(message)
        self.figures.message(message)
        if isinstance(message, Transcript) and message.is_final:
            self.finals += 1
        elif message.type == "error":
            self.server_errors.append(message.error_message or "unspecified error")
        self.renderer.message(message)

    def view(self) -> StatusView:
        wire, stats = self.job.wire, self.stream.stats
        sent = wire.seconds(stats.sent_bytes)
        duration = self.job.source.duration
        lags = self.figures.lags()
        return StatusView(
            state=stats.state,
            session_id=self.created.id,
            sent_seconds=sent,
            acked_seconds=wire.seconds(stats.acked_bytes),
            reconnects=stats.reconnects,
            progress=min(1.0, sent / duration) if duration else None,
            final_lag=lags.final_last,
            partial_lag=lags.partial_last,
        )

    def result_later(self, why: str, *, local: str = "") -> str:
        return result_hint(
            why, self.created.id, local=self.job.settings.local, record=self.job.record, then=local
        )

    def first_signal(self) -> None:
        self.notices.info("stopping: waiting for the final transcripts (Ctrl-C again to abort)")
        self.job.source.stop()
        # At once, even during an outage: stop_recording goes after what is queued.
        self.stream.stop()

    def open(self) -> None:
        """Connect, then stream: from here on the first signal stops gracefully."""
        job, wire = self.job, self.job.wire
        self.stream.open()
        self.signals.on_first = self.first_signal
        self.notices.info(
            f"streaming {job.source.description} ({wire.sample_rate} Hz, "
            f"{wire.channels} channel{'s' if wire.channels > 1 else ''}), "
            f"session {self.created.id}"
        )
        self.renderer.start(self.created.id)
        self.pump.start()

    def stream_until_end(self) -> StreamEnd:
        """Until the server closes, or makes no progress for `--stop-timeout` s while awaited."""
        end: StreamEnd | None = None
        while end is None:
            end = self.stream.wait(0.25)
            if end is None:
                self._check_progress()
            for warning in self.job.source.take_warnings():
                self.notices.warning(warning)
            self.renderer.status(self.view())
        if self.stream.output_failure is not None:
            raise self.stream.output_failure
        self.interrupted = self.signals.count > 0
        return end

    def _check_progress(self) -> None:
        """Say once that the server is behind; give up on one that stopped making progress."""
        if self.stream.behind and not self.said_behind:
            self.said_behind = True
            text = "the server is behind: it holds back its acknowledgments until it catches up"
            if self.job.live_source:
                self.notices.warning(f"{text}; the audio waits in memory meanwhile")
            else:
                self.notices.info(f"{text}; sending at its pace")
        idle = self.stream.seconds_without_progress()
        if idle is None or idle <= self.job.stop_timeout:
            return
        stopped = self.stream.stop_requested
        self.stream.close()
        waited_for = "the end of the session" if stopped else "acknowledgments of the audio"
        raise NetworkError(
            f"the server made no progress for {self.job.stop_timeout:g} s "
            f"(waiting for {waited_for})",
            hint=self.result_later(
                "the result may come later", local="allow more time with --stop-timeout"
            ),
        )

    def release(self) -> None:
        """However the streaming ended: the source, the saved audio, the connection."""
        self.job.source.stop()
        if self.saver is not None:
            self.saver.close()
        self.stream.release()
        self.renderer.status(self.view())

    def finish(self, end: StreamEnd) -> None:
        """The renderer's last word, with the session's result when it needs one, or when
        the live finals or the audio the server kept must be checked against it."""
        outcome = SessionOutcome(status=self.view())
        if end.error is not None:
            self.renderer.finish(outcome)
            raise end.error
        stream = self.stream
        if self.renderer.needs_result or stream.needs_result_check or stream.result_unchecked:
            outcome.result = self.result_checked()
            self.figures.result(outcome.result)
        self.renderer.finish(outcome)

    def result_checked(self) -> dict[str, Any] | None:
        """The session's result; when no end message checked the live finals (the end messages
        are off, and a connection dropped), also the check, and the finals it recovers; when
        no end message said how much audio the result holds, that check (`self.unverified`,
        raised by the verdict once the transcript is written)."""
        stream = self.stream
        check = stream.needs_result_check
        hint = self.result_later("the whole result may be there")
        try:
            result = self.api.wait_until_done(self.created.id, timeout=self.job.stop_timeout)
        except GladiaError as exc:
            if check:
                raise NetworkError(
                    f"could not check that the transcript is complete ({exc.message})", hint=hint
                ) from None
            if self.renderer.needs_result:
                raise
            self.unverified = NetworkError(
                f"could not check that the server kept all the audio ({exc.message})", hint=hint
            )
            return None
        utterances = result_utterances(result.get("result"))
        if check and utterances is None:
            raise NetworkError(
                "could not check that the transcript is complete: the session result "
                f"has no transcription (status {result.get('status')!r})",
                hint=hint,
            )
        if check or stream.result_unchecked:
            # The session's end list, fetched anyway: the live finals are checked against it
            # as against post_transcript (a final the server never sent is recovered).
            for message in stream.recover_finals(utterances):
                self.on_message(message)
        if stream.result_unchecked:
            self.unverified = stream.check_result(result)
        for text in stream.take_notices():
            self.notices.warning(text)
        return result

    def summary(self) -> None:
        wire, stats, finals = self.job.wire, self.stream.stats, self.finals
        parts = [
            f"{wire.seconds(stats.sent_bytes):.1f} s of audio",
            f"{finals} utterance{'s' if finals != 1 else ''}",
        ]
        parts += self.figures.summary_parts()
        if stats.reconnects:
            parts.append(
                f"{stats.reconnects} reconnect{'s' if stats.reconnects > 1 else ''} "
                f"({wire.seconds(stats.replayed_bytes):.1f} s re-sent)"
            )
        if stats.duplicates_dropped:
            parts.append(f"{stats.duplicates_dropped} re-delivered messages dropped")
        if stats.recovered_finals:
            parts.append(f"{stats.recovered_finals} finals recovered")
        if self.interrupted:
            parts.append("stopped by signal")
        self.notices.info(f"session {self.created.id} done: " + ", ".join(parts))

    def verdict(self, end: StreamEnd) -> None:
        """Raises unless the whole result is there: exit 0 is never a silent loss."""
        if self.pump.error is not None:
            raise self.pump.error
        if self.server_errors:
            # What was transcribed was rendered; that it is incomplete must not look like success.
            raise NetworkError(
                f"the server reported an error: {self.server_errors[0]}",
                hint=self.result_later("the session's result may be incomplete"),
            )
        if self.unverified is not None:
            raise self.unverified
        if end.by_server_before_stop and not self.pump.exhausted and not self.interrupted:
            raise NetworkError(
                "the server ended the session before all the audio was sent",
                hint="it may have reached its maximum duration; the rest was not transcribed",
            )
