"""One streaming job, for `file`, `live` and `mix` alike: init, stream, stop, drain, render.

Threads: a pump reads the source and sends audio; the stream's receiver thread reads
messages; the main thread handles signals and refreshes the status. The first Ctrl-C (or
SIGTERM, or the end of the source) stops the source, sends `stop_recording`, and the job
keeps rendering until the server has finished post-processing and closed with 1000, or
`--stop-timeout` passed. A second Ctrl-C aborts at once (exit 130); the server then finishes
the session in the background, so nothing sent is lost.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

from gladia_cli.audio import codecs
from gladia_cli.audio.pacing import paced
from gladia_cli.audio.source import AudioSource
from gladia_cli.audio.wav import WavWriter
from gladia_cli.client.api import CreatedSession, LiveApi
from gladia_cli.client.connection import WebSocketClientConnector
from gladia_cli.client.session_figures import SessionFigures
from gladia_cli.client.spill import TemporaryFileOverflow
from gladia_cli.client.stream import LiveStream, StreamEnd
from gladia_cli.errors import Aborted, GladiaError, NetworkError
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.client_session import result_utterances
from gladia_cli.protocol.messages import ServerMessage, Transcript
from gladia_cli.protocol.resume import ResumeBuffer
from gladia_cli.recording import RecordingWriter, secrets_of
from gladia_cli.render.base import Renderer, SessionOutcome, StatusView
from gladia_cli.render.notices import Notices
from gladia_cli.render.output import OutputClosed
from gladia_cli.settings import LOCAL_API_KEY, Settings


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
    stop_timeout: float = 120.0
    save_audio: Path | None = None
    quiet: bool = False
    live_source: bool = False  # a microphone: its audio cannot wait for the network
    backlog_seconds: float = 300.0  # unacknowledged audio kept in memory; the rest on disk
    dead_after: float = 10.0  # seconds without a frame before a connection is given up
    record: Path | None = None  # --record: every server message, timed (recording.py)
    labels: tuple[str, ...] = ()  # the channels' names, for the recording
    # 429 on POST /v2/live raises SessionLimitReached at once (a run over many inputs
    # queues the input) instead of being retried here.
    raise_on_session_limit: bool = False


class _Signals:
    """While the session is being created (POST, WebSocket connect) any SIGINT, SIGTERM or
    SIGHUP aborts at once: nothing was streamed yet. Once streaming, the first one stops
    gracefully (`on_first`), the second aborts."""

    def __init__(self) -> None:
        self.on_first: Callable[[], None] | None = None  # set when streaming starts
        self.count = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.on_first is None:
            raise Aborted("interrupted while connecting; no audio was sent")
        self.count += 1
        if self.count == 1:
            self.on_first()
        else:
            raise Aborted()

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class ExternalSignals(_Signals):
    """For a job run from a worker thread (`gladia file A B…`): signals are handled once,
    in the main thread, by whoever runs the jobs; it calls `on_first` to stop this job
    gracefully, and ends the process itself on a second signal. Nothing is installed."""

    def __enter__(self) -> _Signals:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


@contextlib.contextmanager
def local_server_for(settings: Settings) -> Iterator[Settings]:
    """With `--local`, an embedded server for the job's duration; else the settings as they are."""
    if not settings.local:
        yield settings
        return
    from gladia_cli.server.config import ServerConfig
    from gladia_cli.server.runner import LocalServer

    _quiet_embedded_server_logs(settings.local_debug)
    config = ServerConfig(port=0, engine=settings.local_engine, model=settings.local_model)
    with LocalServer(config) as server:
        yield replace(settings, api_url=server.url, api_key=settings.api_key or LOCAL_API_KEY)


def _quiet_embedded_server_logs(debug: bool) -> None:
    """The embedded server's log is not the user's output. Without --debug its warnings
    become one-line notices (cli/streaming.py) and its failures reach the user as server
    messages; with --debug the whole log goes to stderr, tracebacks included."""
    import logging
    import sys

    if not debug:
        return  # cli/streaming.py turns its warnings into one-line notices
    logger = logging.getLogger("gladia.server")
    logger.propagate = False
    logger.handlers.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("gladia: server: %(levelname)s %(message)s"))
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)


