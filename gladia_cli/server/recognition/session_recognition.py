"""A session's audio through its recogniser: in order, off the event loop, in batches.

Audio placed on the session stream is stored (audio_store.py); this reads it back from the
store and feeds it to the session's transcriber (transcriber_pool.py) on the executor, one
batch of at most `BATCH_SECONDS` at a time, in order; the events it returns go to
`on_events` on the event loop, and `on_progress` is told after each batch (the session then
releases the acknowledgments it held, see ack_credit.py). Reading back from the store keeps
the backlog out of memory however far recognition falls behind. How far behind decides how
much the recogniser does (recognition_load.py: fewer partials, then faster finals), said in
the log and in the session's view. A recogniser that fails
does not wedge the session nor end it as if all was well: `on_failure` is told once, the
audio is still kept (and acknowledged), and recognition stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.clock import Clock
from gladia_cli.server.recognition.engines.base import ChannelSettings
from gladia_cli.server.recognition.recognition_load import DESCRIPTIONS, Level, LoadPolicy
from gladia_cli.server.recognition.recognition_status import RecognitionStatus
from gladia_cli.server.recognition.transcriber import ChannelEvent
from gladia_cli.server.recognition.transcriber_pool import SessionTranscriber, TranscriberFactory

log = logging.getLogger("gladia.server")

# The most audio fed to the recogniser in one call: events come back at least this often
# when recognition is behind (a call returns its events when it ends).
BATCH_SECONDS = 2.0


class SessionRecognition:
    def __init__(
        self,
        *,
        session_id: str,
        fmt: AudioFormat,
        config: dict[str, Any],
        transcribers: TranscriberFactory,
        executor: Executor,
        status: RecognitionStatus,
        read_audio: Callable[[int, int], bytes],
        on_events: Callable[[list[ChannelEvent]], None],
        on_late: Callable[[list[ChannelEvent]], None],
        on_failure: Callable[[str], None],
        on_progress: Callable[[], None] = lambda: None,
        clock: Clock | None = None,
        load: LoadPolicy | None = None,
    ) -> None:
        self._session_id = session_id
        self._fmt = fmt
        self._config = config
        self._transcribers = transcribers
        self._executor = executor
        self.status = status  # lag, failure and the languages heard
        self._on_events = on_events
        self._on_late = on_late  # events a recogniser delivers later (whisper partials)
        self._on_failure = on_failure
        self._on_progress = on_progress
        self._read_audio = read_audio  # (offset, n): stored audio bytes, the header excluded
        self._loop = asyncio.get_running_loop()
        self._received = 0  # audio bytes stored, to recognise
        self.recognised = 0  # audio bytes fed to the recogniser (and returned)
        self._batch = max(fmt.frame_bytes, round(BATCH_SECONDS * fmt.bytes_per_second))
        self._batch -= self._batch % fmt.frame_bytes
        self._more = asyncio.Event()
        self._ended = False
        self._clock = clock
        self.load = load or LoadPolicy()
        self._first_audio_at: float | None = None  # on the clock: the live-pace check
        self._processor: asyncio.Task[None] | None = None
        self._transcriber: SessionTranscriber | None = None

    @property
    def failed(self) -> bool:
        return self.status.failed is not None

    @property
    def lag(self) -> float:
        """Seconds of audio received and not yet recognised."""
        return self._fmt.seconds(self._received - self.recognised)

    def put(self, size: int) -> None:
        """`size` more audio bytes were stored (readable with `read_audio`)."""
        self._received += size
        if self._first_audio_at is None and self._clock is not None:
            self._first_audio_at = self._clock.now()
        self._note_backlog()
        self._more.set()
        if self._processor is None:
            self._processor = self._loop.create_task(self._process())

    async def finish(self) -> None:
        """No more audio: recognise what is stored, then the recogniser's last words."""
        self._ended = True
        self._more.set()
        if self._processor is not None:
            await self._processor

    async def _process(self) -> None:
        """Feed the stored audio to the recogniser, in order, a batch at a time."""
        while True:
            if self.recognised < self._received:
                size = min(self._received - self.recognised, self._batch)
                batch = self._read_audio(self.recognised, size)
                await self._recognize(self._feed, batch)
                # Advanced even when recognition failed: the audio is kept and acknowledged.
                self.recognised += size
                self._note_backlog()
                self._observe_load(size)
                self._on_progress()
            elif self._ended:
                await self._recognize(self._finish)
                return
            else:
                self._more.clear()
                await self._more.wait()

    async def _recognize(self, call: Callable[..., list[ChannelEvent]], *args: bytes) -> None:
        if self.failed:
            return  # the audio is still kept; only its transcription stopped
        try:
            events = await self._loop.run_in_executor(self._executor, call, *args)
        except Exception as exc:
            self._failure(exc)
            return
        self._on_events(events)

    def _failure(self, exc: BaseException) -> None:
        """Told once; no traceback unless the log level is debug."""
        if self.failed:
            return
        self.status.failed = f"{type(exc).__name__}: {exc}"
        log.error("session %s: recognition failed: %s", self._session_id, self.status.failed)
        log.debug("session %s: recognition failure", self._session_id, exc_info=exc)
        self._on_failure(f"recognition failed: {exc}")

    def _late(self, item: list[ChannelEvent] | BaseException) -> None:
        """From the recogniser's own thread: handed over to the event loop."""
        # RuntimeError: the loop is closed, the server stopped: nobody is left to tell.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._handle_late, item)

    def _handle_late(self, item: list[ChannelEvent] | BaseException) -> None:
        if isinstance(item, BaseException):
            self._failure(item)
        elif not self.failed:
            self._on_late(item)

    def _note_backlog(self) -> None:
        """Track how far recognition is behind (the log says when it matters)."""
        for line in self.status.observe(self.lag):
            # Info, not a warning: at --pace max being behind is by design (the lag is
            # also in GET /v2/live/{id}, under local_server).
            log.info("session %s: %s", self._session_id, line)

    def _observe_load(self, recognised: int) -> None:
        """Give way (or come back) as the lag says; tell the log, once per change."""
        if self._clock is None or self._first_audio_at is None:
            return
        seconds = self._fmt.seconds
        level = self.load.observe(
            lag=self.lag,
            received=seconds(self._received),
            elapsed=self._clock.now() - self._first_audio_at,
            recognised=seconds(recognised),
        )
        if level is None:
            return
        # A live session's user sees the lateness: a warning (shown by `--local`). A faster
        # than real-time session is behind by design: its partials giving way is no news.
        loud = self.load.live and (level > Level.FULL or self.load.max_level > Level.FULL)
        log.log(
            logging.WARNING if loud else logging.INFO,
            "session %s: recognition %.1f s behind the audio: %s",
            self._session_id,
            self.lag,
            DESCRIPTIONS[level],
        )

    def _feed(self, data: bytes) -> list[ChannelEvent]:
        if self._transcriber is None:
            self._transcriber = self._transcribers.open(
                self._fmt,
                channel_settings(self._config, self._fmt, self._session_id),
                on_late=self._late,
            )
        self._transcriber.set_load(self.load.level)
        return self._transcriber.feed(data)

    def _finish(self) -> list[ChannelEvent]:
        transcriber, self._transcriber = self._transcriber, None  # finishing frees it
        return transcriber.finish() if transcriber is not None else []

    def describe(self) -> dict[str, Any]:
        """The local server's own view of recognition, for the REST view."""
        view = self.status.describe(self.lag, self._transcribers.skipped_partials(self._session_id))
        view["degraded"] = DESCRIPTIONS[self.load.level] if self.load.level else None
        view["most_degraded"] = DESCRIPTIONS[self.load.max_level] if self.load.max_level else None
        return view

    async def close(self) -> None:
        if self._processor is not None and not self._processor.done():
            self._processor.cancel()
        if self._transcriber is not None:
            with contextlib.suppress(Exception):
                await self._loop.run_in_executor(self._executor, self._transcriber.close)


