"""The whisper engine: streaming recognition with faster-whisper (CTranslate2), per channel.

Per channel: Silero VAD on 512-sample frames (`silero_vad`), the utterance rules of
`segmenter` (start, end, cut, partial points — all in audio time from the stream start),
and Whisper decodes (`whisper_decoding`) through the server's shared `DecodeQueue`:

- Finals are decoded when an utterance ends, and `feed` waits for them: the final follows
  its speech_end in the same batch of events. An utterance with no_speech_prob > 0.6 and
  at most 2 words is dropped (noise that Whisper "heard" as "you"): it gets its speech
  events but no final.
- Partials are offered to the queue without waiting and delivered later through the late
  sink; under load the queue skips stale ones. They are best effort: only finals count.
  The first after 0.5 s of utterance audio, then every 0.5 s with one channel, every 1 s
  with several.

Settings map as follows (defaults are Gladia's):
- `speech_threshold` t: speech starts at p ≥ t, and goes on while p ≥ t − 0.15.
- `endpointing`: silence that ends an utterance, at least 0.3 s (pauses between words are
  shorter than that; Gladia's 0.05 s default would cut at every word).
- `max_duration_without_endpointing`: an utterance is cut at its quietest point in the
  last 1.5 s before the limit (the 64 ms of lowest power around a frame boundary); never
  more than 28 s (Whisper hears 30 s at most).
- `languages` / `code_switching`: one language → that one; several → detected among them;
  none → detected. With code switching every utterance is detected; otherwise the first
  utterance of the channel decides and the channel keeps it. tiny.en is English only.
- `vocabulary`: given to Whisper as previous text (decoding hints).

The translation add-on borrows the model (`translate`): Whisper's translate task into
English, queued behind every final and partial of every session (decode_queue.py).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from gladia_cli.server.decode_queue import DecodeQueue
from gladia_cli.server.engines.base import (
    ENGINE_SAMPLE_RATE,
    ChannelSettings,
    EngineEvent,
    Hypothesis,
    LateSink,
    RecognizedWord,
    Samples,
    SpeechEnded,
    SpeechStarted,
)
from gladia_cli.server.engines.catalog import DEFAULT_MODEL
from gladia_cli.server.engines.segmenter import (
    PartialDue,
    SegmenterSettings,
    UtteranceEnd,
    UtteranceSegmenter,
    UtteranceStart,
)
from gladia_cli.server.engines.silero_vad import FRAME_SAMPLES, StreamingVad, shared_session
from gladia_cli.server.engines.whisper_decoding import Decoded, WhisperDecoder

FRAME_SECONDS = FRAME_SAMPLES / ENGINE_SAMPLE_RATE  # 0.032
MIN_ENDPOINTING = 0.3
PREROLL_SECONDS = 0.2
HYSTERESIS = 0.15
MAX_UTTERANCE_SECONDS = 28.0
CUT_WINDOW_SECONDS = 1.5
PARTIAL_EVERY_ONE_CHANNEL = 0.5
PARTIAL_EVERY_SEVERAL = 1.0
NO_SPEECH_DROP = 0.6
NO_SPEECH_MAX_WORDS = 2
FULL_SCALE = 32768.0

Floats = npt.NDArray[np.float32]


def segmenter_settings(settings: ChannelSettings) -> SegmenterSettings:
    """The utterance rules for a channel's settings (see module docstring)."""
    threshold = min(1.0, max(0.0, settings.speech_threshold))
    longest = min(settings.max_duration_without_endpointing, MAX_UTTERANCE_SECONDS)
    every = PARTIAL_EVERY_ONE_CHANNEL if settings.channel_count <= 1 else PARTIAL_EVERY_SEVERAL
    return SegmenterSettings(
        start_threshold=threshold,
        end_threshold=max(0.01, threshold - HYSTERESIS),
        silence_frames=math.ceil(max(settings.endpointing, MIN_ENDPOINTING) / FRAME_SECONDS - 1e-9),
        preroll_frames=round(PREROLL_SECONDS / FRAME_SECONDS),
        max_frames=max(2, int(longest / FRAME_SECONDS + 1e-9)),
        cut_window_frames=round(CUT_WINDOW_SECONDS / FRAME_SECONDS),
        partial_every_samples=round(every * ENGINE_SAMPLE_RATE),
        # The first partial as early with several channels as with one: it is what shows
        # the speech was heard; the later ones are spaced out to share the decoder.
        first_partial_samples=round(PARTIAL_EVERY_ONE_CHANNEL * ENGINE_SAMPLE_RATE),
    )


