"""The add-ons of a pre-recorded job, by the same models as live sessions (addons/).

A job has no real-time path to protect: its thread asks the server's add-on workers
(`AddonRunner`: the one text thread that owns the English pipeline, the translation thread)
and waits for each answer. Every add-on asked for gets its container in the result, filled
or in Gladia's error shape (a failing model fails its add-on, not the job):

- named entities and sentiment per utterance, summary and chapters over all of them;
- translation into English by Whisper's translate task on each utterance's audio, read
  back from the file (`read_audio`); other targets, or another engine, get the add-on error;
- diarization: the utterances with their speakers, from the speaker encoder
  (diarization.py) or from the engine (the scripted engine's script names them); without
  the encoder's model installed, its container says it is not available (the channels of
  a multi-channel file are kept apart instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gladia_cli.server.addons import translation
from gladia_cli.server.addons.runner import AddonRunner
from gladia_cli.server.addons.shapes import addon_error, container

DIARIZATION_UNAVAILABLE = (
    "diarization is not available on the local server: no speaker model is installed "
    "(pip install --no-deps resemblyzer==0.1.4); its channels are kept apart instead"
)

Utterance = dict[str, Any]
# (channel, start s, end s) → that stretch of the channel, 16 kHz mono float32.
ReadAudio = Callable[[int, float, float], translation.Floats]


# How long a job waits for one add-on answer (the workers are shared with the live
# sessions): past it the add-on is skipped in its error shape and the job ends. Without it,
# a hung model held the job in `processing` for ever.
ADDON_SECONDS = 600.0


def _timed(
    executor: ThreadPoolExecutor, name: str, job: Callable[[], Any]
) -> tuple[Any, float, dict[str, Any] | None]:
    """The job's value on `executor` (None and the add-on error when it raised or was not
    ready within ADDON_SECONDS), and the seconds it took."""
    started = time.monotonic()
    future = executor.submit(job)
    try:
        value = future.result(timeout=ADDON_SECONDS)
    except TimeoutError:
        future.cancel()  # if no worker has started it
        error = addon_error(
            f"{name} skipped: not ready after {ADDON_SECONDS:g} s", exception="TimeoutError"
        )
        return None, time.monotonic() - started, error
    except Exception as exc:
        error = addon_error(f"{name} failed: {exc}", exception=type(exc).__name__)
        return None, time.monotonic() - started, error
    return value, time.monotonic() - started, None


def add_addons(
    result: dict[str, Any],
    utterances: list[Utterance],
    params: dict[str, Any],
    runner: AddonRunner,
    read_audio: ReadAudio,
    job_id: str,
) -> None:
    """Fill `result` with the container of every add-on `params` asks for."""
    models, text = runner.models, runner.text
    if params.get("named_entity_recognition"):
        found, spent, error = _timed(
            text,
            "named entity recognition",
            lambda: [e for u in utterances for e in models.entities(u)],
        )
        result["named_entity_recognition"] = container(found, spent, error)
    if params.get("sentiment_analysis"):
        found, spent, error = _timed(
            text,
            "sentiment analysis",
            lambda: [s for u in utterances for s in models.sentiments(u)],
        )
        result["sentiment_analysis"] = container(found, spent, error)
    if params.get("summarization"):
        kind = str((params.get("summarization_config") or {}).get("type", "general"))
        found, spent, error = _timed(
            text, "summarization", lambda: models.summary(utterances, kind)
        )
        result["summarization"] = container(found, spent, error)
    if params.get("chapterization"):
        found, spent, error = _timed(text, "chapterization", lambda: models.chapters(utterances))
        result["chapterization"] = container(found, spent, error)
    if params.get("translation"):
        targets = (params.get("translation_config") or {}).get("target_languages") or []
        result["translation"] = _translations(utterances, targets, runner, read_audio, job_id)
    if params.get("diarization"):
        if utterances and all("speaker" in u for u in utterances):
            result["diarization"] = container(utterances, 0.0)
        else:
            error = addon_error(
                DIARIZATION_UNAVAILABLE, status_code=501, exception="NotImplemented"
            )
            result["diarization"] = container(None, 0.0, error)
    if params.get("sentences"):
        result["sentences"] = container([u["text"].strip() for u in utterances], 0.0)


def _translations(
    utterances: list[Utterance],
    targets: list[str],
    runner: AddonRunner,
    read_audio: ReadAudio,
    job_id: str,
) -> dict[str, Any]:
    """Gladia's translation container: one result per target (with its own error)."""
    started = time.monotonic()
    entries, first_error = [], None
    for target in targets:
        translated: list[Utterance] = []
        error = None
        for utterance in utterances:
            language = str(utterance["language"])
            if language == target:
                text: str | None = str(utterance["text"])
            else:
                problem = translation.target_problem(target, runner.translate)
                if problem is not None:
                    error = addon_error(problem, status_code=501, exception="NotImplemented")
                    break
                translate = runner.translate
                assert translate is not None
                channel = int(utterance["channel"])
                audio = read_audio(channel, utterance["start"], utterance["end"])
                text, _, error = _timed(
                    runner.translation,
                    "translation",
                    lambda: translate(job_id, channel, audio, language),  # noqa: B023 (awaited here)
                )
                if error is not None:
                    break
            translated.append(translation.translated_utterance(utterance, text or "", target))
        first_error = first_error or error
        entries.append(
            {
                "error": error,
                "full_transcript": " ".join(u["text"].strip() for u in translated),
                "languages": [target],
                "utterances": translated if error is None else [],
            }
        )
    return container(entries, time.monotonic() - started, first_error)
