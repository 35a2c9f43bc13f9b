"""Where sessions' transcribers run: in the server's threads, or in worker processes.

pocketsphinx holds the GIL through every decoder call. In a thread it blocks the server's
event loop (acknowledgments stall up to ~0.2 s at each utterance end), and two threads run
no faster than one. So the sphinx engine runs in worker processes: each session's
Transcriber lives in one worker (sessions are spread round-robin), reached over a pipe,
and the calling thread waits on the pipe with the GIL released. The scripted engine is
cheap numpy and stays in-thread. So does whisper: CTranslate2 and onnxruntime release the
GIL while they compute (two decodes on two threads overlap), and its one model is shared
by every session through the engine's fair decode queue.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import signal
import threading
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Protocol

from gladia_cli.errors import EngineUnavailable
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.config import RecognitionFaults
from gladia_cli.server.recognition.engines import create_engine
from gladia_cli.server.recognition.engines.base import ChannelSettings
from gladia_cli.server.recognition.engines.catalog import DEFAULT_MODEL, SPHINX
from gladia_cli.server.recognition.transcriber import ChannelEvent, LateChannelSink, Transcriber

if TYPE_CHECKING:
    from gladia_cli.server.addons.translation import Translate


class SessionTranscriber(Protocol):
    def feed(self, data: bytes) -> list[ChannelEvent]: ...

    def finish(self) -> list[ChannelEvent]: ...

    def set_load(self, level: int) -> None:
        """How much recognition may do (server/recognition_load.Level); engines that cannot
        give way ignore it."""
        ...

    def close(self) -> None:
        """Forget the session's state (it was deleted or the server stops)."""
        ...


class TranscriberFactory(Protocol):
    def open(
        self,
        fmt: AudioFormat,
        settings: list[ChannelSettings],
        *,
        on_late: LateChannelSink | None = None,
    ) -> SessionTranscriber: ...

    def skipped_partials(self, session_id: str) -> int:
        """Partials the engine skipped for this session because it was busy."""
        ...

    def translator(self) -> Translate | None:
        """The engine's translation into English, when it has one (whisper, multilingual)."""
        ...

    def close(self) -> None: ...


class InThreadTranscribers:
    """Transcribers called directly by the server's worker threads."""

    def __init__(
        self,
        engine_name: str,
        script_path: str | None,
        *,
        model: str = DEFAULT_MODEL,
        workers: int = 1,
        faults: RecognitionFaults | None = None,
    ) -> None:
        self._engine = create_engine(
            engine_name, script_path=script_path, model=model, workers=workers
        )
        self._faults = faults

    def open(
        self,
        fmt: AudioFormat,
        settings: list[ChannelSettings],
        *,
        on_late: LateChannelSink | None = None,
    ) -> SessionTranscriber:
        transcriber = Transcriber(self._engine, fmt, settings, on_late=on_late, faults=self._faults)
        session_id = settings[0].session_id if settings else ""
        return _LocalTranscriber(transcriber, lambda: self._forget(session_id))

    def skipped_partials(self, session_id: str) -> int:
        return self._engine.skipped_partials(session_id)

    def translator(self) -> Translate | None:
        return self._engine.translate if self._engine.translates else None

    def _forget(self, session_id: str) -> None:
        self._engine.forget(session_id)

    def close(self) -> None:
        self._engine.close()


class _LocalTranscriber:
    def __init__(self, transcriber: Transcriber, forget: Any) -> None:
        self._transcriber = transcriber
        self._forget = forget  # drops what the session still has queued in the engine

    def feed(self, data: bytes) -> list[ChannelEvent]:
        return self._transcriber.feed(data)

    def finish(self) -> list[ChannelEvent]:
        return self._transcriber.finish()

    def set_load(self, level: int) -> None:
        self._transcriber.set_load(level)

    def close(self) -> None:
        self._forget()