def is_noise(decoded: Decoded) -> bool:
    """Whisper's answer to noise: "you", "Thank you." with a high no-speech probability."""
    return decoded.no_speech_prob > NO_SPEECH_DROP and len(decoded.words) <= NO_SPEECH_MAX_WORDS


class WhisperEngine:
    """One model per server process, shared by every channel through a fair queue."""

    name = "whisper"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        workers: int = 1,
        cpu_threads: int | None = None,
        loaded: Any = None,  # a model already loaded (tests share one)
    ) -> None:
        import os

        from gladia_cli.server.engines.whisper_models import load_model

        threads = cpu_threads or max(1, (os.cpu_count() or 1) // max(1, workers))
        self.model_name = model
        self._model = loaded or load_model(model, cpu_threads=threads, workers=workers)
        self.decoder = WhisperDecoder(self._model)
        self.queue = DecodeQueue(workers)
        self._vad_session = shared_session()

    def open_channel(self, settings: ChannelSettings) -> WhisperRecognizer:
        return WhisperRecognizer(settings, self.decoder, self.queue, self._vad_session)

    def skipped_partials(self, session_id: str) -> int:
        return self.queue.skipped_partials(session_id)

    @property
    def translates(self) -> bool:
        """Whether the model can translate (tiny.en is English only)."""
        return self.decoder.multilingual

    def translate(self, session_id: str, channel: int, audio: Floats, language: str) -> str:
        """`audio` (16 kHz float32) in English, decoded behind every transcript."""
        return str(
            self.queue.run_background(
                session_id, channel, lambda: self.decoder.translate(audio, language=language)
            )
        )

    def forget(self, session_id: str) -> None:
        self.queue.forget(session_id)

    def close(self) -> None:
        self.queue.close()


class _Audio:
    """The channel's recent samples (float32), addressed by sample index from the start."""

    def __init__(self) -> None:
        self._data = np.zeros(0, dtype=np.float32)
        self.start = 0  # index of _data[0]

    @property
    def end(self) -> int:
        return self.start + len(self._data)

    def append(self, samples: Floats) -> None:
        self._data = np.concatenate([self._data, samples])

    def get(self, start: int, end: int) -> Floats:
        return self._data[max(0, start - self.start) : max(0, end - self.start)].copy()

    def boundary_energy(self, frame: int) -> float:
        """Mean power of the frames either side of where `frame` begins: a cut there is
        between words when both are quiet (one frame alone can be a stop consonant)."""
        first = (frame - 1) * FRAME_SAMPLES - self.start
        chunk = self._data[max(0, first) : max(0, first + 2 * FRAME_SAMPLES)]
        return float(np.mean(chunk * chunk)) if len(chunk) else 0.0

    def keep_from(self, sample: int) -> None:
        if sample > self.start:
            self._data = self._data[sample - self.start :]
            self.start = sample


class WhisperRecognizer:
    """One channel: VAD → segmenter → decodes (see module docstring)."""

    def __init__(
        self,
        settings: ChannelSettings,
        decoder: WhisperDecoder,
        queue: DecodeQueue,
        vad_session: Any,
    ) -> None:
        self._settings = settings
        self._decoder = decoder
        self._queue = queue
        self._rules = segmenter_settings(settings)
        self._segmenter = UtteranceSegmenter(self._rules)
        self._vad = StreamingVad(vad_session)
        self._audio = _Audio()
        self._keep_frames = max(self._rules.preroll_frames, self._rules.cut_window_frames) + 1
        self._languages = tuple(settings.languages)
        if not decoder.multilingual:
            self._language: str | None = "en"
        elif len(self._languages) == 1:
            self._language = self._languages[0]
        else:
            self._language = None  # detected (and kept, unless code switching)
        self._late: LateSink | None = None
        self._lock = threading.Lock()  # the open utterance, shared with partial callbacks
        self._utterance = 0  # serial number of the open (or last) utterance
        self._open_start: int | None = None
        self._finished = False

    def set_late_sink(self, sink: LateSink) -> None:
        self._late = sink

    def feed(self, samples: Samples) -> list[EngineEvent]:
        if self._finished:
            raise RuntimeError("feed() after finish()")
        floats = samples.astype(np.float32) / FULL_SCALE
        self._audio.append(floats)
        events: list[EngineEvent] = []
        due: PartialDue | None = None
        for probability in self._vad.feed(floats):
            frame = self._segmenter.frames
            for action in self._segmenter.push(probability, self._audio.boundary_energy(frame)):
                if isinstance(action, PartialDue):
                    due = action
                else:
                    due = None
                    events += self._act(action)
        if due is not None and due.start == self._open_start:
            self._offer_partial(due)  # only the latest of this batch is worth decoding
        self._trim()
        return events

    def finish(self) -> list[EngineEvent]:
        if self._finished:
            return []
        self._finished = True
        events: list[EngineEvent] = []
        for action in self._segmenter.finish():
            assert isinstance(action, UtteranceEnd)
            # The tail shorter than a VAD frame is part of the last utterance's audio.
            events += self._close(action, audio_end=self._audio.end)
        return events

    # --- actions -------------------------------------------------------------------------

    def _act(self, action: UtteranceStart | UtteranceEnd) -> list[EngineEvent]:
        if isinstance(action, UtteranceStart):
            with self._lock:
                self._utterance += 1
                self._open_start = action.frame
            return [SpeechStarted(_seconds(action.frame))]
        return self._close(action, audio_end=action.audio_end * FRAME_SAMPLES)

    def _close(self, action: UtteranceEnd, *, audio_end: int) -> list[EngineEvent]:
        with self._lock:
            self._open_start = None  # from now on a late partial is out of date
        start, end = _seconds(action.start), _seconds(action.end)
        audio = self._audio.get(action.start * FRAME_SAMPLES, audio_end)
        keep = self._code_switching_or_undecided()
        decoded: Decoded = self._queue.run_final(
            self._settings.session_id,
            self._settings.channel,
            lambda: self._decoder.final(
                audio,
                language=self._language,
                candidates=self._languages,
                vocabulary=self._settings.vocabulary,
            ),
            live=self._settings.live,
        )
        if keep and not self._settings.code_switching:
            self._language = decoded.language  # the first utterance decides for the channel
        events: list[EngineEvent] = [SpeechEnded(end, turn_end=not action.cut)]
        if decoded.text and not is_noise(decoded):
            events.append(_hypothesis(decoded, start, end, is_final=True))
        return events

    def _code_switching_or_undecided(self) -> bool:
        return self._language is None or self._settings.code_switching

    def _offer_partial(self, due: PartialDue) -> None:
        sink = self._late
        if sink is None:
            return
        serial = self._utterance
        audio = self._audio.get(due.start * FRAME_SAMPLES, due.end * FRAME_SAMPLES)
        start, end = _seconds(due.start), _seconds(due.end)
        language = None if self._settings.code_switching else self._language

        def job() -> Decoded:
            return self._decoder.partial(
                audio,
                language=language,
                candidates=self._languages,
                vocabulary=self._settings.vocabulary,
            )

        def done(decoded: Decoded | None, error: BaseException | None) -> None:
            from gladia_cli.server.decode_queue import QueueClosed

            if isinstance(error, QueueClosed):
                return
            if error is not None:
                sink(error)
                return
            assert decoded is not None
            with self._lock:
                current = serial == self._utterance and self._open_start is not None
                if current and decoded.text and not is_noise(decoded):
                    # Under the lock: the utterance's final cannot overtake this partial.
                    sink([_hypothesis(decoded, start, end, is_final=False)])

        self._queue.offer_partial(
            self._settings.session_id, self._settings.channel, job, done, live=self._settings.live
        )

    def _trim(self) -> None:
        """Keep the open utterance's audio, or the frames a new one may reach back to."""
        frames = self._segmenter.frames
        keep_from = frames - self._keep_frames
        if self._open_start is not None:
            keep_from = min(keep_from, self._open_start)
        self._audio.keep_from(max(0, keep_from) * FRAME_SAMPLES)


def _seconds(frame: int) -> float:
    return round(frame * FRAME_SECONDS, 3)


def _hypothesis(decoded: Decoded, start: float, end: float, *, is_final: bool) -> Hypothesis:
    """`decoded` placed on the session timeline: words clamped inside the utterance."""
    words = []
    floor = start
    for word in decoded.words:
        word_start = min(end, max(floor, round(start + word.start, 3)))
        word_end = min(end, max(word_start, round(start + word.end, 3)))
        words.append(RecognizedWord(word.word, word_start, word_end, round(word.confidence, 3)))
        floor = word_start
    return Hypothesis(
        text=decoded.text,
        start=start,
        end=end,
        confidence=round(decoded.confidence, 3),
        words=tuple(words),
        is_final=is_final,
        language=decoded.language,
    )
