"""The figures a streaming job shows beside the transcript: lags and billed time.

It only reads what the job already has (frames sent, messages delivered, the session's
result); the rules are in `protocol/latency.py`. Messages come here after the session core
dropped re-deliveries, so a duplicate is never counted; finals recovered at the end
(`recovered_from`, protocol/reconcile.py) did not arrive live and are not counted either.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.latency import LagFigures, LatencyTracker, format_lag
from gladia_cli.protocol.messages import ServerMessage, Transcript


@dataclass(frozen=True)
class Billing:
    """`metadata` of a `post_final_transcript`'s data or of a session's result: Gladia
    bills the audio duration × the number of channels."""

    billing_time: float
    audio_duration: float | None = None
    channels: int | None = None

    @classmethod
    def from_container(cls, container: Any) -> Billing | None:
        if not isinstance(container, dict):
            return None
        metadata = container.get("metadata")
        if not isinstance(metadata, dict):
            return None
        billed = _number(metadata.get("billing_time"))
        if billed is None:
            return None
        duration = _number(metadata.get("audio_duration"))
        channels = _number(metadata.get("number_of_distinct_channels"))
        return cls(billed, duration, int(channels) if channels is not None else None)

    def text(self) -> str:
        """`billed 18.1 s (6.03 s × 3 channels)`."""
        text = f"billed {self.billing_time:.1f} s"
        if self.audio_duration is not None and self.channels is not None and self.channels > 1:
            text += f" ({self.audio_duration:.2f} s × {self.channels} channels)"
        return text


def _number(value: Any) -> float | None:
    """A finite number, or None (a server's NaN would make int() raise at the summary)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class SessionFigures:
    """Fed by three threads: the sender (`sent`), the receiver (`message`), the main thread
    (`lags`, `result`); one lock around the tracker."""

    def __init__(self, fmt: AudioFormat, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.latency = LatencyTracker(fmt.bytes_per_second, clock=clock)
        self.billing: Billing | None = None
        self._lock = threading.Lock()

    def sent(self, offset: int, length: int, now: float) -> None:
        """`LiveStream(on_sent=…)`: audio left the socket."""
        with self._lock:
            self.latency.sent(offset, length, now)

    def message(self, message: ServerMessage) -> None:
        """Every message delivered live, as it arrives."""
        if isinstance(message, Transcript):
            if "recovered_from" not in message.raw:
                with self._lock:
                    self.latency.transcript(message.utterance.end, is_final=message.is_final)
        elif message.type == "post_final_transcript":
            self._billed(Billing.from_container(message.raw.get("data")))

    def result(self, result: dict[str, Any] | None) -> None:
        """The session's result (`GET /v2/live/{id}`), when the job fetched it."""
        if result is not None:
            self._billed(Billing.from_container(result.get("result")))

    def _billed(self, billing: Billing | None) -> None:
        if billing is not None:
            self.billing = billing

    def lags(self) -> LagFigures:
        with self._lock:
            return self.latency.figures()

    def summary_parts(self) -> list[str]:
        """`final lag p50 420 ms p95 610 ms`, …: only the figures that are known."""
        lags = self.lags()
        parts = []
        for name, p50, p95 in (
            ("final", lags.final_p50, lags.final_p95),
            ("partial", lags.partial_p50, lags.partial_p95),
        ):
            if p50 is not None and p95 is not None:
                parts.append(f"{name} lag p50 {format_lag(p50)} p95 {format_lag(p95)}")
        if self.billing is not None:
            parts.append(self.billing.text())
        return parts
