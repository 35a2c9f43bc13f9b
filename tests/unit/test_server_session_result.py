"""A session's result: the messages it keeps, the transcription, the REST view (no socket)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server import session_result
from gladia_cli.server.session_files import SessionFiles
from gladia_cli.server.session_result import SessionResult


def _result(tmp_path: Path) -> tuple[SessionResult, SessionFiles]:
    files = SessionFiles(str(tmp_path))
    result = SessionResult(
        session_id="s1",
        request_id="r1",
        config={"custom_metadata": {"a": 1}},
        fmt=AudioFormat(channels=2),
        files=files,
        created_at="2026-01-01T00:00:00.000Z",
    )
    return result, files


def test_kept_messages_are_capped_but_closing_ones_always_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_result, "MAX_RESULT_MESSAGES", 3)
    result, files = _result(tmp_path)
    for i in range(5):
        result.remember(json.dumps({"n": i}))
    result.remember(json.dumps({"type": "end_session"}), closing=True)
    assert [json.loads(t) for t in files.messages.texts()] == [
        {"n": 0},
        {"n": 1},
        {"n": 2},
        {"type": "end_session"},
    ]
    assert result.messages_dropped == 2


def test_the_transcription_orders_finals_by_time_then_channel(tmp_path: Path) -> None:
    result, files = _result(tmp_path)
    for text, start, channel in [(" c", 2.0, 0), (" b", 1.0, 1), (" a", 1.0, 0)]:
        files.utterances.append_json({"text": text, "start": start, "channel": channel})
    transcription = result.transcription(["en"])
    assert transcription["full_transcript"] == "a b c"
    assert [u["text"] for u in transcription["utterances"]] == [" a", " b", " c"]
    assert transcription["languages"] == ["en"]


def test_the_rest_view_before_and_after_the_end(tmp_path: Path) -> None:
    result, files = _result(tmp_path)
    view = result.describe(audio_duration=0.0, failed=False, local_server={"x": 1})
    assert (view["id"], view["request_id"], view["status"]) == ("s1", "r1", "queued")
    assert view["result"] is None and view["error_code"] is None
    assert view["file"]["audio_duration"] is None  # no audio yet
    assert view["file"]["number_of_channels"] == 2
    assert view["custom_metadata"] == {"a": 1} and view["local_server"] == {"x": 1}
    files.audio.append(b"\0" * 64000)
    files.save_result({"metadata": {}, "transcription": {}})
    result.remember('{"type":"end_session"}', closing=True)
    result.completed("2026-01-01T00:00:09.000Z", error_code=500)
    view = result.describe(audio_duration=1.00049, failed=True, local_server={})
    assert (view["status"], view["error_code"]) == ("error", 500)
    assert view["completed_at"] == "2026-01-01T00:00:09.000Z"
    assert view["file"]["audio_duration"] == 1.0
    assert view["result"]["messages"] == ['{"type":"end_session"}']
    files.delete()


class _NoAddons:
    fills_result = False

    async def post_process(self, result: dict[str, object]) -> None:
        pass


def _produce(
    tmp_path: Path, *, as_text: bool, finals: int, read_back: bool = True
) -> tuple[list[str], object]:
    import asyncio
    from typing import Any, cast

    from gladia_cli.protocol.messages import build_message

    folder = tmp_path / ("text" if as_text else "objects")
    folder.mkdir(parents=True)
    result, files = _result(folder)
    for n in range(finals):
        words = [{"word": f" w{n}", "start": n * 2.0, "end": n * 2.0 + 0.5, "confidence": 0.9}]
        channel = n % 2
        utterance = {
            "text": f" utterance {n} é",
            "start": float(n // 2 * 2),
            "end": n + 0.5,
            "confidence": 0.9,
            "channel": channel,
            "language": "en",
            "words": words,
        }
        files.utterances.append_json(utterance)
    sent: list[str] = []

    def emit(kind: str, **fields: Any) -> None:
        sent.append(json.dumps(build_message(kind, "s1", "T", **fields), separators=(",", ":")))

    def emit_data(kind: str, data: str) -> None:
        envelope = json.dumps(build_message(kind, "s1", "T"), separators=(",", ":"))
        sent.append(f'{envelope[:-1]},"data":{data}}}')

    asyncio.run(
        result.produce(
            emit=emit,
            addons=cast(Any, _NoAddons()),
            languages=["en", "fr"],
            audio_duration=12.3456,
            elapsed=lambda: 1.5,
            emit_data=emit_data if as_text else None,
        )
    )
    return sent, files.result() if read_back else None


def test_the_end_result_built_as_text_is_the_same_bytes(tmp_path: Path) -> None:
    assert _produce(tmp_path, as_text=True, finals=50) == _produce(
        tmp_path, as_text=False, finals=50
    )


def test_building_the_end_result_as_text_holds_no_parsed_list(tmp_path: Path) -> None:
    """A long session's end: the peak of traced memory stays within a few times the size of
    the messages (parsed, the finals cost some 15 times their text)."""
    import tracemalloc

    peaks = {}
    for as_text in (True, False):
        tracemalloc.start()
        sent, _ = _produce(tmp_path / str(as_text), as_text=as_text, finals=3000, read_back=False)
        peaks[as_text] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        size = len(sent[0])
    assert peaks[True] < 5 * size and peaks[False] > 10 * size, (peaks, size)
