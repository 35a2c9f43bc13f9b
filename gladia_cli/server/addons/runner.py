"""Where the add-ons run, and what a session sends of them.

Recognition must never wait for an add-on: transcripts and acknowledgments are the
real-time path. So the add-ons run on the server's own worker threads, apart from the
recognisers' (`AddonRunner`: one thread for the text add-ons, which share one English
pipeline, and one for translations, which wait for the whisper engine's decoder behind
every transcript). A session (`SessionAddons`) hands each final utterance to them and sends
each result when it is ready, from the event loop; a slow add-on only makes its own
messages later. What a session may have waiting is bounded (`MAX_PENDING`): past it, an
utterance's add-on is skipped and said so in the add-on's error shape.

At the end the session waits for what is still running (protocol.md §4.2: remaining finals
and add-ons come before `end_recording`), then computes the summary and the chapters on the
same worker, and fills the result containers of post_final_transcript.

A failing add-on is reported in its error shape (`error` set, `data` null; in the result
container `success: false` with an AddonError) and the session goes on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gladia_cli.server.addons import translation
from gladia_cli.server.addons.shapes import addon_error, container
from gladia_cli.server.recognition.decode_queue import QueueClosed

if TYPE_CHECKING:
    from gladia_cli.protocol.audio_format import AudioFormat
    from gladia_cli.server.live.session_files import SessionFiles

log = logging.getLogger("gladia.server")

MAX_PENDING = 256  # add-on jobs a session may have waiting or running
# How long the end of a session waits for its add-ons (each post-processing one too):
# past it, what is still waiting is skipped and said so, and the session ends. Without it,
# a hung model, or one worker shared by many sessions, held every session's end for ever.
DRAIN_SECONDS = 60.0

Utterance = dict[str, Any]


@dataclass(frozen=True)
class AddonModels:
    """What computes each add-on. The server's are the offline models; tests inject slow
    or failing ones."""

    entities: Callable[[Utterance], list[dict[str, Any]]]
    sentiments: Callable[[Utterance], list[dict[str, Any]]]
    summary: Callable[[list[Utterance], str], str]
    chapters: Callable[[list[Utterance]], list[dict[str, Any]]]
    # Loads the text models ahead of the first utterance (when a session asks for one).
    warm_up: Callable[[], None] = lambda: None


def offline_models() -> AddonModels:
    """The real models (each loaded on its first use)."""
    from gladia_cli.server.addons import ner, sentiment, summary

    def warm_up() -> None:
        from gladia_cli.server.addons.english import english

        english()
        sentiment.warm_up()

    return AddonModels(
        entities=ner.named_entities,
        sentiments=sentiment.sentiments,
        summary=summary.summarize,
        chapters=summary.chapters,
        warm_up=warm_up,
    )


class AddonRunner:
    """The server's add-on worker threads (see module docstring)."""

    def __init__(
        self, models: AddonModels | None = None, translate: translation.Translate | None = None
    ) -> None:
        self.models = models or offline_models()
        self.translate = translate
        self.text = ThreadPoolExecutor(1, thread_name_prefix="addons")
        self.translation = ThreadPoolExecutor(1, thread_name_prefix="translator")
        self._warming: Future[None] | None = None

    def warm_up(self) -> None:
        """Load the text models now, on the add-on thread, once: while a new session's
        client has sent nothing yet rather than in the middle of its stream."""
        if self._warming is None:
            self._warming = self.text.submit(self.models.warm_up)
            self._warming.add_done_callback(_log_warm_up)

    def close(self) -> None:
        for executor in (self.text, self.translation):
            executor.shutdown(wait=False, cancel_futures=True)


def _log_warm_up(future: Future[None]) -> None:
    error = None if future.cancelled() else future.exception()
    if error is not None:  # each add-on then reports it in its error shape
        log.warning("the add-on models could not be loaded: %s", error)


# The add-ons: their message type, their container in the result, their name for people.
NER = ("named_entity_recognition", "named_entity_recognition", "named entity recognition")
SENTIMENT = ("sentiment_analysis", "sentiment_analysis", "sentiment analysis")
TRANSLATION = ("translation", "translation", "translation")
SUMMARY = ("post_summarization", "summarization", "summarization")
CHAPTERS = ("post_chapterization", "chapterization", "chapterization")
Addon = tuple[str, str, str]


