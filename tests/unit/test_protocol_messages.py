"""Server message parsing: typed views, verbatim text kept, unknown types passed through."""

from __future__ import annotations

import json

import pytest

from gladia_cli.protocol.messages import (
    AudioChunkAck,
    MessageParseError,
    PostTranscript,
    ServerMessage,
    SpeechEvent,
    StopRecordingAck,
    Transcript,
    build_message,
    gating_flag,
    is_final_message,
    message_gating_flag,
    parse_server_message,
)

UTTERANCE = {
    "text": " see you",
    "start": 12.4,
    "end": 12.9,
    "confidence": 0.71,
    "channel": 1,
    "language": "en",
    "words": [{"word": " see", "start": 12.4, "end": 12.6, "confidence": 0.74}],
}


def _frame(**fields: object) -> str:
    return json.dumps({"session_id": "s", "created_at": "2026-03-02T10:15:02.300Z", **fields})


def test_transcript() -> None:
    text = _frame(
        type="transcript", data={"id": "01_00000003", "is_final": False, "utterance": UTTERANCE}
    )
    message = parse_server_message(text)
    assert isinstance(message, Transcript)
    assert message.text == text  # verbatim, for jsonl
    assert message.utterance_id == "01_00000003"
    assert message.is_final is False
    assert message.utterance.channel == 1
    assert message.utterance.words[0].word == " see"
    assert message.session_id == "s"


def test_acknowledgments() -> None:
    ack = parse_server_message(
        _frame(
            type="audio_chunk",
            acknowledged=True,
            error=None,
            data={"byte_range": [6400, 9600], "time_range": [0.2, 0.3]},
        )
    )
    assert isinstance(ack, AudioChunkAck)
    assert ack.acknowledged and ack.byte_range == (6400, 9600) and ack.time_range == (0.2, 0.3)
    refused = parse_server_message(
        _frame(type="audio_chunk", acknowledged=False, error={"message": "stopped"}, data=None)
    )
    assert isinstance(refused, AudioChunkAck)
    assert not refused.acknowledged and refused.byte_range is None
    assert refused.error_message == "stopped"
    stop = parse_server_message(
        _frame(
            type="stop_recording",
            acknowledged=True,
            error=None,
            data={"recording_duration": 59.8, "recording_left_to_process": 0.4},
        )
    )
    assert isinstance(stop, StopRecordingAck) and stop.recording_duration == 59.8


def test_speech_event_and_post_transcript() -> None:
    speech = parse_server_message(_frame(type="speech_start", data={"time": 1.0, "channel": 2}))
    assert isinstance(speech, SpeechEvent) and speech.channel == 2
    post = parse_server_message(
        _frame(
            type="post_transcript",
            data={"full_transcript": "see you", "languages": ["en"], "utterances": [UTTERANCE]},
        )
    )
    assert isinstance(post, PostTranscript) and post.utterances[0].text == " see you"


def test_unknown_type_and_odd_shapes_are_kept_not_fatal() -> None:
    unknown = parse_server_message(_frame(type="post_chapterization", data={"results": []}))
    assert type(unknown) is ServerMessage and unknown.type == "post_chapterization"
    broken = parse_server_message(_frame(type="transcript", data={"id": "x"}))  # no utterance
    assert type(broken) is ServerMessage and broken.type == "transcript"
    untyped = parse_server_message(json.dumps({"hello": 1}))
    assert untyped.type == "unknown"


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"a string"'])
def test_not_an_object_is_a_parse_error(text: str) -> None:
    with pytest.raises(MessageParseError):
        parse_server_message(text)


def test_gating_flags() -> None:
    assert gating_flag("transcript", is_final=False) == "receive_partial_transcripts"
    assert gating_flag("transcript", is_final=True) == "receive_final_transcripts"
    assert gating_flag("speech_end") == "receive_speech_events"
    assert gating_flag("sentiment_analysis") == "receive_realtime_processing_events"
    assert gating_flag("post_final_transcript") == "receive_post_processing_events"
    assert gating_flag("audio_chunk") == "receive_acknowledgments"
    assert gating_flag("end_session") == "receive_lifecycle_events"
    assert gating_flag("something_new") is None


def test_a_built_message_is_gated_by_its_type_and_finality() -> None:
    partial = build_message("transcript", "s", "t", data={"id": "u", "is_final": False})
    final = build_message("transcript", "s", "t", data={"id": "u", "is_final": True})
    ack = build_message("audio_chunk", "s", "t", data={"byte_range": [0, 1]}, error=None)
    ended = build_message("end_session", "s", "t")
    assert [is_final_message(m) for m in (partial, final, ack, ended)] == [False, True] + [True] * 2
    assert message_gating_flag(partial) == "receive_partial_transcripts"
    assert message_gating_flag(final) == "receive_final_transcripts"
    assert message_gating_flag(ack) == "receive_acknowledgments"
    assert message_gating_flag(ended) == "receive_lifecycle_events"


