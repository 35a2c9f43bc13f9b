"""`--duration S`: a source cut after S seconds of audio, as if it ended there.

Counted in audio frames, not wall time: a microphone's S seconds are what it captured, a
file's are its first S seconds whatever the pace, so the session's audio is exactly S s
long. At the limit the inner source is stopped (a microphone closes) and the job ends as
at the end of a file: `stop_recording`, the last transcripts, exit 0.
"""

from __future__ import annotations

from collections.abc import Iterator

from gladia_cli.audio.source import AudioSource, Int16Block, LiveCapture, PcmFormat


class LimitedSource:
    def __init__(self, inner: AudioSource, seconds: float) -> None:
        self._inner = inner
        self.seconds = seconds
        self._frames = max(1, round(seconds * inner.format.sample_rate))

    @property
    def format(self) -> PcmFormat:
        return self._inner.format

    @property
    def labels(self) -> list[str] | None:
        return self._inner.labels

    @property
    def capture(self) -> LiveCapture | None:
        return self._inner.capture

    @property
    def duration(self) -> float | None:
        inner = self._inner.duration
        return self.seconds if inner is None else min(inner, self.seconds)

    @property
    def description(self) -> str:
        return self._inner.description

    def blocks(self, frames: int) -> Iterator[Int16Block]:
        left = self._frames
        for block in self._inner.blocks(frames):
            if len(block) >= left:
                if left:
                    yield block[:left]
                self._inner.stop()
                return
            left -= len(block)
            yield block

    def take_warnings(self) -> list[str]:
        return self._inner.take_warnings()

    def stop(self) -> None:
        self._inner.stop()

    def close(self) -> None:
        self._inner.close()
