"""The interface between the local server and its speech recognisers.

The server de-interleaves each session's audio, converts it to 16 kHz mono int16 and feeds
one `ChannelRecognizer` per channel. Recognisers are plain synchronous objects: the server
runs them off its event loop. Their output must depend only on the samples fed, never on
how the stream was cut into calls (a resumed session re-cuts it), nor on the wall clock.
Times are seconds from the start of the session's audio.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

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


@dataclass(frozen=True)
class Hypothesis:
    """A partial (`is_final=False`, may still change) or final transcript of one utterance."""

    text: str
    start: float
    end: float
    confidence: float
    words: tuple[RecognizedWord, ...]
    is_final: bool


EngineEvent = SpeechStarted | SpeechEnded | Hypothesis


@dataclass(frozen=True)
class ChannelSettings:
    """What a recogniser needs from the session's init body, for one channel."""

    channel: int
    endpointing: float = 0.05  # seconds of silence that close an utterance
    max_duration_without_endpointing: float = 5.0  # an utterance is forced closed after this
    speech_threshold: float = 0.6  # 0–1, VAD strictness: closer to 1, fewer false starts
    language: str = "en"


class ChannelRecognizer(Protocol):
    def feed(self, samples: Samples) -> list[EngineEvent]:
        """Take the next samples of the channel (any length, possibly empty)."""
        ...

    def finish(self) -> list[EngineEvent]:
        """End of the stream: close any open utterance (speech_end, then its final)."""
        ...


class Engine(Protocol):
    name: str

    def open_channel(self, settings: ChannelSettings) -> ChannelRecognizer: ...
