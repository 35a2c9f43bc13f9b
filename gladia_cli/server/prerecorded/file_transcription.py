"""A pre-recorded job's work: decode an uploaded file and run it through the engine at once.

The same engines as live sessions, driven the same way (a `Transcriber` from the server's
factory: de-interleaving, soxr to 16 kHz per channel, one recogniser per channel), but fed
as fast as decoding allows: no pacing, no partials (no late sink is given, so the whisper
engine decodes finals only), blocks of `BLOCK_SECONDS`. Runs on a worker thread; `cancelled`
is checked between blocks (the job was deleted, or the server stops), and each block is
decoded inside a `turn` (job_queue.Turns: the jobs of several keys take turns). Memory
stays bounded by a block, whatever the file's length: the file is read in blocks, and only
the finals are kept.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from gladia_cli.protocol import prerecorded_config
from gladia_cli.protocol.audio_format import MAX_CHANNELS, AudioFormat
from gladia_cli.server.addons.runner import AddonRunner
from gladia_cli.server.addons.translation import Floats
from gladia_cli.server.prerecorded.file_addons import ReadAudio, add_addons
from gladia_cli.server.recognition.engines.base import (
    ENGINE_SAMPLE_RATE,
    ChannelSettings,
    Hypothesis,
)
from gladia_cli.server.recognition.transcriber import ChannelEvent
from gladia_cli.server.recognition.transcriber_pool import TranscriberFactory
from gladia_cli.server.recognition.utterances import utterance_of

BLOCK_SECONDS = 10


class JobFailed(Exception):
    """The job ends in status error: `code` is its error_code, the message says why."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class JobCancelled(Exception):
    """The job was deleted or the server stops: its result is not wanted."""


def audio_info(path: str) -> tuple[float, int, int]:
    """(duration in seconds, channels, sample rate) of a file soundfile can decode;
    ValueError if not."""
    import soundfile

    try:
        info = soundfile.info(path)
    except (RuntimeError, soundfile.LibsndfileError) as exc:  # libsndfile's refusal
        raise ValueError(str(exc).split(":")[-1].strip() or "unknown format") from None
    if info.samplerate <= 0 or info.channels <= 0:
        raise ValueError("no audio stream")
    return info.frames / info.samplerate, info.channels, info.samplerate


def _settings(params: dict[str, Any], channels: int, job_id: str) -> list[ChannelSettings]:
    languages = params.get("language_config") or {}
    return [
        ChannelSettings(
            channel=c,
            # Solaria-3 without languages: detection among its five.
            languages=prerecorded_config.candidate_languages(params),
            code_switching=bool(languages.get("code_switching")),
            vocabulary=prerecorded_config.vocabulary(params),
            channel_count=channels,
            session_id=job_id,
            live=False,  # its decodes wait behind the live sessions' (decode_queue.py)
        )
        for c in range(channels)
    ]


def transcribe_file(
    path: str,
    params: dict[str, Any],
    transcribers: TranscriberFactory,
    *,
    job_id: str,
    cancelled: threading.Event,
    addons: AddonRunner | None = None,
    turn: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    diarize: bool = True,
) -> dict[str, Any]:
    """The job's `result` (Gladia's TranscriptionResultDTO); JobFailed when it cannot be."""
    import soundfile

    started = time.monotonic()
    try:
        file = soundfile.SoundFile(path)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise JobFailed(400, f"the audio file could not be decoded: {exc}") from None
    with file:
        channels, rate = file.channels, file.samplerate
        if channels > MAX_CHANNELS:
            raise JobFailed(400, f"the file has {channels} channels; at most {MAX_CHANNELS}")
        fmt = AudioFormat(sample_rate=rate, channels=channels)
        transcriber = transcribers.open(fmt, _settings(params, channels, job_id))
        events: list[ChannelEvent] = []
        frames = 0
        try:
            for block in file.blocks(blocksize=rate * BLOCK_SECONDS, dtype="int16", always_2d=True):
                with turn():
                    if cancelled.is_set():
                        raise JobCancelled
                    frames += len(block)
                    events += _finals(transcriber.feed(block.tobytes()))
            with turn():
                if cancelled.is_set():
                    raise JobCancelled
                events += _finals(transcriber.finish())
        except (JobCancelled, JobFailed):
            raise
        except soundfile.LibsndfileError as exc:
            raise JobFailed(400, f"the audio file could not be decoded: {exc}") from None
        except Exception as exc:
            raise JobFailed(500, f"recognition failed: {exc}") from None
        finally:
            transcriber.close()
    fallback = _language(params)
    finals = [(c, e) for c, e in events if isinstance(e, Hypothesis)]
    asked = bool(params.get("diarization")) and bool(finals)
    speakers = _speakers(path, finals, params, diarize) if asked else None
    utterances = sorted(
        (
            utterance_of(channel, event, event.language or fallback)
            | ({"speaker": speakers[index]} if speakers is not None else {})
            for index, (channel, event) in enumerate(finals)
        ),
        key=lambda u: (u["start"], u["channel"]),
    )
    duration = frames / rate
    result = job_result(utterances, params, duration, channels, time.monotonic() - started)
    if addons is not None:
        add_addons(result, utterances, params, addons, _reader(path), job_id)
    return result