class _Pump:
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


def run_stream_job(job: StreamJob, notices: Notices, signals: _Signals | None = None) -> int:
    """`signals`: an ExternalSignals when run from a worker thread; by default the job
    handles SIGINT, SIGTERM and SIGHUP itself (it then runs in the main thread)."""
    with signals or _Signals() as handled, local_server_for(job.settings) as settings:
        api = LiveApi(
            settings,
            notice=notices.warning,
            raise_on_session_limit=job.raise_on_session_limit,
        )
        created = api.create_session(job.body)
        recorder = _recorder(job, settings, created)
        try:
            return _stream(job, api, created, notices, handled, recorder)
        finally:
            if recorder is not None:
                recorder.close()


def _recorder(
    job: StreamJob, settings: Settings, created: CreatedSession
) -> RecordingWriter | None:
    if job.record is None:
        return None
    writer = RecordingWriter.create(job.record, secrets=secrets_of(settings.api_key, created.url))
    writer.header(session_id=created.id, channels=job.wire.channels, labels=job.labels)
    return writer


def _finals_expected(body: dict[str, Any]) -> bool:
    messages = body.get("messages_config") or {}
    return bool(messages.get("receive_final_transcripts", True))


def _stream(
    job: StreamJob,
    api: LiveApi,
    created: CreatedSession,
    notices: Notices,
    signals: _Signals,
    recorder: RecordingWriter | None = None,
) -> int:
    renderer = job.renderer
    finals = [0]  # counted, not kept: renderers keep what they need
    server_errors: list[str] = []  # `error` messages: the run cannot end with 0
    figures = SessionFigures(job.wire)  # lags and billed time

    def on_message(message: ServerMessage) -> None:
        if recorder is not None:
            recorder.message(message)
        figures.message(message)
        if isinstance(message, Transcript) and message.is_final:
            finals[0] += 1
        elif message.type == "error":
            server_errors.append(message.error_message or "unspecified error")
        renderer.message(message)

    memory = int(job.backlog_seconds * job.wire.bytes_per_second)
    stream = LiveStream(
        created.url,
        fmt=job.wire,
        connect=WebSocketClientConnector(send_timeout=job.dead_after),
        on_message=on_message,
        notice=notices.warning,
        use_base64=job.use_base64,
        dead_after=job.dead_after,
        backlog=ResumeBuffer(memory_limit=memory, overflow=TemporaryFileOverflow),
        reconcile=_finals_expected(job.body),
        on_sent=figures.sent,
    )
    saver = WavWriter(job.save_audio, job.wire) if job.save_audio else None
    pump = _Pump(job, stream, saver)
    duration = job.source.duration
    stop_deadline: list[float] = []

    def view(note: str = "") -> StatusView:
        sent = job.wire.seconds(stream.stats.sent_bytes)
        lags = figures.lags()
        return StatusView(
            state=stream.stats.state,
            session_id=created.id,
            sent_seconds=sent,
            acked_seconds=job.wire.seconds(stream.stats.acked_bytes),
            reconnects=stream.stats.reconnects,
            progress=min(1.0, sent / duration) if duration else None,
            note=note,
            final_lag=lags.final_last,
            partial_lag=lags.partial_last,
        )

    def first_signal() -> None:
        notices.info("stopping: waiting for the final transcripts (Ctrl-C again to abort)")
        job.source.stop()
        # At once, even during an outage: stop_recording goes after what is queued.
        stream.stop()

    end: StreamEnd | None = None
    try:
        stream.open()
        signals.on_first = first_signal  # from here on, the first signal stops gracefully
        notices.info(
            f"streaming {job.source.description} ({job.wire.sample_rate} Hz, "
            f"{job.wire.channels} channel{'s' if job.wire.channels > 1 else ''}), "
            f"session {created.id}"
        )
        renderer.start(created.id)
        pump.start()
        while end is None:
            end = stream.wait(0.25)
            if stream.stop_requested and not stop_deadline:
                stop_deadline.append(time.monotonic() + job.stop_timeout)
            if end is None and stop_deadline and time.monotonic() > stop_deadline[0]:
                stream.close()
                raise NetworkError(
                    f"the server did not finish the session within {job.stop_timeout:g} s",
                    hint=f"the result may come later: gladia sessions get {created.id}",
                )
            for warning in job.source.take_warnings():
                notices.warning(warning)
            renderer.status(view())
        if stream.output_failure is not None:
            raise stream.output_failure
        interrupted = signals.count > 0
    except Aborted:
        stream.close()
        renderer.close()  # the table keeps what was shown, and the hint goes below it
        if signals.on_first is not None:  # streaming had started
            notices.warning(
                f"aborted; the server finishes the session in the background: "
                f"gladia sessions get {created.id}"
            )
        raise
    except OutputClosed:
        stream.close()
        return 0
    finally:
        job.source.stop()
        if saver is not None:
            saver.close()
        stream.release()
        renderer.status(view())

    outcome = SessionOutcome(status=view())
    try:
        if end.error is not None:
            renderer.finish(outcome)
            raise end.error
        if renderer.needs_result or stream.core.needs_result_check:
            outcome.result = _result_checked(job, api, created, stream, on_message, notices)
            figures.result(outcome.result)
        renderer.finish(outcome)
    except OutputClosed:
        return 0
    finally:
        renderer.close()
    _summarize(
        job=job,
        stream=stream,
        finals=finals[0],
        figures=figures,
        created=created,
        notices=notices,
        interrupted=interrupted,
    )
    if pump.error is not None:
        raise pump.error
    if server_errors:
        # What was transcribed was rendered; that it is incomplete must not look like success.
        raise NetworkError(
            f"the server reported an error: {server_errors[0]}",
            hint=f"the session's result may be incomplete: gladia sessions get {created.id}",
        )
    if end.by_server_before_stop and not pump.exhausted and not interrupted:
        raise NetworkError(
            "the server ended the session before all the audio was sent",
            hint="it may have reached its maximum duration; the rest was not transcribed",
        )
    return 0


