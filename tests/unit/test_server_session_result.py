"""A session's result: the messages it keeps, the transcription, the REST view (no socket)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.live import session_result
from gladia_cli.server.live.session_files import SessionFiles
from gladia_cli.server.live.session_result import SessionResult


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
    from collections.abc import Callable, Iterable
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

    def emit_stored(kind: str, data: Callable[[], Iterable[str]]) -> None:
        envelope = json.dumps(build_message(kind, "s1", "T"), separators=(",", ":"))
        pieces = list(data())
        assert "".join(data()) == "".join(pieces)  # read again (a re-delivery): the same
        # Handed over in pieces, none the whole message (a long one is never in memory).
        assert max(map(len, pieces)) <= session_result.TEXT_PIECE
        sent.append(f'{envelope[:-1]},"data":{"".join(pieces)}}}')

    asyncio.run(
        result.produce(
            emit=emit,
            addons=cast(Any, _NoAddons()),
            languages=["en", "fr"],
            audio_duration=12.3456,
            elapsed=lambda: 1.5,
            emit_stored=emit_stored if as_text else None,
        )
    )
    return sent, files.result() if read_back else None


@pytest.mark.parametrize("finals", [0, 1, 50, 3000])
def test_the_end_result_built_as_text_is_the_same_bytes(tmp_path: Path, finals: int) -> None:
    as_text = _produce(tmp_path, as_text=True, finals=finals)
    assert as_text == _produce(tmp_path, as_text=False, finals=finals)
    assert len(as_text[0][0]) > session_result.TEXT_PIECE or finals < 3000  # in pieces


def test_building_the_end_result_as_text_holds_neither_message(tmp_path: Path) -> None:
    """A long session's end (issue 18): the end messages are written to disk piece by piece
    and handed over as pieces, so the peak of traced memory is a fraction of one message
    (parsed, the finals cost some 15 times their text; as one text, twice the message)."""
    import asyncio
    import tracemalloc
    from collections.abc import Callable, Iterable
    from typing import Any, cast

    result, files = _result(tmp_path)
    for n in range(10_000):
        files.utterances.append_json(
            {"text": f" utterance {n}", "start": n * 2.0, "end": n * 2.0 + 1.0,
             "confidence": 0.9, "channel": n % 2, "language": "en",
             "words": [{"word": f" w{n}", "start": n * 2.0, "end": n * 2.0 + 0.5,
                        "confidence": 0.9}]}
        )  # fmt: skip
    files.utterances.flush()
    sizes: dict[str, int] = {}

    def emit_stored(kind: str, data: Callable[[], Iterable[str]]) -> None:
        sizes[kind] = sum(len(piece) for piece in data())

    tracemalloc.start()
    try:
        asyncio.run(
            result.produce(
                emit=lambda kind, **fields: None,
                addons=cast(Any, _NoAddons()),
                languages=["en"],
                audio_duration=6000.0,
                elapsed=lambda: 1.5,
                emit_stored=emit_stored,
            )
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = sizes["post_final_transcript"]
    assert size > 1_800_000 and sizes["post_transcript"] > 1_800_000
    assert peak < size / 3, (peak, size)
    assert len(files.result() or {}) == 2  # kept on disk for GET