def _serve(
    conn: Connection, engine_name: str, script_path: str | None, faults: RecognitionFaults | None
) -> None:
    """A worker process: hosts transcribers by key and answers one request at a time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when workers stop
    try:
        engine = create_engine(engine_name, script_path=script_path)
        engine.preload(1)  # the first session should not wait for a model to load
    except Exception as exc:  # told to the server, which fails to start with it
        with contextlib.suppress(OSError, EOFError):  # it may have stopped already
            conn.send(("failed", (f"{exc}", getattr(exc, "hint", None))))
        return
    try:
        conn.send(("ready", None))
    except (OSError, EOFError):  # another worker failed first: the server is not starting
        return
    transcribers: dict[int, Transcriber] = {}
    while True:
        try:
            op, key, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result: Any = None
            if op == "open":
                transcribers[key] = Transcriber(engine, *args, faults=faults)
            elif op == "feed":
                result = transcribers[key].feed(*args)
            elif op == "finish":
                result = transcribers.pop(key).finish()
            elif op == "close":
                transcribers.pop(key, None)
            conn.send(("ok", result))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class RecognizerError(RuntimeError):
    """A worker process failed or is gone."""


class _Worker:
    def __init__(
        self,
        context: Any,
        engine_name: str,
        script_path: str | None,
        faults: RecognitionFaults | None,
    ) -> None:
        ours, theirs = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(theirs, engine_name, script_path, faults),
            daemon=True,
            name="recognizer",
        )
        self._process.start()
        theirs.close()
        self._conn: Connection = ours
        self._lock = threading.Lock()

    def wait_ready(self) -> None:
        """Until the worker has its engine; raises EngineUnavailable when it cannot."""
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise EngineUnavailable(f"the recognizer process ended at start ({exc})") from None
        if status != "ready":
            message, hint = value
            raise EngineUnavailable(message, hint=hint)

    def call(self, op: str, key: int, *args: Any) -> Any:
        with self._lock:
            try:
                self._conn.send((op, key, args))
                status, value = self._conn.recv()
            except (EOFError, OSError) as exc:
                raise RecognizerError(f"recognizer process is gone ({exc})") from None
        if status != "ok":
            raise RecognizerError(value)
        return value

    def stop(self) -> None:
        self._conn.close()
        self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


class ProcessTranscribers:
    """Transcribers hosted by `processes` worker processes (spawned: safe beside threads)."""

    def __init__(
        self,
        engine_name: str,
        script_path: str | None,
        processes: int,
        *,
        faults: RecognitionFaults | None = None,
    ) -> None:
        context = multiprocessing.get_context("spawn")
        self._workers = [
            _Worker(context, engine_name, script_path, faults) for _ in range(max(1, processes))
        ]
        # Started together, waited for in turn: the server says it listens only once every
        # worker has its engine, and a missing one is the server's failure to start.
        try:
            for worker in self._workers:
                worker.wait_ready()
        except EngineUnavailable:
            self.close()
            raise
        self._next_worker = itertools.cycle(self._workers)
        self._keys = itertools.count()

    def open(
        self,
        fmt: AudioFormat,
        settings: list[ChannelSettings],
        *,
        on_late: LateChannelSink | None = None,  # sphinx delivers nothing late
    ) -> SessionTranscriber:
        worker = next(self._next_worker)
        key = next(self._keys)
        worker.call("open", key, fmt, settings)
        return _RemoteTranscriber(worker, key)

    def skipped_partials(self, session_id: str) -> int:
        return 0  # sphinx decodes every partial in line

    def translator(self) -> Translate | None:
        return None  # sphinx, in its worker processes, has no translation

    def close(self) -> None:
        for worker in self._workers:
            worker.stop()


class _RemoteTranscriber:
    def __init__(self, worker: _Worker, key: int) -> None:
        self._worker = worker
        self._key = key

    def feed(self, data: bytes) -> list[ChannelEvent]:
        events: list[ChannelEvent] = self._worker.call("feed", self._key, data)
        return events

    def finish(self) -> list[ChannelEvent]:
        events: list[ChannelEvent] = self._worker.call("finish", self._key)
        return events

    def set_load(self, level: int) -> None:
        pass  # sphinx decodes its partials in line, cheaply: nothing to give way

    def close(self) -> None:
        with contextlib.suppress(RecognizerError):  # a worker that is gone holds nothing
            self._worker.call("close", self._key)


def transcribers_for(
    engine_name: str,
    script_path: str | None,
    processes: int,
    *,
    model: str = DEFAULT_MODEL,
    decoders: int = 1,
    faults: RecognitionFaults | None = None,
) -> TranscriberFactory:
    """Worker processes for engines that hold the GIL (sphinx); threads for the others.

    `processes` is the sphinx worker processes; `decoders` whisper's concurrent decodes."""
    if engine_name == SPHINX and processes > 0:
        return ProcessTranscribers(engine_name, script_path, processes, faults=faults)
    return InThreadTranscribers(
        engine_name, script_path, model=model, workers=max(1, decoders), faults=faults
    )
