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
from gladia_cli.client.stream import LiveStream, StreamEnd
from gladia_cli.errors import Aborted, GladiaError, NetworkError
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.messages import ServerMessage, Transcript
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


class _Signals:
    """First SIGINT/SIGTERM: stop gracefully. Second: abort."""

    def __init__(self, on_first: Callable[[], None]) -> None:
        self._on_first = on_first
        self.count = 0
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.count == 1:
            self._on_first()
        else:
            raise Aborted()

    def __enter__(self) -> _Signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _server_for(settings: Settings) -> Iterator[Settings]:
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
                self._stream.send_audio(data)
                if self._saver is not None:
                    self._saver.write(data)
                if self._stream.stop_requested:
                    break
            else:
                self.exhausted = True
        except GladiaError as exc:
            self.error = exc  # reported after the transcript of what was read
        except Exception as exc:
            self.error = GladiaError(f"reading {source.description} failed: {exc}")
        finally:
            self._stream.stop()


def run_stream_job(job: StreamJob, notices: Notices) -> int:
    with _server_for(job.settings) as settings:
        api = LiveApi(settings, notice=notices.warning)
        created = api.create_session(job.body)
        return _stream(job, api, created, notices)


def _stream(job: StreamJob, api: LiveApi, created: CreatedSession, notices: Notices) -> int:
    renderer = job.renderer
    finals = [0]  # counted, not kept: renderers keep what they need
    server_errors: list[str] = []  # `error` messages: the run cannot end with 0

    def on_message(message: ServerMessage) -> None:
        if isinstance(message, Transcript) and message.is_final:
            finals[0] += 1
        elif message.type == "error":
            server_errors.append(message.error_message or "unspecified error")
        renderer.message(message)

    stream = LiveStream(
        created.url,
        fmt=job.wire,
        connect=WebSocketClientConnector(),
        on_message=on_message,
        notice=notices.warning,
        use_base64=job.use_base64,
    )
    saver = WavWriter(job.save_audio, job.wire) if job.save_audio else None
    pump = _Pump(job, stream, saver)
    duration = job.source.duration
    stop_deadline: list[float] = []

    def view(note: str = "") -> StatusView:
        sent = job.wire.seconds(stream.stats.sent_bytes)
        return StatusView(
            state=stream.stats.state,
            session_id=created.id,
            sent_seconds=sent,
            acked_seconds=job.wire.seconds(stream.stats.acked_bytes),
            reconnects=stream.stats.reconnects,
            progress=min(1.0, sent / duration) if duration else None,
            note=note,
        )

    def first_signal() -> None:
        notices.info("stopping: waiting for the final transcripts (Ctrl-C again to abort)")
        job.source.stop()

    end: StreamEnd | None = None
    try:
        with _Signals(first_signal) as signals:
            notices.info(
                f"streaming {job.source.description} ({job.wire.sample_rate} Hz, "
                f"{job.wire.channels} channel{'s' if job.wire.channels > 1 else ''}), "
                f"session {created.id}"
            )
            stream.open()
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
        renderer.status(view())

    outcome = SessionOutcome(status=view())
    try:
        if end.error is not None:
            renderer.finish(outcome)
            raise end.error
        if renderer.needs_result:
            outcome.result = api.wait_until_done(created.id, timeout=job.stop_timeout)
        renderer.finish(outcome)
    except OutputClosed:
        return 0
    finally:
        renderer.close()
    _summarize(
        job=job,
        stream=stream,
        finals=finals[0],
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


def _summarize(
    *,
    job: StreamJob,
    stream: LiveStream,
    finals: int,
    created: CreatedSession,
    notices: Notices,
    interrupted: bool,
) -> None:
    stats = stream.stats
    parts = [
        f"{job.wire.seconds(stats.sent_bytes):.1f} s of audio",
        f"{finals} utterance{'s' if finals != 1 else ''}",
    ]
    if stats.reconnects:
        parts.append(
            f"{stats.reconnects} reconnect{'s' if stats.reconnects > 1 else ''} "
            f"({job.wire.seconds(stats.replayed_bytes):.1f} s re-sent)"
        )
    if interrupted:
        parts.append("stopped by signal")
    notices.info(f"session {created.id} done: " + ", ".join(parts))
