"""A session's stored audio through a fake recogniser: order, batching, failure, progress."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.init_config import with_defaults
from gladia_cli.server.recognition.engines.base import ChannelSettings, SpeechEnded
from gladia_cli.server.recognition.recognition_status import RecognitionStatus
from gladia_cli.server.recognition.session_recognition import (
    BATCH_SECONDS,
    SessionRecognition,
    custom_vocabulary,
)
from gladia_cli.server.recognition.transcriber import ChannelEvent, LateChannelSink

FMT = AudioFormat()  # 32000 bytes a second


class FakeTranscriber:
    def __init__(self, gate: threading.Event, fail_on: bytes | None) -> None:
        self.fed: list[bytes] = []
        self.gate = gate
        self.fail_on = fail_on
        self.closed = False
        self.levels: list[int] = []

    def feed(self, data: bytes) -> list[ChannelEvent]:
        self.gate.wait(5.0)
        if data == self.fail_on:
            raise ValueError("broken model")
        self.fed.append(data)
        return [(0, SpeechEnded(len(data) / 32000))]

    def finish(self) -> list[ChannelEvent]:
        return [(0, SpeechEnded(-1.0))]

    def set_load(self, level: int) -> None:
        self.levels.append(level)

    def close(self) -> None:
        self.closed = True


class FakeFactory:
    def __init__(self, fail_on: bytes | None = None) -> None:
        self.gate = threading.Event()
        self.transcriber = FakeTranscriber(self.gate, fail_on)
        self.settings: list[ChannelSettings] = []

    def open(
        self,
        fmt: AudioFormat,
        settings: list[ChannelSettings],
        *,
        on_late: LateChannelSink | None = None,
    ) -> FakeTranscriber:
        self.settings = settings
        return self.transcriber

    def skipped_partials(self, session_id: str) -> int:
        return 7

    def close(self) -> None: ...


def _run(factory: FakeFactory, chunks: list[bytes], limit: float = 60.0) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        seen: dict[str, Any] = {"events": [], "failures": [], "progress": []}
        stored = bytearray()  # the session's store: recognition reads it back by offset
        with ThreadPoolExecutor(1) as executor:
            recognition = SessionRecognition(
                session_id="s1",
                fmt=FMT,
                config=with_defaults({}),
                transcribers=factory,
                executor=executor,
                status=RecognitionStatus(limit=limit),
                read_audio=lambda offset, n: bytes(stored[offset : offset + n]),
                on_events=seen["events"].extend,
                on_late=seen["events"].extend,
                on_failure=seen["failures"].append,
                on_progress=lambda: seen["progress"].append(recognition.recognised),
            )
            for chunk in chunks:
                stored.extend(chunk)
                recognition.put(len(chunk))
                for _ in range(3):  # the processor takes what is stored, then waits
                    await asyncio.sleep(0)
            seen["lag"] = recognition.lag
            factory.gate.set()
            await recognition.finish()
            seen["failed"] = recognition.failed
            seen["view"] = recognition.describe()
            await recognition.close()
        return seen

    return asyncio.run(main())


def test_audio_is_fed_in_order_batching_what_piled_up() -> None:
    factory = FakeFactory()
    seen = _run(factory, [b"\1" * 3200, b"\2" * 3200, b"\3" * 3200])
    # The first chunk waits on the recogniser; the two behind it go as one batch.
    assert factory.transcriber.fed == [b"\1" * 3200, b"\2" * 3200 + b"\3" * 3200]
    assert [event.time for _, event in seen["events"]] == [0.1, 0.2, -1.0]  # then the finish
    assert seen["lag"] == 0.3 and seen["failures"] == [] and not seen["failed"]
    assert seen["view"]["recognition_lag"] == 0.0 and seen["view"]["skipped_partials"] == 7
    assert len(factory.settings) == 1 and factory.settings[0].session_id == "s1"


def test_a_failing_recogniser_is_reported_once_and_stops_recognition() -> None:
    factory = FakeFactory(fail_on=b"\1" * 3200)
    seen = _run(factory, [b"\1" * 3200, b"\2" * 3200])
    assert seen["failures"] == ["recognition failed: broken model"]
    assert seen["failed"] and seen["events"] == []  # not even the finish's events
    assert seen["view"]["recognition_error"] == "ValueError: broken model"


def test_progress_is_told_after_each_batch_and_a_batch_is_bounded() -> None:
    factory = FakeFactory()
    second = round(FMT.bytes_per_second)
    chunks = [bytes([n]) * second for n in range(1, 6)]  # 5 s of audio, 1 s a chunk
    seen = _run(factory, chunks)
    batch = round(BATCH_SECONDS * second)
    # The first second waits on the recogniser; what piled up meanwhile goes in batches
    # of BATCH_SECONDS at most, read back from the store in order.
    assert [len(fed) for fed in factory.transcriber.fed] == [second, batch, 4 * second - batch]
    assert b"".join(factory.transcriber.fed) == b"".join(chunks)
    assert seen["progress"] == [second, second + batch, 5 * second]
    assert seen["lag"] == 5.0  # recognition had not started when the last chunk came


def test_a_failed_recogniser_still_reports_progress() -> None:
    # The audio is kept and must still be acknowledged: progress goes on without recognition.
    seen = _run(FakeFactory(fail_on=b"\1" * 3200), [b"\1" * 3200, b"\2" * 3200])
    assert seen["failed"] and seen["progress"] == [3200, 6400]


def test_custom_vocabulary_is_read_only_when_on() -> None:
    entries = ["Gladia", {"value": " Solaria "}, {"value": ""}, "  "]
    on = {"custom_vocabulary": True, "custom_vocabulary_config": {"vocabulary": entries}}
    assert custom_vocabulary({"realtime_processing": on}) == ("Gladia", "Solaria")
    off = {**on, "custom_vocabulary": False}
    assert custom_vocabulary({"realtime_processing": off}) == ()