def channel_settings(
    config: dict[str, Any], fmt: AudioFormat, session_id: str
) -> list[ChannelSettings]:
    pre = config["pre_processing"]
    languages = config["language_config"]
    return [
        ChannelSettings(
            channel=c,
            endpointing=float(config["endpointing"]),
            max_duration_without_endpointing=float(config["maximum_duration_without_endpointing"]),
            speech_threshold=float(pre["speech_threshold"]),
            languages=tuple(str(code) for code in languages.get("languages") or ()),
            code_switching=bool(languages.get("code_switching")),
            vocabulary=custom_vocabulary(config),
            channel_count=fmt.channels,
            session_id=session_id,
        )
        for c in range(fmt.channels)
    ]


def configured_language(config: dict[str, Any]) -> str:
    """The language reported when the engine says none: the first one configured."""
    languages = config["language_config"]["languages"]
    return str(languages[0]) if languages else "en"


def custom_vocabulary(config: dict[str, Any]) -> tuple[str, ...]:
    """`realtime_processing.custom_vocabulary_config.vocabulary` as plain words, when on."""
    realtime = config.get("realtime_processing") or {}
    if not realtime.get("custom_vocabulary"):
        return ()
    entries = (realtime.get("custom_vocabulary_config") or {}).get("vocabulary") or ()
    words = [e.get("value", "") if isinstance(e, dict) else e for e in entries]
    return tuple(str(w).strip() for w in words if str(w).strip())
