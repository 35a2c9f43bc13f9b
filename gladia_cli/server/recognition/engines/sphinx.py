"""Offline English recognition with pocketsphinx 5: the small install, for plumbing checks.

Per channel, a pocketsphinx `Endpointer` (WebRTC-style VAD plus a sliding decision window)
finds speech and a `Decoder` transcribes it. Everything is driven by fixed 30 ms frames
counted from the start of the stream, and the decoder is always fed one frame per call
(its live cepstral mean normalisation updates per call, so the call size changes results):
the output therefore depends only on the samples, never on how they were cut into `feed`s.

Settings map as follows:

- `speech_threshold` (0 to 1) picks the VAD aggressiveness: `vad_mode = min(3, int(t * 4))`,
  so [0, 0.25) → LOOSE, [0.25, 0.5) → MEDIUM_LOOSE, [0.5, 0.75) (incl. the 0.6
  default) → MEDIUM_STRICT, [0.75, 1] → STRICT.
- The endpointer window stays at 0.3 s with ratio 0.9: speech starts when 90 % of the last
  0.3 s is voiced and a speech region ends when 90 % is unvoiced. A longer window would also
  delay and suppress speech starts (the ratio applies to both transitions), so
- `endpointing` is applied on top: after the VAD reports the end of speech, the utterance
  stays open until `max(endpointing, 0.3)` seconds of audio have passed since that end; if
  speech comes back first, the gap is fed to the decoder and the utterance goes on. The
  0.3 s floor exists because speech (synthetic or human) has short pauses between words:
  Gladia's 0.05 s default would cut an utterance at every word, which the VAD window could
  not even resolve.
- `max_duration_without_endpointing` forces an utterance boundary once that much audio has
  been decoded in one utterance; if speech goes on, the next utterance starts right away.
- `languages`: the wheel only carries the en-US model, so every language is decoded as
  English.

The decoder is fed the VAD's delayed view of the stream (the endpointer confirms speech
one window late), so partials lag the live audio by ~0.3 s.
"""

from __future__ import annotations

import math
import re
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

import numpy as np
from pocketsphinx import Decoder, Endpointer

from gladia_cli.server.recognition.engines.base import (
    ENGINE_SAMPLE_RATE,
    ChannelRecognizer,
    ChannelSettings,
    Engine,
    EngineEvent,
    Hypothesis,
    RecognizedWord,
    Samples,
    SpeechEnded,
    SpeechStarted,
)

VAD_WINDOW = 0.3  # seconds the endpointer looks at to decide a transition
VAD_RATIO = 0.9  # fraction of the window that must agree
MIN_ENDPOINTING = 0.3  # see module docstring: shorter silences are pauses between words
PARTIAL_EVERY_FRAMES = 10  # 10 VAD frames of 30 ms: a partial check every 0.3 s of speech
DECODER_FRAME_RATE = 100  # decoder frames per second (segment frame indices use this)
DEFAULT_MAX_IDLE_DECODERS = 2  # each holds ~90 MB
FULL_SCALE = 32768.0

# CEPSTRAL_MEAN_PRIOR. The decoder normalises features by a running cepstral mean that starts
# from a prior weighted like 5 s of audio. pocketsphinx's prior (40,3,-1) fits speech at
# about -40 dBFS, so louder speech is decoded badly until the mean catches up — the first
# utterance of a session mostly. Two measures, together taking the streamed word recall of
# the espeak en-us+f2 voice on 14 sentences from 45 % to 70 % (71 % at a 20 dB lower level):
# - the first utterance of a channel starts from a prior whose energy term (c0) is set
#   from the level of the speech onset (c0 moves ~0.93 per dB; fitted on espeak speech),
# - the mean is re-estimated after every frame (`get_cmn(update=True)`) instead of every
#   few seconds.
C0_AT_MINUS_20_DBFS = 60.6
C0_PER_DB = 0.93
CEPSTRAL_MEAN_PRIOR_SHAPE = "3,-1"  # pocketsphinx's default for c1, c2 (the rest are 0)