class SessionAddons:
    """One session's add-ons: called on the event loop by its LiveSession."""

    def __init__(
        self,
        runner: AddonRunner,
        *,
        session_id: str,
        config: dict[str, Any],
        emit: Callable[..., None],
        files: SessionFiles,
        fmt: AudioFormat,
        header: Callable[[], int],
    ) -> None:
        self._runner = runner
        self._session_id = session_id
        self._realtime: dict[str, Any] = config.get("realtime_processing") or {}
        self._post: dict[str, Any] = config.get("post_processing") or {}
        self._emit = emit
        self._files = files
        self._fmt = fmt
        self._header = header
        self._tasks: dict[asyncio.Task[None], Addon] = {}
        self._failures: dict[str, dict[str, Any]] = {}  # container key → AddonError
        self._translation_failures: dict[str, dict[str, Any]] = {}  # target → AddonError
        self._exec_time: dict[str, float] = {}
        text_addons = ("named_entity_recognition", "sentiment_analysis")
        if any(self._realtime.get(a) for a in text_addons) or any(
            self._post.get(a) for a in ("summarization", "chapterization")
        ):
            runner.warm_up()

    @property
    def _targets(self) -> list[str]:
        config = self._realtime.get("translation_config") or {}
        return [str(t) for t in config.get("target_languages") or ()]

    # --- live -----------------------------------------------------------------------------

    def final(self, utterance_id: str, utterance: Utterance) -> None:
        """A final utterance: its realtime add-ons, each sent when its result is ready."""
        models = self._runner.models
        if self._realtime.get("named_entity_recognition"):
            self._start(
                NER,
                self._runner.text,
                lambda: models.entities(utterance),
                lambda results: self._per_utterance(NER, utterance_id, utterance, results),
            )
        if self._realtime.get("sentiment_analysis"):
            self._start(
                SENTIMENT,
                self._runner.text,
                lambda: models.sentiments(utterance),
                lambda results: self._per_utterance(SENTIMENT, utterance_id, utterance, results),
            )
        if self._realtime.get("translation"):
            for target in self._targets:
                self._translate(utterance_id, utterance, target)

    def _per_utterance(
        self, addon: Addon, utterance_id: str, utterance: Utterance, results: list[Any]
    ) -> None:
        log_ = self._files.entities if addon is NER else self._files.sentiments
        for result in results:
            log_.append_json(result)
        self._emit(
            addon[0],
            error=None,
            data={"utterance_id": utterance_id, "utterance": utterance, "results": results},
        )

    def _translate(self, utterance_id: str, utterance: Utterance, target: str) -> None:
        def done(text: str) -> None:
            translated = translation.translated_utterance(utterance, text, target)
            self._files.translations.append_json(translated)
            self._emit(
                "translation",
                error=None,
                data=translation.message_data(utterance_id, utterance, translated, target),
            )

        language = str(utterance["language"])
        if language == target:
            done(str(utterance["text"]))  # already in the target language
            return
        translate = self._runner.translate
        problem = translation.target_problem(target, translate)
        if problem is not None:
            self._translation_failures.setdefault(
                target, addon_error(problem, status_code=501, exception="NotImplemented")
            )
            self._emit("translation", error={"message": problem}, data=None)
            return
        assert translate is not None
        offset, length = translation.stream_range(
            self._fmt, self._header(), utterance["start"], utterance["end"]
        )
        raw = self._files.audio.read(offset, length)  # on the loop: the store is not shared
        fmt, channel, session_id = self._fmt, int(utterance["channel"]), self._session_id

        def job() -> str:
            audio = translation.channel_audio(raw, fmt, channel)
            return translate(session_id, channel, audio, language)

        self._start(TRANSLATION, self._runner.translation, job, done)

    def _start(
        self,
        addon: Addon,
        executor: ThreadPoolExecutor,
        job: Callable[[], Any],
        done: Callable[[Any], None],
    ) -> None:
        if len(self._tasks) >= MAX_PENDING:
            self._failed(addon, RuntimeError("the add-on workers are behind: result skipped"))
            return
        task = asyncio.get_running_loop().create_task(self._run(addon, executor, job, done))
        self._tasks[task] = addon
        task.add_done_callback(lambda finished: self._tasks.pop(finished, None))

    async def _run(
        self,
        addon: Addon,
        executor: ThreadPoolExecutor,
        job: Callable[[], Any],
        done: Callable[[Any], None],
    ) -> None:
        started = time.monotonic()
        try:
            value = await asyncio.get_running_loop().run_in_executor(executor, job)
        except QueueClosed:
            return  # the session or the server is going: nobody waits for it
        except Exception as exc:
            self._failed(addon, exc)
            return
        finally:
            key = addon[1]
            self._exec_time[key] = self._exec_time.get(key, 0.0) + time.monotonic() - started
        done(value)

    def _failed(self, addon: Addon, exc: BaseException) -> None:
        message_type, key, name = addon
        hint = getattr(exc, "hint", None)  # a model not installed: which extra brings it
        message = f"{name} failed: {exc}" + (f" ({hint})" if hint else "")
        if key not in self._failures:  # logged once a session: it may fail at every utterance
            log.warning("session %s: %s", self._session_id, message)
            log.debug("session %s: %s", self._session_id, name, exc_info=exc)
            self._failures[key] = addon_error(message, exception=type(exc).__name__)
        self._emit(message_type, error={"message": message}, data=None)

    async def drain(self) -> None:
        """Wait for every add-on still running (the end of the session), `DRAIN_SECONDS` at
        most: then each one still waiting is skipped, in its error shape (cancelling its
        task cancels its job too, if no worker has started it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_SECONDS
        while self._tasks:
            remaining = deadline - loop.time()
            if remaining <= 0:
                late = list(self._tasks.items())
                self._tasks.clear()
                for task, addon in late:
                    task.cancel()
                    self._failed(
                        addon,
                        TimeoutError(
                            f"result skipped: not ready {DRAIN_SECONDS:g} s after the end"
                        ),
                    )
                return
            await asyncio.wait(list(self._tasks), timeout=remaining)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    # --- post-processing ------------------------------------------------------------------

    @property
    def fills_result(self) -> bool:
        """Whether `post_process` adds anything to the end result (an add-on is on)."""
        return bool(
            self._realtime.get("translation")
            or self._realtime.get("named_entity_recognition")
            or self._realtime.get("sentiment_analysis")
            or self._post.get("summarization")
            or self._post.get("chapterization")
        )

    async def post_process(self, result: dict[str, Any]) -> None:
        """Fill `result` (post_final_transcript's data) and send the post-processing
        messages, in protocol.md §4.2's order."""
        utterances: list[Utterance] = result["transcription"]["utterances"]
        if self._realtime.get("translation"):
            result["translation"] = self._translation_container()
        for addon in (NER, SENTIMENT):
            key = addon[1]
            if self._realtime.get(key):
                log_ = self._files.entities if addon is NER else self._files.sentiments
                result[key] = container(
                    list(log_.values()), self._exec_time.get(key, 0.0), self._failures.get(key)
                )
        models = self._runner.models
        if self._post.get("summarization"):
            kind = str((self._post.get("summarization_config") or {}).get("type", "general"))
            result["summarization"] = await self._post_addon(
                SUMMARY, lambda: models.summary(utterances, kind)
            )
        if self._post.get("chapterization"):
            result["chapterization"] = await self._post_addon(
                CHAPTERS, lambda: models.chapters(utterances)
            )

    async def _post_addon(self, addon: Addon, job: Callable[[], Any]) -> dict[str, Any]:
        message_type, _, name = addon
        started = time.monotonic()
        try:
            value = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(self._runner.text, job), DRAIN_SECONDS
            )
        except Exception as exc:
            message = (
                f"{name} skipped: not ready after {DRAIN_SECONDS:g} s"
                if isinstance(exc, TimeoutError)
                else f"{name} failed: {exc}"
            )
            log.warning("session %s: %s", self._session_id, message)
            self._emit(message_type, error={"message": message}, data=None)
            error = addon_error(message, exception=type(exc).__name__)
            return container(None, time.monotonic() - started, error)
        self._emit(message_type, error=None, data={"results": value})
        return container(value, time.monotonic() - started)

    def _translation_container(self) -> dict[str, Any]:
        translated = list(self._files.translations.values())
        entries = []
        error = self._failures.get("translation")
        for target in self._targets:
            target_error = self._translation_failures.get(target)
            error = error or target_error
            utterances = sorted(
                (u for u in translated if u["language"] == target),
                key=lambda u: (u["start"], u["channel"]),
            )
            entries.append(
                {
                    "error": target_error,
                    "full_transcript": " ".join(u["text"].strip() for u in utterances),
                    "languages": [target],
                    "utterances": utterances,
                }
            )
        return container(entries, self._exec_time.get("translation", 0.0), error)
