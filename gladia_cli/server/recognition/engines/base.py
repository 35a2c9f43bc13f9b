"""The interface between the local server and its speech recognisers.

The server de-interleaves each session's audio, converts it to 16 kHz mono int16 and feeds
one `ChannelRecognizer` per channel. Recognisers are plain synchronous objects: the server
runs them off its event loop. Their output must depend only on the samples fed, never on
how the stream was cut into calls (a resumed session re-cuts it), nor on the wall clock.
Times are seconds from the start of the session's audio.

A recogniser may also deliver events later, from another thread (the whisper engine's
partials, decoded while the stream goes on): it then overrides `set_late_sink`, and those
events are provisional only (partials), so a late one that is out of date is simply dropped.

An engine subclasses `Engine` and its recognisers `ChannelRecognizer`: what they must do is
abstract, what they may do (give way, deliver late, translate, preload, forget a session,
close) has a default that does nothing, so callers call it on any engine.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

ENGINE_SAMPLE_RATE = 16000

Samples = npt.NDArray[np.int16]


@dataclass(frozen=True)
class RecognizedWord:
    word: str  # without the leading space Gladia adds; the server adds it
    start: float
    end: float
    confidence: float


@dataclass(frozen=True)
class SpeechStarted:
    time: float


@dataclass(frozen=True)
class SpeechEnded:
    time: float
    # Whether the speaker stopped (endpointing: the server's end of turn); False when the
    # utterance was cut at the maximum duration and the speech goes on.
    turn_end: bool = True


@dataclass(frozen=True)
class Hypothesis:
    """A partial (`is_final=False`, may still change) or final transcript of one utterance."""

    text: str
    start: float
    end: float
    confidence: float
    words: tuple[RecognizedWord, ...]
    is_final: bool
    language: str | None = None  # the language recognised, when the engine knows it
    speaker: int | None = None  # who spoke, when the engine tells speakers apart (finals)


EngineEvent = SpeechStarted | SpeechEnded | Hypothesis


@dataclass(frozen=True)
class ChannelSettings:
    """What a recogniser needs from the session's init body, for one channel."""

    channel: int
    endpointing: float = 0.05  # seconds of silence that close an utterance
    max_duration_without_endpointing: float = 5.0  # an utterance is forced closed after this
    speech_threshold: float = 0.6  # 0–1, VAD strictness: closer to 1, fewer false starts
    # language_config: none → detect; one → that language; several → detect among them.
    languages: tuple[str, ...] = ()
    code_switching: bool = False  # detect the language of every utterance
    vocabulary: tuple[str, ...] = ()  # custom vocabulary: words to expect
    channel_count: int = 1  # channels of the session (engines share their effort)
    session_id: str = ""  # whose channel this is (engines sharing a model serve fairly)
    live: bool = True  # a live session's; False: a pre-recorded job's (its decodes wait)


LateSink = Callable[[list[EngineEvent] | BaseException], None]
Floats = npt.NDArray[np.float32]


class ChannelRecognizer(ABC):
    @abstractmethod
    def feed(self, samples: Samples) -> list[EngineEvent]:
        """Take the next samples of the channel (any length, possibly empty)."""

    @abstractmethod
    def finish(self) -> list[EngineEvent]:
        """End of the stream: close any open utterance (speech_end, then its final)."""

    def set_late_sink(self, sink: LateSink) -> None:
        """Where events decoded after `feed` returned go; a recogniser that delivers every
        event from `feed` and `finish` ignores it."""
        return  # the default: nothing to do

    def set_load(self, level: int) -> None:
        """How much the channel may do (recognition/recognition_load.Level); a recogniser
        that cannot give way ignores it."""
        return  # the default: nothing to do


class Engine(ABC):
    name: str

    @abstractmethod
    def open_channel(self, settings: ChannelSettings) -> ChannelRecognizer: ...

    def preload(self, count: int = 1) -> None:
        """Make ready what the first `count` channels need, so that they do not wait."""
        return  # the default: nothing to do

    def skipped_partials(self, session_id: str) -> int:
        """Partials skipped for this session because the engine was busy."""
        return 0

    @property
    def translates(self) -> bool:
        """Whether `translate` works (the whisper engine with a multilingual model)."""
        return False

    def translate(self, session_id: str, channel: int, audio: Floats, language: str) -> str:
        """`audio` (16 kHz float32) in English; only when `translates`."""
        raise NotImplementedError(f"the {self.name} engine does not translate")

    def forget(self, session_id: str) -> None:
        """Drop what the session still has queued (it was deleted, or the server stops)."""
        return  # the default: nothing to do

    def close(self) -> None:
        """Release the engine's threads and models (the server stops)."""
        return  # the default: nothing to do
