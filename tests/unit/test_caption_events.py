"""The caption page's event history (render/caption_events.py): no socket, no thread."""

from __future__ import annotations

import json
from typing import Any

from gladia_cli.protocol.messages import parse_server_message
from gladia_cli.render.caption_events import CaptionEvents
from tests.caption_session import meeting, transcript


def _feed(events: CaptionEvents, *messages: dict[str, Any]) -> None:
    for message in messages:
        events.message(parse_server_message(json.dumps(message)))


def _payloads(events: CaptionEvents, seen: int | None = None) -> list[tuple[str, Any]]:
    return [(e.name, json.loads(e.data)) for e in events.after(seen)]


def test_the_session_comes_first_then_the_messages_as_jsonl_writes_them() -> None:
    events = CaptionEvents("run1")
    events.session("s-1", ["Ann", "Bob"], 2, True)
    message = transcript("00_1", " Hello", final=True)
    message["data"]["note"] = "line one\nline two"
    pretty = json.dumps(message, indent=2)  # a frame spread over lines
    events.message(parse_server_message(pretty))
    ack = {"type": "audio_chunk", "data": {"byte_range": [0, 3200], "time_range": [0, 0.1]}}
    assert not events.message(parse_server_message(json.dumps(ack)))  # as jsonl: left out
    first, second = events.after(None)
    assert (first.name, json.loads(first.data)) == (
        "session",
        {"session_id": "s-1", "channels": 2, "labels": ["Ann", "Bob"], "labelled": True},
    )
    assert second.name == "message" and "\n" not in second.data
    assert json.loads(second.data) == message
    frame = second.frame("run1").decode()
    assert frame == f"id: run1-{second.seq}\ndata: {second.data}\n\n"
    assert first.frame("run1").decode().startswith(f"id: run1-{first.seq}\nevent: session\n")


def test_superseded_partials_leave_the_history() -> None:
    events = CaptionEvents("r")
    events.session("s", ["Ann", "Bob"], 2, True)
    _feed(events, *meeting())
    kept = [m for name, m in _payloads(events) if name == "message"]
    transcripts = [
        (m["data"]["id"], m["data"]["is_final"]) for m in kept if m["type"] == "transcript"
    ]
    # 00_1's two partials went when its final came; 01_2 is still a partial.
    assert transcripts == [("01_1", True), ("00_1", True), ("00_2", True), ("01_2", False)]
    _feed(events, transcript("01_2", " I think we should", final=False, start=4.0, channel=1))
    partials = [m for _, m in _payloads(events) if m.get("data", {}).get("is_final") is False]
    assert len(partials) == 1 and "should" in json.dumps(partials[0])


def test_resume_after_a_last_event_id_of_this_run() -> None:
    events = CaptionEvents("abc")
    events.session("s", ["Ann"], 1, True)
    _feed(events, transcript("00_1", " one", final=True), transcript("00_2", " two", final=True))
    seen = events.after(None)[-1]
    _feed(events, transcript("00_3", " three", final=True))
    assert events.seq_of(f"abc-{seen.seq}") == seen.seq
    after = _payloads(events, events.seq_of(f"abc-{seen.seq}"))
    assert [m["data"]["utterance"]["text"] for _, m in after] == [" three"]


def test_an_id_of_another_run_or_unreadable_gets_the_whole_history() -> None:
    events = CaptionEvents("new")
    events.session("s", ["Ann"], 1, True)
    _feed(events, transcript("00_1", " one", final=True))
    for stale in ("old-2", "new-x", "garbage", "", None, "new-99"):
        assert events.seq_of(stale) is None
        assert [name for name, _ in _payloads(events, events.seq_of(stale))] == [
            "session",
            "message",
        ]


def test_the_history_is_bounded_and_keeps_the_newest() -> None:
    events = CaptionEvents("r", limit=5)
    events.session("s", ["Ann"], 1, True)
    _feed(events, *(transcript(f"00_{i}", f" n{i}", final=True) for i in range(12)))
    kept = _payloads(events)
    assert kept[0][0] == "session"
    assert [m["data"]["utterance"]["text"] for _, m in kept[1:]] == [f" n{i}" for i in range(7, 12)]


def test_a_new_session_forgets_the_last_and_end_is_said_once() -> None:
    events = CaptionEvents("r")
    events.session("s1", ["Ann"], 1, True)
    _feed(events, transcript("00_1", " old", final=True))
    events.end("done")
    events.end("aborted")
    names = [name for name, _ in _payloads(events)]
    assert names == ["session", "message", "end"]
    assert _payloads(events)[-1][1] == {"session_id": "s1", "state": "done"}
    events.session("s2", ["Bob"], 1, True)
    assert _payloads(events) == [
        ("session", {"session_id": "s2", "channels": 1, "labels": ["Bob"], "labelled": True})
    ]
