"""A session's audio through a fake recogniser: order, batching, failure, the backlog bound."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.init_config import with_defaults
from gladia_cli.server.engines.base import ChannelSettings, SpeechEnded
from gladia_cli.server.recognition_status import RecognitionStatus
from gladia_cli.server.session_recognition import SessionRecognition, custom_vocabulary
from gladia_cli.server.transcriber import ChannelEvent, LateChannelSink

FMT = AudioFormat()  # 32000 bytes a second


class FakeTranscriber:
    def __init__(self, gate: threading.Event, fail_on: bytes | None) -> None:
        self.fed: list[bytes] = []
        self.gate = gate
        self.fail_on = fail_on
        self.closed = False

    def feed(self, data: bytes) -> list[ChannelEvent]:
        self.gate.wait(5.0)
        if data == self.fail_on:
            raise ValueError("broken model")
        self.fed.append(data)
        return [(0, SpeechEnded(len(data) / 32000))]

    def finish(self) -> list[ChannelEvent]:
        return [(0, SpeechEnded(-1.0))]

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
        seen: dict[str, Any] = {"events": [], "failures": [], "room": []}
        with ThreadPoolExecutor(1) as executor:
            recognition = SessionRecognition(
                session_id="s1",
                fmt=FMT,
                config=with_defaults({}),
                transcribers=factory,
                executor=executor,
                status=RecognitionStatus(limit=limit),
                on_events=seen["events"].extend,
                on_late=seen["events"].extend,
                on_failure=seen["failures"].append,
            )
            for chunk in chunks:
                recognition.put(chunk)
                seen["room"].append(recognition.room.is_set())
                for _ in range(3):  # the processor takes what is queued, then waits
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


def test_the_reader_waits_while_recognition_is_at_its_bound() -> None:
    seen = _run(FakeFactory(), [b"\0" * 16000, b"\0" * 16000, b"\0" * 16000], limit=1.0)
    assert seen["room"] == [True, False, False]  # 0.5 s, then 1 s and more behind


def test_custom_vocabulary_is_read_only_when_on() -> None:
    entries = ["Gladia", {"value": " Solaria "}, {"value": ""}, "  "]
    on = {"custom_vocabulary": True, "custom_vocabulary_config": {"vocabulary": entries}}
    assert custom_vocabulary({"realtime_processing": on}) == ("Gladia", "Solaria")
    off = {**on, "custom_vocabulary": False}
    assert custom_vocabulary({"realtime_processing": off}) == ()