_ALTERNATE_PRONUNCIATION = re.compile(r"\(\d+\)$")

PocketsphinxDecoder = Any  # pocketsphinx ships no type stubs


def vad_mode_for(speech_threshold: float) -> int:
    """Map Gladia's 0 to 1 speech threshold onto the VAD's four aggressiveness levels."""
    return min(3, max(0, int(speech_threshold * 4)))


def _is_filler(word: str) -> bool:
    """`<s>`, `</s>`, `<sil>`, `[NOISE]`, `[SPEECH]`, `+SPN+`… are not words."""
    return word.startswith(("<", "[", "+"))


class SphinxEngine(Engine):
    """Creates per-channel recognisers and keeps a thread-safe pool of idle decoders.

    A decoder takes ~0.3 s and ~90 MB to create, so finished channels give theirs back
    (up to `max_idle_decoders` are kept). Different recognisers may run in different
    threads at the same time; pocketsphinx holds the GIL while decoding, though, so they do
    not decode in parallel.
    """

    name = "sphinx"

    def __init__(self, *, max_idle_decoders: int = DEFAULT_MAX_IDLE_DECODERS) -> None:
        self._max_idle_decoders = max_idle_decoders
        self._idle: list[PocketsphinxDecoder] = []
        self._lock = threading.Lock()
        self._decoders_created = 0

    @property
    def decoders_created(self) -> int:
        with self._lock:
            return self._decoders_created

    @property
    def idle_decoders(self) -> int:
        with self._lock:
            return len(self._idle)

    def preload(self, count: int = 1) -> None:
        """Create decoders ahead of time so the first sessions don't wait for them."""
        decoders = [self._acquire() for _ in range(count)]
        for decoder in decoders:
            self._release(decoder)

    def open_channel(self, settings: ChannelSettings) -> SphinxRecognizer:
        return SphinxRecognizer(settings, self._acquire(), self._release)

    def _acquire(self) -> PocketsphinxDecoder:
        with self._lock:
            decoder = self._idle.pop() if self._idle else None
            if decoder is None:
                self._decoders_created += 1
        if decoder is None:  # created outside the lock: it takes ~0.3 s
            decoder = Decoder(samprate=ENGINE_SAMPLE_RATE, loglevel="FATAL")
        # The live cepstral mean adapts to the audio decoded (set_cmn is not enough: the
        # running sums survive it); a fresh feature extractor makes a reused decoder give
        # exactly what a new one would, whatever it heard in earlier sessions.
        decoder.reinit_feat()
        return decoder

    def _release(self, decoder: PocketsphinxDecoder) -> None:
        with self._lock:
            if len(self._idle) < self._max_idle_decoders:
                self._idle.append(decoder)