def _result_checked(
    job: StreamJob,
    api: LiveApi,
    created: CreatedSession,
    stream: LiveStream,
    on_message: Callable[[ServerMessage], None],
    notices: Notices,
) -> dict[str, Any]:
    """The session's result; when no end message checked the live finals (the end messages
    are off, and a connection dropped), also the check, and the finals it recovers."""
    core = stream.core
    check = core.needs_result_check
    hint = f"the whole result may be there: gladia sessions get {created.id}"
    try:
        result = api.wait_until_done(created.id, timeout=job.stop_timeout)
    except GladiaError as exc:
        if not check:
            raise
        raise NetworkError(
            f"could not check that the transcript is complete ({exc.message})", hint=hint
        ) from None
    if check:
        utterances = result_utterances(result.get("result"))
        if utterances is None:
            raise NetworkError(
                "could not check that the transcript is complete: the session result "
                f"has no transcription (status {result.get('status')!r})",
                hint=hint,
            )
        for message in core.reconcile(utterances, None, "GET /v2/live/{id}"):
            on_message(message)
        pending, core.notices = core.notices, []
        for text in pending:
            notices.warning(text)
    return result


def _summarize(
    *,
    job: StreamJob,
    stream: LiveStream,
    finals: int,
    figures: SessionFigures,
    created: CreatedSession,
    notices: Notices,
    interrupted: bool,
) -> None:
    stats = stream.stats
    parts = [
        f"{job.wire.seconds(stats.sent_bytes):.1f} s of audio",
        f"{finals} utterance{'s' if finals != 1 else ''}",
    ]
    parts += figures.summary_parts()
    if stats.reconnects:
        parts.append(
            f"{stats.reconnects} reconnect{'s' if stats.reconnects > 1 else ''} "
            f"({job.wire.seconds(stats.replayed_bytes):.1f} s re-sent)"
        )
    if stats.duplicates_dropped:
        parts.append(f"{stats.duplicates_dropped} re-delivered messages dropped")
    if stats.recovered_finals:
        parts.append(f"{stats.recovered_finals} finals recovered")
    if interrupted:
        parts.append("stopped by signal")
    notices.info(f"session {created.id} done: " + ", ".join(parts))
