"""The whisper engine: streaming recognition with faster-whisper (CTranslate2), per channel.

Per channel: Silero VAD on 512-sample frames (`silero_vad`), the utterance rules of
`segmenter` (start, end, cut, partial points — all in audio time from the stream start),
and Whisper decodes (`whisper_decoding`) through the server's shared `DecodeQueue`:

- Finals are decoded when an utterance ends, and `feed` waits for them: the final follows
  its speech_end in the same batch of events. An utterance with no_speech_prob > 0.6 and
  at most 2 words is dropped (noise that Whisper "heard" as "you"): it gets its speech
  events but no final.
- A final can be ready when its utterance ends rather than start then: its audio runs
  `TAIL_SECONDS` into the silence after the speech, so once that much silence is heard
  the final is decoded on an idle decoder while the rest of the endpointing silence is
  confirmed (`_speculate`); if the speech goes on, that decode is thrown away. The final
  is the same either way (the same audio), only earlier.
- An English final the multilingual model is unsure of gets a second opinion from tiny.en
  (English only), which replaces it when clearly surer (`second_opinion`).
- Partials are offered to the queue without waiting and delivered later through the late
  sink; under load the queue skips stale ones, and while a final of the session is
  decoded only an utterance's first partial runs. They are best effort: only finals count.
  The first after 0.4 s of utterance audio, then every 0.5 s with one channel, every 1 s
  with several; when the first heard nothing, the next comes with the next audio.

Settings map as follows (defaults are Gladia's):
- `speech_threshold` t: speech starts at p ≥ t, and goes on while p ≥ t − 0.15.
- `endpointing`: silence that ends an utterance, at least 0.3 s (pauses between words are
  shorter than that; Gladia's 0.05 s default would cut at every word).
- `max_duration_without_endpointing`: an utterance is cut at its quietest point in the
  last 1.5 s before the limit (the 64 ms of lowest power around a frame boundary), or
  sooner at a pause between words heard in those 1.5 s (`PAUSE_CUT_SECONDS`); never
  more than 28 s (Whisper hears 30 s at most).
- `languages` / `code_switching`: one language → that one; several → detected among them;
  none → detected. With code switching every utterance is detected alone; otherwise each
  utterance is decoded in the language its own detection and the earlier ones', weighed by
  their length, agree on (a short first utterance does not decide alone), until the channel
  has heard `LANGUAGE_EVIDENCE_SECONDS` of speech with a clear leader (`LANGUAGE_MARGIN`
  times the next), or `LANGUAGE_MOST_SECONDS` in all: then it keeps the leader. tiny.en is
  English only.
- `vocabulary`: given to Whisper as previous text (decoding hints).

The translation add-on borrows the model (`translate`): Whisper's translate task into
English, queued behind every final and partial of every session (decode_queue.py).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from typing import Any

import numpy as np
import numpy.typing as npt

from gladia_cli.errors import EngineUnavailable
from gladia_cli.server.recognition.decode_queue import DecodeQueue
from gladia_cli.server.recognition.engines.base import (
    ENGINE_SAMPLE_RATE,
    ChannelRecognizer,
    ChannelSettings,
    Engine,
    EngineEvent,
    Hypothesis,
    LateSink,
    RecognizedWord,
    Samples,
    SpeechEnded,
    SpeechStarted,
)
from gladia_cli.server.recognition.engines.catalog import DEFAULT_MODEL, TINY_EN
from gladia_cli.server.recognition.engines.segmenter import (
    PartialDue,
    SegmenterSettings,
    UtteranceEnd,
    UtteranceSegmenter,
    UtteranceStart,
)
from gladia_cli.server.recognition.engines.silero_vad import (
    FRAME_SAMPLES,
    StreamingVad,
    shared_session,
)
from gladia_cli.server.recognition.engines.whisper_decoding import (
    Decoded,
    LeftContext,
    WhisperDecoder,
    choose_language,
)
from gladia_cli.server.recognition.malloc_tuning import keep_decode_buffers
from gladia_cli.server.recognition.recognition_load import Level

log = logging.getLogger("gladia.server")

FRAME_SECONDS = FRAME_SAMPLES / ENGINE_SAMPLE_RATE  # 0.032
MIN_ENDPOINTING = 0.3
PREROLL_SECONDS = 0.2
# Weak speech (p ≥ threshold − 0.15) up to 0.4 s before the onset starts the utterance
# there (its pre-roll before it): a soft first word under the start threshold ("Which" at
# p 0.55, then "folder" at 0.70) was cut off. Engine-level (corpus, languages detected,
# Gladia's normaliser), against the onset's pre-roll alone: English 34 → 31 errors in 914
# words (one-voice 0.049 → 0.037, long-en 0.029 → 0.033, the meeting's two English
# channels 0.047 → 0.029 and 0.041), French 0.198 → 0.192, Spanish 0.104 unchanged. A
# longer pre-roll everywhere (0.3, 0.4 s) moved as many words the other way.
PREROLL_REACH_SECONDS = 0.4
# A final's audio runs this far into the silence after its speech (Whisper hears the last
# phoneme fade), and no further: its decode can start then, while the rest of the
# endpointing silence is confirmed (WhisperRecognizer._speculate), and 0.19 s of the 0.32 s
# wait is no longer spent before the decode starts. Engine-level WER (real English 392
# words, French 466, languages set, fed in 100 ms chunks), this tail of
# 4 frames vs the whole 0.32 s: en 0.061 vs 0.064, fr 0.221 vs 0.217; 6 frames: en 0.077.
# A tail's change moves a few words either way (1-6 of 400): no tail is better, so the
# shortest that keeps the fade is taken.
TAIL_SECONDS = 0.128
# A final is decoded ahead only when the audio comes as it is spoken, in chunks of at most
# this much: a recogniser catching up (fed up to 2 s at once) has the rest of the silence in
# hand, and a guess would only add to what it must catch up on.
CAUGHT_UP_SAMPLES = round(0.25 * ENGINE_SAMPLE_RATE)
HYSTERESIS = 0.15
MAX_UTTERANCE_SECONDS = 28.0
CUT_WINDOW_SECONDS = 1.5
CUT_ENERGY_FRAMES = 2  # frames whose mean power rates a cut point (2: 64 ms)
# A pause between words this long (unvoiced frames), heard in the cut window, cuts the
# utterance there as soon as the voice comes back, instead of at the limit. A cut at the
# limit is decided up to the window's 1.5 s after its point, and the piece after it waited
# for the cut's final: on the corpus the cuts are decided 0.14-0.46 s after their point
# instead of 0.45-0.90 (mean per channel), with the same words: engine-level WER en 0.035
# (32/914), fr 0.195, es 0.104 against 0.034, 0.192, 0.104 (3 frames: 0.035, 0.188,
# 0.104, decided later). A quiet point by energy instead (under 2 or 5 % of the
# utterance's mean power) cut sooner still but cost words: en 0.044, es 0.123.
PAUSE_CUT_SECONDS = 0.064
PARTIAL_EVERY_ONE_CHANNEL = 0.5
# The first partial: the 0.2 s pre-roll and 0.2 s of speech (a word often), on every
# channel alike: it is what shows the speech was heard.
FIRST_PARTIAL_SECONDS = 0.4
PARTIAL_EVERY_SEVERAL = 1.0
# A piece that continues a cut utterance is decoded after this much of the audio before it
# (see whisper_decoding.LeftContext).
CONTEXT_SECONDS = 10.0
# A channel keeps its language once it has heard this much speech and the leading language
# weighs at least LANGUAGE_MARGIN times the next one, or once it has heard the most.
# 6 s was two utterances: Spanish prompts whose second one Whisper base took for Italian
# (a prompt with English names in it) locked a channel in Italian, WER 0.11 → 0.62 on the
# Spanish scene and 0.30 → 0.71 on the engine-level Spanish set, from a 0.2 s change of the
# audio a final hears; with 15 s the later utterances outvote the early mistake (French
# and English unchanged: 0.221, 0.061).
LANGUAGE_EVIDENCE_SECONDS = 15.0
LANGUAGE_MARGIN = 2.0
LANGUAGE_MOST_SECONDS = 30.0
NO_SPEECH_DROP = 0.6
NO_SPEECH_MAX_WORDS = 2
# A second opinion for an unsure English final: Whisper base, multilingual, sometimes loses
# a short English prompt that the English-only tiny.en gets right ("5 to extend the
# conference." came out "5", mean token probability 0.20 against tiny.en's 0.86; "Do luck
# or unlock the conference." 0.66 after tiny.en's partial "to lock or unlock the
# conference."). A final below SECOND_OPINION_BELOW is decoded by tiny.en too, whose text
# replaces it when tiny.en is surer by SECOND_OPINION_MARGIN (tiny.en's probabilities run
# higher than base's on the same audio); tiny.en decodes it in a fast final's 10 s window
# (0.16 s against 0.22 s in 15 s, and base's 0.41 s, at load 7; the same WER).
# Engine-level, three real English sets (133 finals, languages given): WER 0.064 → 0.038
# (0.062 → 0.047, 0.073 → 0.049, 0.064 → 0.029), 29 finals decoded twice; gated at 0.6,
# 8 twice, 0.046; at 0.8, 44 twice, 0.038. Whisper's own fallback (re-decoding at a
# higher temperature) made results random and cost up to 7×, see whisper_decoding.py.
# The margin was 0.1: an espeak sentence's final stayed base's "Open the door and turn on
# the light's invocation." (0.749) against tiny.en's "…lights in the kitchen." (0.839),
# after tiny.en's partial had shown the kitchen: a final worse than the partial it
# replaced. At 0.05 the real English sets are unchanged (32 errors in 914 words at 0.1,
# 0.08 and 0.05; 33 at 0).
SECOND_OPINION_BELOW = 0.75
SECOND_OPINION_MARGIN = 0.05
# A partial's no-speech estimate says little: the first one decodes the 0.2 s pre-roll and
# 0.2 s of speech in a 10 s window, and real first words came with 0.60-0.90 ("Please",
# "Next": 10 of the 13 first partials of the one-voice scene dropped at 0.6, so the first shown
# was the second, 0.5 s later). The VAD has already heard speech; a partial is dropped only
# when Whisper is all but sure there is none, and the final keeps the stricter check.
PARTIAL_NO_SPEECH_DROP = 0.95
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
        first_partial_samples=round(FIRST_PARTIAL_SECONDS * ENGINE_SAMPLE_RATE),
        tail_frames=round(TAIL_SECONDS / FRAME_SECONDS),
        reach_frames=round(PREROLL_REACH_SECONDS / FRAME_SECONDS),
        pause_cut_frames=round(PAUSE_CUT_SECONDS / FRAME_SECONDS),
    )


def kept_language(votes: Mapping[str, float], seconds: float) -> str | None:
    """The language a channel keeps after `seconds` of speech whose detections summed to
    `votes` (probability × seconds), or None while it is undecided (see the constants)."""
    ranked = [*sorted(votes.values(), reverse=True), 0.0, 0.0]
    clear = ranked[0] >= LANGUAGE_MARGIN * ranked[1]
    if seconds >= LANGUAGE_MOST_SECONDS or (clear and seconds >= LANGUAGE_EVIDENCE_SECONDS):
        return choose_language(None, {}, votes, seconds=0.0)
    return None


def is_noise(decoded: Decoded, *, partial: bool = False) -> bool:
    """Whisper's answer to noise: "you", "Thank you." with a high no-speech probability."""
    drop = PARTIAL_NO_SPEECH_DROP if partial else NO_SPEECH_DROP
    return decoded.no_speech_prob > drop and len(decoded.words) <= NO_SPEECH_MAX_WORDS


