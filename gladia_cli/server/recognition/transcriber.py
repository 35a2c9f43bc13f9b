"""From a session's raw byte stream to recogniser events, channel by channel.

Runs on a worker thread (recognition is CPU-bound); one session's calls are made in order.
Events a recogniser delivers later (see `base.LateSink`) go to `on_late`, tagged with
their channel. `RecognitionFaults` are for tests, whatever the engine: recognition that
raises once so many seconds of audio were fed, or that takes so long per second of audio
(a slow server on purpose, as on a starved machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from gladia_cli.audio.blocks import RateConverter
from gladia_cli.audio.codecs import decode
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.config import RecognitionFaults
from gladia_cli.server.recognition.engines.base import (
    ENGINE_SAMPLE_RATE,
    ChannelRecognizer,
    ChannelSettings,
    Engine,
    EngineEvent,
    Hypothesis,
    LateSink,
    Samples,
)

ChannelEvent = tuple[int, EngineEvent]
LateChannelSink = Callable[[list[ChannelEvent] | BaseException], None]


class InjectedRecognitionFailure(RuntimeError):
    """The `--fail-recognition-after` fault."""


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


def _tagged(channel: int, sink: LateChannelSink) -> LateSink:
    def late(events: list[EngineEvent] | BaseException) -> None:
        sink(events if isinstance(events, BaseException) else [(channel, e) for e in events])

    return late


class Transcriber:
    def __init__(
        self,
        engine: Engine,
        fmt: AudioFormat,
        settings: list[ChannelSettings],
        *,
        on_late: LateChannelSink | None = None,
        faults: RecognitionFaults | None = None,
    ) -> None:
        self._fmt = fmt
        self._remainder = b""  # a partial frame, kept for the next chunk
        self._channels = [_Channel(engine.open_channel(s), fmt.sample_rate) for s in settings]
        if on_late is not None:
            for index, channel in enumerate(self._channels):
                channel.recognizer.set_late_sink(_tagged(index, on_late))
        faults = faults or RecognitionFaults()
        self._slowness = faults.seconds_per_second
        self._fail_after_bytes: int | None = None
        if faults.fail_after is not None:
            limit = round(faults.fail_after * fmt.bytes_per_second)
            self._fail_after_bytes = limit - limit % fmt.frame_bytes
        self._fed_bytes = 0

    def set_load(self, level: int) -> None:
        """Tell the channels' recognisers how much they may do (recognition_load.Level)."""
        for channel in self._channels:
            channel.recognizer.set_load(level)

    def _check_fault(self) -> None:
        if self._fail_after_bytes is not None and self._fed_bytes >= self._fail_after_bytes:
            raise InjectedRecognitionFailure("injected fault (--fail-recognition-after)")

    def feed(self, data: bytes) -> list[ChannelEvent]:
        self._check_fault()
        data = self._remainder + data
        usable = len(data) - len(data) % self._fmt.frame_bytes
        self._remainder = data[usable:]
        if not usable:
            return []
        if self._fail_after_bytes is not None:
            # The audio before the limit is recognised (its events are returned) and the
            # next call fails: the same outcome however the stream was batched.
            usable = min(usable, self._fail_after_bytes - self._fed_bytes)
        self._fed_bytes += usable
        if self._slowness:
            time.sleep(self._slowness * self._fmt.seconds(usable))
        frames = decode(data[:usable], self._fmt)
        events: list[ChannelEvent] = []
        for index, channel in enumerate(self._channels):
            mono = np.ascontiguousarray(frames[:, index])
            events += [(index, event) for event in channel.feed(mono)]
        return chronological(events)

    def finish(self) -> list[ChannelEvent]:
        self._check_fault()
        events: list[ChannelEvent] = []
        for index, channel in enumerate(self._channels):
            events += [(index, event) for event in channel.finish()]
        return chronological(events)