def _speakers(
    path: str, finals: list[tuple[int, Hypothesis]], params: dict[str, Any], diarize: bool
) -> list[int] | None:
    """Who said each final: the engine's word when it told them all (the scripted engine's
    script), else the speaker encoder's (diarization.py); None when neither can (the
    diarization container then says why: file_addons.py)."""
    told = [event.speaker for _, event in finals]
    if all(speaker is not None for speaker in told):
        return [int(speaker) for speaker in told if speaker is not None]
    from gladia_cli.server.prerecorded import diarization

    if not diarize or not diarization.available():
        return None
    read = _reader(path)
    config = params.get("diarization_config") or {}
    try:
        embeddings = diarization.encoder().embed(
            [read(channel, event.start, event.end) for channel, event in finals]
        )
    except diarization.DiarizationUnavailable:
        return None
    return diarization.cluster(
        embeddings,
        speakers=config.get("number_of_speakers"),
        min_speakers=config.get("min_speakers"),
        max_speakers=config.get("max_speakers"),
    )


def _reader(path: str) -> ReadAudio:
    """One channel's stretch of the file, as the translation add-on wants it."""

    def read(channel: int, start: float, end: float) -> Floats:
        import numpy as np
        import soundfile

        with soundfile.SoundFile(path) as file:
            rate = file.samplerate
            file.seek(min(file.frames, max(0, int(start * rate))))
            frames = max(0, int(np.ceil(end * rate)) - int(start * rate))
            block = file.read(frames, dtype="float32", always_2d=True)
        mono = np.ascontiguousarray(block[:, channel])
        if rate != ENGINE_SAMPLE_RATE and len(mono):
            import soxr

            mono = soxr.resample(mono, rate, ENGINE_SAMPLE_RATE).astype(np.float32)
        return mono

    return read


def _finals(events: list[ChannelEvent]) -> list[ChannelEvent]:
    return [(c, e) for c, e in events if isinstance(e, Hypothesis) and e.is_final]


def _language(params: dict[str, Any]) -> str:
    languages = (params.get("language_config") or {}).get("languages") or []
    return str(languages[0]) if languages else "en"


def job_result(
    utterances: list[dict[str, Any]],
    params: dict[str, Any],
    duration: float,
    channels: int,
    elapsed: float,
) -> dict[str, Any]:
    """The metadata and the transcription (with Gladia's subtitles when asked for); the
    add-ons are file_addons.py's."""
    heard = list(dict.fromkeys(u["language"] for u in utterances))
    transcription: dict[str, Any] = {
        "full_transcript": " ".join(u["text"].strip() for u in utterances),
        "languages": heard or [_language(params)],
        "utterances": utterances,
    }
    if params.get("subtitles"):
        transcription["subtitles"] = _subtitles(utterances, params)
    result: dict[str, Any] = {
        "metadata": {
            "audio_duration": round(duration, 3),
            "number_of_distinct_channels": channels,
            "billing_time": round(duration * channels, 3),
            "transcription_time": round(elapsed, 3),
        },
        "transcription": transcription,
    }
    return result


def _subtitles(utterances: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, str]]:
    """Gladia's `transcription.subtitles`: one entry per format asked for."""
    from gladia_cli.server.prerecorded import subtitles

    config = params.get("subtitles_config") or {}
    writers = {"srt": subtitles.to_srt, "vtt": subtitles.to_vtt}
    return [
        {"format": fmt, "subtitles": writers[fmt](utterances, config)}
        for fmt in config.get("formats") or ["srt"]
    ]
