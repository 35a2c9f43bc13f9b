"""A deterministic engine for protocol tests: an energy VAD, and text from a script.

Each channel runs an energy VAD on fixed 10 ms frames counted from the start of the stream
(partial frames wait for the next `feed`), so the output depends only on the samples:

- A frame is voiced when its RMS exceeds `-60 + 30 * speech_threshold` dBFS: the 0.6
  default gives -42 dBFS, above digital silence and quiet background noise (-50 dBFS and
  below) but under normal speech (-30 to -10 dBFS); 0 gives -60 dBFS, 1 gives -30 dBFS.
- An utterance starts at the first voiced frame and ends with the last voiced frame before a
  run of `max(endpointing, 0.3)` seconds of silence; it is reported when that run completes.
  The 0.3 s floor exists because speech (synthetic or human) has short pauses between
  words: Gladia's 0.05 s default would cut an utterance at every word.
- An utterance is forced closed after `max_duration_without_endpointing` seconds; the next
  voiced frame starts a new one.
- Every 0.3 s of an open utterance a partial gives the words "so far", a prefix of the
  final text that grows with the voiced time (one word per 0.4 s, at least one).

The text of the k-th utterance of channel c is the k-th script line for c (cycling); a line
may name its speaker with `@N` first (`[0] @1 good morning`): the final says who spoke, which
a pre-recorded job's diarization reports (the live API has none). Without
a script (or with no line for c), utterances get words from a fixed list, one per 0.4 s of
speech (at least one), continuing through the list from one utterance to the next, so that
lost or duplicated audio shows in the transcript.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

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

FRAME_SAMPLES = ENGINE_SAMPLE_RATE // 100  # 10 ms
FRAME_SECONDS = FRAME_SAMPLES / ENGINE_SAMPLE_RATE
MIN_ENDPOINTING = 0.3
PARTIAL_EVERY_FRAMES = 30  # 0.3 s
SECONDS_PER_WORD = 0.4
WORD_CONFIDENCE = 0.9
FULL_SCALE = 32768.0

# fmt: off
WORD_LIST = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    "juliett", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu",
)
# fmt: on

_CHANNEL_PREFIX = re.compile(r"\[(\d+)\](?:\s+(.*))?")
_SPEAKER_PREFIX = re.compile(r"@(\d+)(?:\s+(.*))?")


@dataclass(frozen=True)
class Line:
    """One utterance of the script: its text and, when the line names one, its speaker."""

    text: str
    speaker: int | None = None


@dataclass(frozen=True)
class Script:
    """Utterance texts in file order; `channel` None means the line is for every channel."""

    lines: tuple[tuple[int | None, str], ...]

    def for_channel(self, channel: int) -> tuple[Line, ...]:
        return tuple(_line(text) for only, text in self.lines if only is None or only == channel)


def _line(text: str) -> Line:
    spoken = _SPEAKER_PREFIX.fullmatch(text)
    if spoken and (spoken.group(2) or "").strip():
        return Line(str(spoken.group(2)).strip(), int(spoken.group(1)))
    return Line(text)


def load_script(path: str | Path) -> Script:
    """Read a script: one utterance per line, `[N] ` restricts a line to channel N.

    Blank lines and lines starting with `#` are ignored.
    """
    lines: list[tuple[int | None, str]] = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        prefixed = _CHANNEL_PREFIX.fullmatch(line)
        if prefixed:
            text = (prefixed.group(2) or "").strip()
            if text:
                lines.append((int(prefixed.group(1)), text))
        else:
            lines.append((None, line))
    return Script(tuple(lines))


def threshold_rms(speech_threshold: float) -> float:
    """The frame RMS (in int16 units) above which a frame is voiced; see module docstring."""
    dbfs = -60.0 + 30.0 * min(1.0, max(0.0, speech_threshold))
    return float(FULL_SCALE * 10.0 ** (dbfs / 20.0))


def frame_rms(frames: Samples) -> npt.NDArray[np.float64]:
    """RMS of each 10 ms frame of `frames` (whose length is a multiple of the frame)."""
    as_float = frames.astype(np.float64).reshape(-1, FRAME_SAMPLES)
    rms: npt.NDArray[np.float64] = np.sqrt(np.mean(as_float * as_float, axis=1))
    return rms


class ScriptedEngine(Engine):
    """Deterministic recognisers: energy VAD plus scripted or generated text."""

    name = "scripted"

    def __init__(self, script: Script | None = None) -> None:
        self.script = script

    def open_channel(self, settings: ChannelSettings) -> ScriptedRecognizer:
        texts = self.script.for_channel(settings.channel) if self.script else ()
        return ScriptedRecognizer(settings, texts)


class ScriptedRecognizer(ChannelRecognizer):
    """One channel: 10 ms energy frames → utterances (see module docstring)."""

    def __init__(self, settings: ChannelSettings, texts: tuple[Line, ...]) -> None:
        self._texts = texts
        self._threshold = threshold_rms(settings.speech_threshold)
        self._silence_frames = round(max(settings.endpointing, MIN_ENDPOINTING) / FRAME_SECONDS)
        self._max_frames = max(1, round(settings.max_duration_without_endpointing / FRAME_SECONDS))
        self._remainder = np.zeros(0, dtype=np.int16)
        self._frame = 0  # index of the next frame
        self._utterances = 0  # utterances started so far
        self._next_word = 0  # position in WORD_LIST of the next generated word
        self._start: int | None = None  # first frame of the open utterance
        self._last_voiced = 0  # last voiced frame of the open utterance
        self._finished = False

    def feed(self, samples: Samples) -> list[EngineEvent]:
        if self._finished:
            raise RuntimeError("feed() after finish()")
        stream = np.concatenate([self._remainder, samples.astype(np.int16, copy=False)])
        whole = len(stream) - len(stream) % FRAME_SAMPLES
        self._remainder = stream[whole:]
        events: list[EngineEvent] = []
        for voiced in frame_rms(stream[:whole]) > self._threshold:
            events += self._process_frame(bool(voiced))
        return events

    def finish(self) -> list[EngineEvent]:
        """Close the open utterance; a trailing partial frame (< 10 ms) is ignored."""
        if self._finished:
            return []
        self._finished = True
        return self._close() if self._start is not None else []

    def _process_frame(self, voiced: bool) -> list[EngineEvent]:
        index = self._frame
        self._frame += 1
        events: list[EngineEvent] = []
        if self._start is None:
            if not voiced:
                return events
            self._start = index
            self._utterances += 1
            events.append(SpeechStarted(_seconds(index)))
        if voiced:
            self._last_voiced = index
        length = index + 1 - self._start
        if index - self._last_voiced >= self._silence_frames:
            events += self._close()
        elif length >= self._max_frames:
            events += self._close(turn_end=False)  # cut: the speaker goes on
        elif length % PARTIAL_EVERY_FRAMES == 0:
            words = self._words_so_far()
            events.append(self._hypothesis(words[: self._word_count()], is_final=False))
        return events

    def _close(self, *, turn_end: bool = True) -> list[EngineEvent]:
        words = self._words_so_far()
        final = self._hypothesis(words, is_final=True)
        if self._texts:
            speaker = self._line().speaker
            final = dataclasses.replace(final, speaker=speaker)
        else:
            self._next_word += len(words)
        self._start = None
        return [SpeechEnded(final.end, turn_end=turn_end), final]

    def _line(self) -> Line:
        return self._texts[(self._utterances - 1) % len(self._texts)]

    def _word_count(self) -> int:
        """Words for the voiced time so far: one per 0.4 s, at least one."""
        assert self._start is not None
        voiced_seconds = (self._last_voiced + 1 - self._start) * FRAME_SECONDS
        return max(1, int(voiced_seconds / SECONDS_PER_WORD + 1e-9))

    def _words_so_far(self) -> list[str]:
        """The final text if the utterance closed now (partials take a prefix of it)."""
        if self._texts:
            return self._line().text.split()
        return [
            WORD_LIST[(self._next_word + i) % len(WORD_LIST)] for i in range(self._word_count())
        ]

    def _hypothesis(self, words: list[str], *, is_final: bool) -> Hypothesis:
        """Spread `words` evenly over the voiced span of the open utterance."""
        assert self._start is not None
        start = _seconds(self._start)
        end = _seconds(self._last_voiced + 1)
        step = (end - start) / len(words)
        timed = tuple(
            RecognizedWord(
                word=word,
                start=round(start + i * step, 3),
                end=round(start + (i + 1) * step, 3),
                confidence=WORD_CONFIDENCE,
            )
            for i, word in enumerate(words)
        )
        return Hypothesis(
            text=" ".join(words),
            start=start,
            end=end,
            confidence=WORD_CONFIDENCE,
            words=timed,
            is_final=is_final,
        )


def _seconds(frame: int) -> float:
    return frame * FRAME_SAMPLES / ENGINE_SAMPLE_RATE
