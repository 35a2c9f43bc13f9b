"""One Whisper decode of one utterance's audio: a partial (fast, provisional) or a final.

Both decode greedily (beam 1) with no temperature fallback: fallback re-decodes at higher
temperatures when the output looks poor, which on hard audio multiplied the cost by up to
7 and made the result random. Both trim repetition loops (greedy Whisper sometimes loops).

- A final encodes its audio plus 2 s, padded to at least 15 s, and gets word timings from
  the cross-attention alignment (CTranslate2's `align`, as faster-whisper's
  `word_timestamps` does). The encoder's cost grows faster than the window (base: 0.88 s
  for 30 s, 0.15 s for 10 s, at load): on real speech at Gladia's defaults (a 5 s maximum
  utterance; engine-level, English 392 words, French 466, Spanish 537) the full 30 s window
  gave WER 0.061 / 0.215 / 0.308 for 70 / 86 / 116 CPU seconds, 15 s gave 0.064 / 0.217 /
  0.295 for 25 / 30 / 48, 10 s 0.077 / 0.223 / 0.322 for 18 / 24 / 35: 15 s is the default,
  10 s what a final gets when recognition must give way (`fast`).
- A partial encodes a shortened window, the audio plus 1 s, padded to at least 10 s: the
  encoder's cost grows with the window, and a full window every 0.5 s fell 5–31 s behind
  real time in the prototype. Its tokens are capped at 10 + 6 per second of audio.

The language is the one given, or detected from the encoder output (among `candidates`
when given). Custom vocabulary goes in the previous-text prompt, Whisper's way of being
told which words to expect. CTranslate2 releases the GIL while it computes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from gladia_cli.server.recognition.engines.base import ENGINE_SAMPLE_RATE, RecognizedWord

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

FULL_WINDOW_SECONDS = 30
PARTIAL_MIN_WINDOW_SECONDS = 10
FRAMES_PER_SECOND = 100  # mel frames (hop 160 at 16 kHz)
MAX_LENGTH = 448  # Whisper's decoder positions, prompt included
MAX_PROMPT_TOKENS = MAX_LENGTH // 2 - 1
PARTIAL_TOKENS_BASE = 10
PARTIAL_TOKENS_PER_SECOND = 6
# A final's tokens: twice the fastest real speech of the corpus (6 tokens/s, French), and
# room for scripts that take more tokens per second. Without a cap a repetition loop ran
# to Whisper's 448 positions: 224 tokens, 3 s for a 2 s utterance ("5 5 5 5…" for "5 to
# extend the conference."), the final of a meeting's channel 3.9 s late.
FINAL_TOKENS_BASE = 20
FINAL_TOKENS_PER_SECOND = 12
MAX_REPEATS = 2  # a loop is an n-gram repeated more often than this in a row
MAX_LOOP_NGRAM = 12
PREPEND_PUNCTUATION = "\"'“¿([{-"
APPEND_PUNCTUATION = "\"'.。,，!！?？:：”)]}、"

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class LeftContext:
    """What came just before an utterance that continues a cut one: its audio (the end of
    the previous utterance) and the text Whisper gave it. The decode hears both and is
    forced to begin with that text (Whisper's prefix), so it goes on from there: words at
    the cut are heard whole and the sentence keeps its sense, and only what follows the
    prefix is kept."""

    audio: Floats
    text: str


@dataclass(frozen=True)
class Decoded:
    text: str
    words: tuple[RecognizedWord, ...]  # times from the start of the audio decoded
    confidence: float  # exp of the mean token log-probability
    language: str
    no_speech_prob: float
    # The language detection of this audio (code → probability, among the candidates),
    # when the language was not given; a channel sums them over its first utterances.
    detected: dict[str, float] = field(default_factory=dict)
    # The decode looped (trim_repetitions cut a repeated n-gram): the text is unreliable
    # even when each token of the loop was likely (the confidence says nothing then).
    looped: bool = False


def trim_repetitions(tokens: list[int], max_repeats: int = MAX_REPEATS) -> list[int]:
    """`tokens` with every run of an n-gram repeated more than `max_repeats` times in a row
    cut back to `max_repeats` occurrences (n from 1 to MAX_LOOP_NGRAM)."""
    out = list(tokens)
    for n in range(1, MAX_LOOP_NGRAM + 1):
        i = 0
        while i + n * (max_repeats + 1) <= len(out):
            gram = out[i : i + n]
            repeats = 1
            while out[i + repeats * n : i + (repeats + 1) * n] == gram:
                repeats += 1
            if repeats > max_repeats:
                del out[i + max_repeats * n : i + repeats * n]
            i += 1
    return out


def choose_language(
    given: str | None,
    detected: Mapping[str, float],
    prior: Mapping[str, float] | None,
    *,
    seconds: float,
) -> str:
    """The language to decode in: the one given; else the detection of this audio, weighed
    by its length, added to the `prior` (what the channel's earlier utterances said, in
    probability × seconds): a short first utterance does not decide alone."""
    if given:
        return given
    votes = dict(prior or {})
    for code, probability in detected.items():
        votes[code] = votes.get(code, 0.0) + probability * max(seconds, 0.1)
    return max(votes.items(), key=lambda pair: pair[1])[0] if votes else "en"


# A final's encoder window: the audio and this margin, at least this long (see the module
# docstring for the figures behind 15 s).
FINAL_MIN_WINDOW_SECONDS = 15
FAST_FINAL_MIN_WINDOW_SECONDS = 10  # when recognition must give way
FINAL_MARGIN_SECONDS = 2.0


def final_window_seconds(audio_seconds: float, *, fast: bool = False) -> int:
    shortest = FAST_FINAL_MIN_WINDOW_SECONDS if fast else FINAL_MIN_WINDOW_SECONDS
    needed = math.ceil(audio_seconds + FINAL_MARGIN_SECONDS)
    return min(FULL_WINDOW_SECONDS, max(shortest, needed))


def partial_window_seconds(audio_seconds: float) -> int:
    return min(FULL_WINDOW_SECONDS, max(PARTIAL_MIN_WINDOW_SECONDS, math.ceil(audio_seconds + 1.0)))


def final_token_cap(audio_seconds: float) -> int:
    return FINAL_TOKENS_BASE + math.ceil(FINAL_TOKENS_PER_SECOND * audio_seconds)


def partial_token_cap(audio_seconds: float) -> int:
    return PARTIAL_TOKENS_BASE + math.ceil(PARTIAL_TOKENS_PER_SECOND * audio_seconds)


class WhisperDecoder:
    """Decodes with a loaded faster-whisper model; safe to call from several threads."""

    def __init__(self, model: WhisperModel) -> None:
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens, merge_punctuations

        self._model = model
        self._pad_or_trim = pad_or_trim
        self._tokenizer_class = Tokenizer
        self._merge_punctuations = merge_punctuations
        self.multilingual = bool(model.model.is_multilingual)
        english = Tokenizer(model.hf_tokenizer, self.multilingual, task="transcribe", language="en")
        # The non-speech symbols Whisper should not write (faster-whisper's default set).
        self._suppress = get_suppressed_tokens(english, [-1])
        self.languages = frozenset(model.supported_languages)

    def final(
        self,
        audio: Floats,
        *,
        language: str | None,
        candidates: tuple[str, ...] = (),
        vocabulary: tuple[str, ...] = (),
        context: LeftContext | None = None,
        prior: Mapping[str, float] | None = None,
        fast: bool = False,
    ) -> Decoded:
        """`fast`: recognition is behind; a shorter window (FAST_FINAL_MIN_WINDOW_SECONDS)."""
        heard = len(audio) + (len(context.audio) if context is not None else 0)
        return self._decode(
            audio,
            window=final_window_seconds(heard / ENGINE_SAMPLE_RATE, fast=fast),
            max_new_tokens=final_token_cap(heard / ENGINE_SAMPLE_RATE),
            language=language,
            candidates=candidates,
            vocabulary=vocabulary,
            context=context,
            prior=prior,
        )

    def partial(
        self,
        audio: Floats,
        *,
        language: str | None,
        candidates: tuple[str, ...] = (),
        vocabulary: tuple[str, ...] = (),
        prior: Mapping[str, float] | None = None,
    ) -> Decoded:
        seconds = len(audio) / ENGINE_SAMPLE_RATE
        return self._decode(
            audio,
            window=partial_window_seconds(seconds),
            max_new_tokens=partial_token_cap(seconds),
            language=language,
            candidates=candidates,
            vocabulary=vocabulary,
            prior=prior,
        )

    def translate(self, audio: Floats, *, language: str) -> str:
        """The utterance in English: Whisper's translate task on the full window, from
        `language` (the one recognised). Text only: translated words have no audio times."""
        audio = audio[: FULL_WINDOW_SECONDS * ENGINE_SAMPLE_RATE]
        features = self._model.feature_extractor(audio)
        features = self._pad_or_trim(features, FULL_WINDOW_SECONDS * FRAMES_PER_SECOND)
        encoded = self._model.encode(features)
        tokenizer = self._tokenizer_class(
            self._model.hf_tokenizer, self.multilingual, task="translate", language=language
        )
        prompt = [*tokenizer.sot_sequence, tokenizer.no_timestamps]
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=MAX_LENGTH,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        tokens = trim_repetitions([t for t in result.sequences_ids[0] if t < tokenizer.eot])
        return str(tokenizer.decode(tokens)).strip()

    def _decode(
        self,
        audio: Floats,
        *,
        window: int,
        max_new_tokens: int | None,
        language: str | None,
        candidates: tuple[str, ...],
        vocabulary: tuple[str, ...],
        context: LeftContext | None = None,
        prior: Mapping[str, float] | None = None,
    ) -> Decoded:
        limit = FULL_WINDOW_SECONDS * ENGINE_SAMPLE_RATE
        # Without its closing punctuation: the cut was mid-sentence, the text goes on.
        before = context.text.strip().rstrip(".!?…。") if context is not None else ""
        if context is not None and len(context.audio) and before:
            context = LeftContext(context.audio[-max(0, limit - len(audio)) :], before)
            shift = len(context.audio)
            audio = np.concatenate([context.audio, audio])
        else:
            context, shift = None, 0
        audio = audio[:limit]
        features = self._model.feature_extractor(audio)
        features = self._pad_or_trim(features, window * FRAMES_PER_SECOND)
        encoded = self._model.encode(features)
        detected = self._detect(encoded, language, candidates)
        chosen = choose_language(language, detected, prior, seconds=len(audio) / ENGINE_SAMPLE_RATE)
        tokenizer = self._tokenizer_class(
            self._model.hf_tokenizer, self.multilingual, task="transcribe", language=chosen
        )
        prompt = self._prompt(tokenizer, vocabulary)
        prefix: list[int] = []
        if context is not None:
            prefix = tokenizer.encode(" " + context.text)[-MAX_PROMPT_TOKENS:]
            prompt += prefix
        room = MAX_LENGTH - len(prompt)
        new_tokens = room if max_new_tokens is None else min(room, max_new_tokens)
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=1,
            max_length=len(prompt) + new_tokens,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )[0]
        raw_tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        if prefix and raw_tokens[: len(prefix)] == prefix:
            raw_tokens = raw_tokens[len(prefix) :]  # the result starts with the forced prefix
        tokens = trim_repetitions(raw_tokens)
        # generate's score is the mean token log-probability (length penalty 1).
        confidence = float(np.exp(result.scores[0])) if result.scores else 0.0
        content_frames = min(len(audio) // self._model.feature_extractor.hop_length, window * 100)
        words = self._words(tokenizer, tokens, encoded, content_frames, prefix=prefix)
        if shift:
            seconds = shift / ENGINE_SAMPLE_RATE
            words = tuple(
                RecognizedWord(
                    w.word, max(0.0, w.start - seconds), max(0.0, w.end - seconds), w.confidence
                )
                for w in words
            )
        # The text as Whisper wrote it ("ill-disposed"); the aligned words split at
        # punctuation ("ill", "-disposed"), as Gladia's words may.
        text = tokenizer.decode(tokens).strip()
        if prefix:
            # What closes the text before the cut ("…del archivo", then ", seguido…")
            # belongs to it: the piece starts at its first word.
            text = text.lstrip(APPEND_PUNCTUATION + " ")
            words = tuple(w for w in words if w.word.strip(APPEND_PUNCTUATION))
        return Decoded(
            text=text,
            words=words,
            confidence=min(1.0, max(0.0, confidence)),
            language=chosen,
            no_speech_prob=float(result.no_speech_prob),
            detected=detected,
            looped=len(tokens) < len(raw_tokens),
        )

    def _detect(
        self, encoded: Any, language: str | None, candidates: tuple[str, ...]
    ) -> dict[str, float]:
        """Language probabilities of the audio (among `candidates` when given); empty when
        there is nothing to detect (a language given, an English-only model)."""
        if not self.multilingual:
            return {"en": 1.0}
        if language:
            return {}
        ranked: dict[str, float] = {
            str(token)[2:-2]: float(p) for token, p in self._model.model.detect_language(encoded)[0]
        }
        allowed = {code: p for code, p in ranked.items() if not candidates or code in candidates}
        return allowed or ranked

    def _prompt(self, tokenizer: Any, vocabulary: tuple[str, ...]) -> list[int]:
        prompt: list[int] = []
        if vocabulary:
            hint = tokenizer.encode(" " + ", ".join(v.strip() for v in vocabulary))
            prompt += [tokenizer.sot_prev, *hint[:MAX_PROMPT_TOKENS]]
        return [*prompt, *tokenizer.sot_sequence, tokenizer.no_timestamps]

    def _words(
        self,
        tokenizer: Any,
        tokens: list[int],
        encoded: Any,
        frames: int,
        *,
        prefix: list[int] | None = None,
    ) -> tuple[RecognizedWord, ...]:
        """Word timings of `tokens`, aligned after `prefix` (a left context's text, whose
        own words are left out)."""
        if not tokens or frames <= 0:
            return ()
        prefix = prefix or []
        (alignment,) = self._model.find_alignment(tokenizer, [prefix + tokens], encoded, frames)
        skip = len(prefix)  # the prefix's tokens, then its words, are dropped
        kept = []
        for timing in alignment:
            if skip > 0:
                skip -= len(timing["tokens"])
                continue
            kept.append(timing)
        alignment = kept
        self._merge_punctuations(alignment, PREPEND_PUNCTUATION, APPEND_PUNCTUATION)
        words = []
        for timing in alignment:
            word = str(timing["word"]).strip()
            if word:
                words.append(
                    RecognizedWord(
                        word=word,
                        start=float(timing["start"]),
                        end=float(timing["end"]),
                        confidence=min(1.0, max(0.0, float(timing["probability"]))),
                    )
                )
        return tuple(words)