class SphinxRecognizer(ChannelRecognizer):
    """One channel: endpointer + decoder over fixed 30 ms frames (see module docstring)."""

    def __init__(
        self,
        settings: ChannelSettings,
        decoder: PocketsphinxDecoder,
        release: Callable[[PocketsphinxDecoder], None],
    ) -> None:
        self._decoder: PocketsphinxDecoder | None = decoder
        self._release = release
        self._endpointer = Endpointer(
            window=VAD_WINDOW,
            ratio=VAD_RATIO,
            vad_mode=vad_mode_for(settings.speech_threshold),
            sample_rate=ENGINE_SAMPLE_RATE,
        )
        self._frame_samples = int(self._endpointer.frame_bytes) // 2
        self._frame_seconds = self._frame_samples / ENGINE_SAMPLE_RATE
        self._silence_frames = math.ceil(
            max(settings.endpointing, MIN_ENDPOINTING) / self._frame_seconds - 1e-9
        )
        self._max_utterance_frames = max(
            1, int(settings.max_duration_without_endpointing / self._frame_seconds + 1e-9)
        )
        self._look_behind_frames = round(VAD_WINDOW / self._frame_seconds) + 1
        self._remainder = np.zeros(0, dtype=np.int16)
        self._frames_seen = 0  # VAD frames pushed into the endpointer
        # Raw frames not yet decoded that may still be (the VAD's look-behind, or a pause
        # that may be bridged); `_history_start` is the index of the first one.
        self._history: deque[bytes] = deque()
        self._history_start = 0
        self._decoded = 0  # index of the next frame the decoder gets
        self._utterance_start: int | None = None  # frame index, None when no utterance
        self._speech_end: int | None = None  # VAD end of speech inside an open utterance
        self._last_partial = ""
        self._cepstral_mean_primed = False

    def feed(self, samples: Samples) -> list[EngineEvent]:
        if self._decoder is None:
            raise RuntimeError("feed() after finish()")
        stream = np.concatenate([self._remainder, samples.astype(np.int16, copy=False)])
        whole = len(stream) - len(stream) % self._frame_samples
        self._remainder = stream[whole:]
        events: list[EngineEvent] = []
        for offset in range(0, whole, self._frame_samples):
            events += self._process_frame(stream[offset : offset + self._frame_samples].tobytes())
        return events

    def finish(self) -> list[EngineEvent]:
        if self._decoder is None:
            return []
        events: list[EngineEvent] = []
        if self._endpointer.in_speech:
            # Speech runs to the end of the stream: decode what the VAD still holds back.
            events += self._decode_through(self._frames_seen)
            tail = self._remainder.tobytes()
            if self._utterance_start is not None and tail:
                self._decoder.process_raw(tail)
            end = self._time(self._decoded) + len(self._remainder) / ENGINE_SAMPLE_RATE
            if self._utterance_start is not None:
                events += self._close_utterance(end)
        elif self._utterance_start is not None and self._speech_end is not None:
            events += self._close_utterance(self._time(self._speech_end))
        self._release(self._decoder)
        self._decoder = None
        return events

    def _process_frame(self, frame: bytes) -> list[EngineEvent]:
        index = self._frames_seen
        self._frames_seen += 1
        self._history.append(frame)
        events: list[EngineEvent] = []
        was_in_speech = self._endpointer.in_speech
        if self._endpointer.process(frame) is not None:
            # The endpointer returns its frames one window late: when speech starts it
            # dates the start back, then it releases one frame per call.
            if not was_in_speech:
                start = round(self._endpointer.speech_start / self._frame_seconds)
                if self._utterance_start is None:
                    self._decoded = start
                self._speech_end = None  # a pause inside the utterance is bridged
                events += self._decode_through(start + 1)
            else:
                events += self._decode_through(self._decoded + 1)
            if not self._endpointer.in_speech and self._utterance_start is not None:
                self._speech_end = self._decoded
        elif (
            self._speech_end is not None
            and self._utterance_start is not None
            and index + 1 - self._speech_end >= self._silence_frames
        ):
            events += self._close_utterance(self._time(self._speech_end))
        self._trim_history()
        return events

    def _decode_through(self, end_frame: int) -> list[EngineEvent]:
        """Feed frames up to `end_frame` (exclusive) to the decoder, one frame per call."""
        assert self._decoder is not None
        events: list[EngineEvent] = []
        while self._decoded < end_frame:
            if self._utterance_start is None:
                self._open_utterance(self._decoded)
                events.append(SpeechStarted(self._time(self._decoded)))
            self._decoder.process_raw(self._history[self._decoded - self._history_start])
            self._decoder.get_cmn(True)  # see CEPSTRAL_MEAN_PRIOR
            self._decoded += 1
            assert self._utterance_start is not None
            length = self._decoded - self._utterance_start
            if length >= self._max_utterance_frames:
                events += self._close_utterance(self._time(self._decoded))
            elif length % PARTIAL_EVERY_FRAMES == 0:
                events += self._partial()
        return events

    def _open_utterance(self, start_frame: int) -> None:
        assert self._decoder is not None
        if not self._cepstral_mean_primed:
            self._decoder.set_cmn(self._cepstral_mean_prior(start_frame))
            self._cepstral_mean_primed = True
        self._decoder.start_utt()
        self._utterance_start = start_frame
        self._speech_end = None
        self._last_partial = ""

    def _cepstral_mean_prior(self, start_frame: int) -> str:
        """A starting cepstral mean whose energy term matches the level of the speech onset.

        Uses the frames the VAD has already seen from `start_frame` on (its look-behind).
        """
        onset = np.frombuffer(
            b"".join(list(self._history)[start_frame - self._history_start :]), dtype=np.int16
        ).astype(np.float64)
        level_dbfs = 10 * np.log10(np.mean(onset * onset) / FULL_SCALE**2 + 1e-12)
        energy_term = C0_AT_MINUS_20_DBFS + C0_PER_DB * (level_dbfs + 20)
        return f"{energy_term:.2f},{CEPSTRAL_MEAN_PRIOR_SHAPE}"

    def _partial(self) -> list[EngineEvent]:
        """The words so far, when they changed. Word confidences are 1.0: pocketsphinx
        computes posteriors only once the utterance has ended."""
        assert self._utterance_start is not None
        start, end = self._time(self._utterance_start), self._time(self._decoded)
        partial = self._hypothesis(start, end, is_final=False)
        if not partial.text or partial.text == self._last_partial:
            return []
        self._last_partial = partial.text
        return [partial]

    def _close_utterance(self, end: float) -> list[EngineEvent]:
        assert self._decoder is not None and self._utterance_start is not None
        self._decoder.end_utt()
        start = self._time(self._utterance_start)
        self._utterance_start = None
        self._speech_end = None
        final = self._hypothesis(start, end, is_final=True)
        # An utterance with nothing recognised gets its speech end but no (empty) final.
        events: list[EngineEvent] = [SpeechEnded(end)]
        return [*events, final] if final.text else events

    def _hypothesis(self, start: float, end: float, *, is_final: bool) -> Hypothesis:
        assert self._decoder is not None
        words = tuple(self._words(start, end))
        confidence = sum(w.confidence for w in words) / len(words) if words else 0.0
        return Hypothesis(
            text=" ".join(w.word for w in words),
            start=start,
            end=end,
            confidence=round(confidence, 3),
            words=words,
            is_final=is_final,
        )

    def _words(self, start: float, end: float) -> list[RecognizedWord]:
        """The decoder's word segmentation without fillers, timed from the stream start."""
        assert self._decoder is not None
        words = []
        # seg() is None when the decoder kept no hypothesis (seen on real recordings).
        for segment in self._decoder.seg() or ():
            word = _ALTERNATE_PRONUNCIATION.sub("", str(segment.word))
            if _is_filler(word):
                continue
            # `Segment.prob` is already a linear posterior: the binding applies logmath_exp.
            words.append(
                RecognizedWord(
                    word=word,
                    start=round(min(end, start + segment.start_frame / DECODER_FRAME_RATE), 3),
                    end=round(min(end, start + (segment.end_frame + 1) / DECODER_FRAME_RATE), 3),
                    confidence=round(min(1.0, max(0.0, float(segment.prob))), 3),
                )
            )
        return words

    def _trim_history(self) -> None:
        """Keep the frames the VAD may still date a start back to, or not yet decoded."""
        keep_from = self._frames_seen - self._look_behind_frames
        if self._utterance_start is not None or self._endpointer.in_speech:
            keep_from = min(keep_from, self._decoded)
        while self._history and self._history_start < keep_from:
            self._history.popleft()
            self._history_start += 1

    def _time(self, frame: int) -> float:
        return frame * self._frame_samples / ENGINE_SAMPLE_RATE
