"""From a session's raw byte stream to recogniser events, channel by channel.

Runs on a worker thread (recognition is CPU-bound); one session's calls are made in order.
"""

from __future__ import annotations

import numpy as np

from gladia_cli.audio.blocks import RateConverter
from gladia_cli.audio.codecs import decode
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.engines.base import (
    ENGINE_SAMPLE_RATE,
    ChannelRecognizer,
    ChannelSettings,
    Engine,
    EngineEvent,
    Hypothesis,
    Samples,
)

ChannelEvent = tuple[int, EngineEvent]


def _when(item: ChannelEvent) -> float:
    event = item[1]
    return event.end if isinstance(event, Hypothesis) else event.time


def chronological(events: list[ChannelEvent]) -> list[ChannelEvent]:
    """Events of one batch in the order they happened on the session timeline, so channels
    interleave as they were spoken (the sort is stable: a channel's own order is kept)."""
    return sorted(events, key=_when)


class _Channel:
    def __init__(self, recognizer: ChannelRecognizer, sample_rate: int) -> None:
        self.recognizer = recognizer
        self._converter = RateConverter(sample_rate, ENGINE_SAMPLE_RATE, 1)

    def feed(self, samples: Samples) -> list[EngineEvent]:
        resampled: Samples = self._converter.convert(samples.reshape(-1, 1))[:, 0]
        return self.recognizer.feed(resampled)

    def finish(self) -> list[EngineEvent]:
        events = self.recognizer.feed(self._converter.flush()[:, 0])  # the resampler's tail
        return events + self.recognizer.finish()


class Transcriber:
    def __init__(self, engine: Engine, fmt: AudioFormat, settings: list[ChannelSettings]) -> None:
        self._fmt = fmt
        self._remainder = b""  # a partial frame, kept for the next chunk
        self._channels = [_Channel(engine.open_channel(s), fmt.sample_rate) for s in settings]

    def feed(self, data: bytes) -> list[ChannelEvent]:
        data = self._remainder + data
        usable = len(data) - len(data) % self._fmt.frame_bytes
        self._remainder = data[usable:]
        if not usable:
            return []
        frames = decode(data[:usable], self._fmt)
        events: list[ChannelEvent] = []
        for index, channel in enumerate(self._channels):
            mono = np.ascontiguousarray(frames[:, index])
            events += [(index, event) for event in channel.feed(mono)]
        return chronological(events)

    def finish(self) -> list[ChannelEvent]:
        events: list[ChannelEvent] = []
        for index, channel in enumerate(self._channels):
            events += [(index, event) for event in channel.finish()]
        return chronological(events)