def test_a_lean_parse_keeps_no_words_unless_the_frame_spans_lines() -> None:
    import json as _json

    from gladia_cli.protocol.messages import PostTranscript, parse_server_message

    word = {"word": " hi", "start": 0.1, "end": 0.4, "confidence": 0.9}
    utterance = {"text": " hi", "start": 0.1, "end": 0.4, "confidence": 0.9, "channel": 0,
                 "language": "en", "words": [word]}  # fmt: skip
    message = {"type": "post_transcript", "session_id": "s", "created_at": "t",
               "data": {"full_transcript": "hi", "utterances": [utterance]}}  # fmt: skip
    lean = parse_server_message(_json.dumps(message), lean=True)
    assert isinstance(lean, PostTranscript)
    assert lean.utterances == ()  # not held twice: read from raw when needed
    assert lean.raw["data"]["utterances"][0] == {**utterance, "words": []}
    whole = parse_server_message(_json.dumps(message, indent=1), lean=True)  # jsonl rewrites it
    assert whole.raw["data"]["utterances"][0]["words"] == [word]
    assert parse_server_message(_json.dumps(message)).raw["data"]["utterances"][0]["words"]


def _long_end_message(count: int, *, final: bool = False) -> dict[str, object]:
    utterances = [
        {"text": f" word{i}", "start": i * 2.0, "end": i * 2.0 + 1.5, "confidence": 0.9,
         "channel": i % 2, "language": "en",
         "words": [{"word": f" word{i}", "start": i * 2.0, "end": i * 2.0 + 1.5,
                    "confidence": 0.9}]}
        for i in range(count)
    ]  # fmt: skip
    transcription = {"full_transcript": "…", "languages": ["en"], "utterances": utterances}
    if final:
        data: dict[str, object] = {"metadata": {"audio_duration": 2.0 * count},
                                   "transcription": transcription}  # fmt: skip
        return {"type": "post_final_transcript", "session_id": "s", "created_at": "t",
                "data": data}  # fmt: skip
    return {"type": "post_transcript", "session_id": "s", "created_at": "t",
            "data": transcription}  # fmt: skip


@pytest.mark.parametrize("final", [False, True])
def test_a_long_frame_leaves_its_utterances_in_the_text_read_one_at_a_time(final: bool) -> None:
    from gladia_cli.protocol.messages import LAZY_FRAME_CHARS, list_at

    message = _long_end_message(2000, final=final)
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    assert len(text) > LAZY_FRAME_CHARS
    path = ("data", "transcription", "utterances") if final else ("data", "utterances")
    lean = parse_server_message(text, lean=True)
    assert lean.text is text
    holder = lean.raw["data"]["transcription"] if final else lean.raw["data"]
    assert "utterances" not in holder  # left in the frame
    assert holder["full_transcript"] == "…" and holder["languages"] == ["en"]
    if final:
        assert lean.raw["data"]["metadata"] == {"audio_duration": 4000.0}
    items = list_at(lean, *path)
    assert items is not None
    whole = json.loads(text)
    listed = whole["data"]["transcription"]["utterances"] if final else whole["data"]["utterances"]
    expected = [{**u, "words": []} for u in listed]
    assert list(items) == expected
    # A short frame, or a whole parse, keeps the list in `raw`: list_at reads it there.
    assert list(list_at(parse_server_message(text), *path) or []) == listed
    assert list_at(lean, "data", "nothing") is None


def test_a_long_frame_is_checked_as_json_loads_checks_it() -> None:
    text = json.dumps(_long_end_message(2000), separators=(",", ":"))
    broken = text.replace('"channel":1', '"channel":1,', 1)  # inside the deferred list
    for bad in (broken, text + "x", text[:-1], "[" + text + "]"):
        with pytest.raises(MessageParseError):
            parse_server_message(bad, lean=True)
    with pytest.raises(MessageParseError):
        parse_server_message(broken)  # the same verdict, parsed whole


def test_a_long_frame_is_read_without_building_its_utterances() -> None:
    """The bound of issue 18: a lean parse of a 10 h end message holds the frame's text and
    what is outside its lists, never its utterances (one at a time while checked)."""
    import tracemalloc

    text = json.dumps(_long_end_message(20_000, final=True), separators=(",", ":"))
    tracemalloc.start()
    try:
        message = parse_server_message(text, lean=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 20 000 utterances parsed whole: tens of MB of objects for a 3.5 MB text. Here: kB.
    assert len(text) > 3_000_000
    assert peak < 200_000, peak
    assert message.type == "post_final_transcript"