class WhisperEngine(Engine):
    """One model per server process, shared by every channel through a fair queue."""

    name = "whisper"

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        workers: int = 1,
        cpu_threads: int | None = None,
        loaded: Any = None,  # a model already loaded (tests share one)
        fast: bool = True,  # tiny.en beside a multilingual model, for English partials
    ) -> None:
        import os

        from gladia_cli.server.recognition.engines.whisper_models import load_model

        threads = cpu_threads or max(1, (os.cpu_count() or 1) // max(1, workers))
        self.model_name = model
        # One more replica than decoders (CTranslate2's replicas share the weights: no
        # memory): a partial worker runs beside the finals (decode_queue.py), so a final
        # never waits for a partial to end.
        replicas = workers + 1
        self._model = loaded or load_model(model, cpu_threads=threads, workers=replicas)
        self.decoder = WhisperDecoder(self._model)
        # English partials (and finals when recognition must give way) from tiny.en, about
        # 2.3 times as fast: Gladia's own partials come from a smaller model than its finals.
        # On as many threads as a final (one thread doubled a partial's time, 0.1 → 0.2 s,
        # for little relief of a final running beside it).
        self.fast = self.decoder
        if fast and self.decoder.multilingual:
            try:
                tiny = load_model(TINY_EN, cpu_threads=threads, workers=replicas)
            except EngineUnavailable as exc:
                log.info("whisper: no fast model for English partials (%s)", exc.message)
            else:
                self.fast = WhisperDecoder(tiny)
        # The weights were loaded under the server's low mmap threshold (their temporaries
        # went back); from now on a decode's buffers are reused from the heap instead of
        # being mapped and faulted in each time: a final 0.40 s instead of 0.65.
        keep_decode_buffers()
        self.queue = DecodeQueue(workers, partial_workers=1)
        self._vad_session = shared_session()

    def open_channel(self, settings: ChannelSettings) -> WhisperRecognizer:
        return WhisperRecognizer(
            settings, self.decoder, self.queue, self._vad_session, fast=self.fast
        )

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


def second_opinion(first: Callable[[], Decoded], second: Callable[[], Decoded] | None) -> Decoded:
    """The `first` decode; when it is unsure and in English (`unsure_in_english`), the
    `second` (the English-only model's), whose text wins only if it is clearly surer."""
    decoded = first()
    if second is None or not unsure_in_english(decoded):
        return decoded
    opinion = second()
    if decoded.looped and not opinion.looped:
        return opinion  # a loop's confidence is no measure: any text that did not loop wins
    return opinion if opinion.confidence > decoded.confidence + SECOND_OPINION_MARGIN else decoded


def unsure_in_english(decoded: Decoded) -> bool:
    """Whether an English final is worth a second opinion from the English-only model:
    unsure, or looped (a loop's repeated tokens are likely one by one: "5 5", 0.86)."""
    unsure = decoded.confidence < SECOND_OPINION_BELOW or decoded.looped
    return decoded.language == "en" and unsure


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
        """Mean power of the frames around where `frame` begins (CUT_ENERGY_FRAMES: those
        before it, and `frame` itself): a cut there is between words when they are all
        quiet (one frame alone can be a stop consonant)."""
        first = (frame - CUT_ENERGY_FRAMES + 1) * FRAME_SAMPLES - self.start
        chunk = self._data[max(0, first) : max(0, first + CUT_ENERGY_FRAMES * FRAME_SAMPLES)]
        return float(np.mean(chunk * chunk)) if len(chunk) else 0.0

    def keep_from(self, sample: int) -> None:
        if sample > self.start:
            self._data = self._data[sample - self.start :]
            self.start = sample


class WhisperRecognizer(ChannelRecognizer):
    """One channel: VAD → segmenter → decodes (see module docstring)."""

    def __init__(
        self,
        settings: ChannelSettings,
        decoder: WhisperDecoder,
        queue: DecodeQueue,
        vad_session: Any,
        *,
        fast: WhisperDecoder | None = None,
    ) -> None:
        self._settings = settings
        self._decoder = decoder
        self._fast = fast or decoder  # English only, or the same decoder
        self._queue = queue
        self._load = Level.FULL  # how much to do (server/recognition/recognition_load.py)
        self._partials_offered = 0  # in the open utterance
        # (utterance serial, frames heard) of a first partial that heard nothing
        self._retry_partial: tuple[int, int] | None = None
        self._rules = segmenter_settings(settings)
        self._segmenter = UtteranceSegmenter(self._rules)
        self._vad = StreamingVad(vad_session)
        self._audio = _Audio()
        reach_back = self._rules.preroll_frames + self._rules.reach_frames
        self._keep_frames = max(reach_back, self._rules.cut_window_frames) + 1
        self._languages = tuple(settings.languages)
        if not decoder.multilingual:
            self._language: str | None = "en"
        elif len(self._languages) == 1:
            self._language = self._languages[0]
        else:
            self._language = None  # detected (and kept, unless code switching)
        # Language detections so far, in probability × seconds, until the channel decides.
        self._votes: dict[str, float] = {}
        self._voted_seconds = 0.0
        self._late: LateSink | None = None
        self._lock = threading.Lock()  # the open utterance, shared with partial callbacks
        self._utterance = 0  # serial number of the open (or last) utterance
        self._open_start: int | None = None
        self._finished = False
        # The last utterance when it was cut at the maximum duration: (its end frame, its
        # final), the left context of the piece that continues it.
        self._cut_before: tuple[int, Hypothesis] | None = None
        # A final decoded ahead (_speculate): (utterance start frame, audio end sample), and
        # its decode.
        self._speculation: tuple[tuple[int, int], Future[Decoded]] | None = None
        self.speculations_used = 0  # finals that were ready when their silence was
        self.speculations_void = 0  # decoded for nothing: the speech went on

    def set_late_sink(self, sink: LateSink) -> None:
        self._late = sink

    def set_load(self, level: int) -> None:
        self._load = Level(level)

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
        if due is not None and due.start == self._open_start and self._partial_allowed():
            self._offer_partial(due)  # only the latest of this batch is worth decoding
        elif self._retry_due() and self._partial_allowed():
            assert self._open_start is not None
            self._offer_partial(PartialDue(self._open_start, self._segmenter.frames), retry=True)
        if len(samples) <= CAUGHT_UP_SAMPLES:
            self._speculate()  # (behind, the rest of the silence is at hand already)
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
            self._queue.speaking(self._settings.session_id, self._settings.channel, True)
            self._partials_offered = 0
            return [SpeechStarted(_seconds(action.frame))]
        return self._close(action, audio_end=action.audio_end * FRAME_SAMPLES)

    def _close(self, action: UtteranceEnd, *, audio_end: int) -> list[EngineEvent]:
        with self._lock:
            self._open_start = None  # from now on a late partial is out of date
        self._queue.speaking(self._settings.session_id, self._settings.channel, False)
        start, end = _seconds(action.start), _seconds(action.end)
        speculation, self._speculation = self._speculation, None
        if speculation is not None and speculation[0] == (action.start, audio_end):
            ready = speculation[1].done()
            decoded: Decoded = speculation[1].result()  # the same audio, decoded already
            self.speculations_used += 1
            log.debug(
                "channel %d: final at %.2f s decoded ahead (ready: %s)",
                self._settings.channel,
                end,
                ready,
            )
        else:
            self.speculations_void += speculation is not None
            log.debug("channel %d: final at %.2f s decoded now", self._settings.channel, end)
            hurry = self._load >= Level.FAST_FINALS
            decoded = self._queue.run_final(
                self._settings.session_id,
                self._settings.channel,
                self._final_job(action.start, audio_end, hurry=hurry),
                live=self._settings.live,
            )
        events: list[EngineEvent] = [SpeechEnded(end, turn_end=not action.cut)]
        final = None
        switching = self._settings.code_switching
        if decoded.text and not is_noise(decoded):
            final = _hypothesis(decoded, start, end, is_final=True)
            events.append(final)
            if self._language is None and not switching:
                self._vote(decoded, seconds=end - start)  # noise says nothing of the language
        self._cut_before = (action.end, final) if action.cut and final is not None else None
        return events

    def _final_job(self, start_frame: int, audio_end: int, *, hurry: bool) -> Callable[[], Decoded]:
        """The decode of a final: the utterance's audio from `start_frame` to the sample
        `audio_end`, after its left context; `hurry`: recognition is behind (no second
        opinion then: the fast decoder is the English one)."""
        audio = self._audio.get(start_frame * FRAME_SAMPLES, audio_end)
        context = self._left_context(start_frame)
        switching = self._settings.code_switching
        language = None if switching else self._language
        prior = None if switching else dict(self._votes)

        def decode(decoder: WhisperDecoder, *, fast: bool) -> Decoded:
            return decoder.final(
                audio,
                language=language,
                candidates=self._languages,
                vocabulary=self._settings.vocabulary,
                context=context,
                prior=prior,
                fast=fast,
            )

        if hurry:
            return lambda: decode(self._decoder_for(language), fast=True)
        english = self._fast  # tiny.en beside a multilingual model, else the same decoder
        second = None if english is self._decoder else lambda: decode(english, fast=True)
        return lambda: second_opinion(lambda: decode(self._decoder, fast=False), second)

    def _speculate(self) -> None:
        """Decode the open utterance's final while the silence that ends it is confirmed
        (segmenter.likely_end): the final is ready when the silence is, instead of its
        decode starting then. Only at full quality, for live sessions, and on an idle
        decoder with no other channel speaking (decode_queue.speculate_final): a guess
        must not delay another's final.
        Void if the speech goes on (its decode is then wasted)."""
        likely = self._segmenter.likely_end()
        if likely is None or self._load != Level.FULL or not self._settings.live:
            return
        key = (likely.start, likely.audio_end * FRAME_SAMPLES)
        if self._speculation is not None:
            if self._speculation[0] == key:
                return
            self.speculations_void += 1
        future = self._queue.speculate_final(
            self._settings.session_id,
            self._settings.channel,
            self._final_job(likely.start, likely.audio_end * FRAME_SAMPLES, hurry=False),
        )
        self._speculation = (key, future) if future is not None else None

    def _left_context(self, start_frame: int) -> LeftContext | None:
        """The audio and text before an utterance that continues a cut one, else None."""
        if self._cut_before is None:
            return None
        cut_end, before = self._cut_before
        if start_frame - cut_end > self._rules.preroll_frames:
            return None  # a pause came between: a new utterance, not the rest of one
        since = max(before.start, before.end - CONTEXT_SECONDS)
        words = [w.word for w in before.words if w.start >= since]
        if not words:
            return None
        audio = self._audio.get(round(since * ENGINE_SAMPLE_RATE), start_frame * FRAME_SAMPLES)
        return LeftContext(audio, " ".join(words))

    def _vote(self, decoded: Decoded, *, seconds: float) -> None:
        """Add an utterance's detection to the channel's; decide once there is enough."""
        for code, probability in decoded.detected.items():
            self._votes[code] = self._votes.get(code, 0.0) + probability * seconds
        self._voted_seconds += seconds
        self._language = kept_language(self._votes, self._voted_seconds)

    def _decoder_for(self, language: str | None) -> WhisperDecoder:
        """The fast decoder for English, the channel's own for the rest (or undecided)."""
        return self._fast if language == "en" else self._decoder

    def _partial_allowed(self) -> bool:
        """At full quality, every partial; giving way, only an utterance's first; then none."""
        if self._load >= Level.FAST_FINALS:
            return False
        return self._load == Level.FULL or self._partials_offered == 0

    def _partial_language(self) -> str | None:
        """A partial's language: the channel's, or its leading one so far, or detected."""
        if self._settings.code_switching:
            return None
        if self._language is None and self._votes:
            return choose_language(None, {}, self._votes, seconds=0.0)
        return self._language

    def _offer_partial(self, due: PartialDue, *, retry: bool = False) -> None:
        """Queue a partial of the open utterance; `retry`: it stands for the utterance's
        first, which heard nothing."""
        sink = self._late
        if sink is None:
            return
        serial = self._utterance
        audio = self._audio.get(due.start * FRAME_SAMPLES, due.end * FRAME_SAMPLES)
        start, end = _seconds(due.start), _seconds(due.end)
        language = self._partial_language()
        decoder = self._decoder_for(language)
        self._partials_offered += 1
        first = self._partials_offered == 1

        def job() -> Decoded:
            return decoder.partial(
                audio,
                language=language,
                candidates=self._languages,
                vocabulary=self._settings.vocabulary,
            )

        def done(decoded: Decoded | None, error: BaseException | None) -> None:
            from gladia_cli.server.recognition.decode_queue import QueueClosed

            if isinstance(error, QueueClosed):
                return
            if error is not None:
                sink(error)
                return
            assert decoded is not None
            with self._lock:
                current = serial == self._utterance and self._open_start is not None
                if current and decoded.text and not is_noise(decoded, partial=True):
                    # Under the lock: the utterance's final cannot overtake this partial.
                    sink([_hypothesis(decoded, start, end, is_final=False)])
                elif current and first:
                    self._retry_partial = (serial, due.end)

        self._queue.offer_partial(
            self._settings.session_id,
            self._settings.channel,
            job,
            done,
            live=self._settings.live,
            first=first or retry,
        )

    def _retry_due(self) -> bool:
        """Whether the open utterance's first partial heard nothing (0.4 s is often the
        pre-roll and half a word) and more has been heard since: its next partial comes
        now, not a partial period (0.5 s, 1 s with several channels) after the first.
        Once per utterance."""
        with self._lock:
            if self._retry_partial is None:
                return False
            serial, heard = self._retry_partial
            if serial != self._utterance or self._open_start is None:
                self._retry_partial = None  # that utterance is over
                return False
            if self._segmenter.frames <= heard:
                return False  # nothing new heard yet
            self._retry_partial = None
            return True

    def _trim(self) -> None:
        """Keep the open utterance's audio, or the frames a new one may reach back to."""
        frames = self._segmenter.frames
        keep_from = frames - self._keep_frames
        if self._open_start is not None:
            keep_from = min(keep_from, self._open_start)
        if self._cut_before is not None:
            cut_end = self._cut_before[0]
            continues = self._open_start is not None and self._open_start - cut_end <= (
                self._rules.preroll_frames
            )
            if not continues and frames - cut_end > self._rules.preroll_frames:
                self._cut_before = None  # nothing continues it: its audio can go
        if self._cut_before is not None:  # the left context of the piece after a cut
            since = self._cut_before[1].end - CONTEXT_SECONDS
            keep_from = min(keep_from, math.floor(since / FRAME_SECONDS))
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
