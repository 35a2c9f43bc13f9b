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
