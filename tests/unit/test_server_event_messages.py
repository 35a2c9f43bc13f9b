"""Engine events → Gladia messages, with no socket, no clock, no engine."""

from __future__ import annotations

import json

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.messages import message_gating_flag, parse_server_message
from gladia_cli.server.live.event_messages import (
    EventMessages,
    chunk_acknowledgment,
    final_utterance,
    stop_acknowledgment,
)
from gladia_cli.server.live.ingest import Received
from gladia_cli.server.recognition.engines.base import (
    Hypothesis,
    RecognizedWord,
    SpeechEnded,
    SpeechStarted,
)

AT = "2026-01-01T00:00:00.000Z"


def _mapper(language: str = "fr") -> EventMessages:
    return EventMessages("s1", language, lambda: AT)


def _hyp(text: str, start: float, *, final: bool, language: str | None = None) -> Hypothesis:
    words = tuple(
        RecognizedWord(w, start + i * 0.1234, start + i * 0.1234 + 0.1, 0.98765)
        for i, w in enumerate(text.split())
    )
    return Hypothesis(text, start, start + 1.23456, 0.87654, words, final, language)


def test_utterances_are_numbered_per_channel_and_finals_carry_their_id() -> None:
    mapper = _mapper()
    messages = mapper.messages(
        [
            (0, SpeechStarted(0.5)),
            (1, SpeechStarted(0.6)),
            (0, _hyp("hello", 0.5, final=False)),
            (0, SpeechEnded(1.7)),
            (0, _hyp("hello world", 0.5, final=True)),
            (0, SpeechStarted(2.0)),
            (0, _hyp("again", 2.0, final=True)),
        ]
    )
    types = [m["type"] for m in messages]
    assert types == [
        "speech_start",
        "speech_start",
        "transcript",
        "speech_end",
        "transcript",
        "speech_start",
        "transcript",
    ]
    assert all(m["session_id"] == "s1" and m["created_at"] == AT for m in messages)
    assert messages[1]["data"] == {"time": 0.6, "channel": 1}
    ids = [m["data"]["id"] for m in messages if m["type"] == "transcript"]
    assert ids == ["00_00000000", "00_00000000", "00_00000001"]
    assert [m["data"]["is_final"] for m in messages if m["type"] == "transcript"] == [
        False,
        True,
        True,
    ]
    # Each is a message the client parses, and the flags gate partials apart from finals.
    assert parse_server_message(json.dumps(messages[4])).type == "transcript"
    assert message_gating_flag(messages[2]) != message_gating_flag(messages[4])


def test_an_utterance_is_rounded_spaced_and_defaults_to_the_configured_language() -> None:
    (message,) = _mapper("fr").messages([(2, _hyp(" bonjour  tout ", 1.0, final=True))])
    utterance = message["data"]["utterance"]
    assert utterance["text"] == " bonjour  tout"
    assert (utterance["start"], utterance["end"], utterance["confidence"]) == (1.0, 2.235, 0.877)
    assert utterance["channel"] == 2 and utterance["language"] == "fr"
    assert utterance["words"][1] == {
        "word": " tout",
        "start": 1.123,
        "end": 1.223,
        "confidence": 0.988,
    }
    (detected,) = _mapper("fr").messages([(0, _hyp("hi", 0.0, final=False, language="en"))])
    assert detected["data"]["utterance"]["language"] == "en"
    # A transcript before any speech_start (an engine without VAD) still has an id.
    assert message["data"]["id"] == "02_00000000"


def test_a_late_partial_is_open_only_until_its_final() -> None:
    mapper = _mapper()
    mapper.messages([(0, SpeechStarted(3.0))])
    late = _hyp("late", 3.0, final=False)
    assert mapper.is_open(0, late)
    assert not mapper.is_open(1, late)  # another channel's utterance
    assert not mapper.is_open(0, _hyp("other", 4.0, final=False))
    mapper.messages([(0, _hyp("late words", 3.0, final=True))])
    assert not mapper.is_open(0, late)  # its final was sent: the partial is stale


def test_final_utterance_picks_out_final_transcripts_only() -> None:
    mapper = _mapper()
    partial, final, start = mapper.messages(
        [(0, _hyp("a", 0.0, final=False)), (0, _hyp("a b", 0.0, final=True)), (0, SpeechStarted(2))]
    )
    assert final_utterance(partial) is None and final_utterance(start) is None
    picked = final_utterance(final)
    assert picked is not None and picked[0] == "00_00000000"
    assert picked[1] is final["data"]["utterance"]


def test_a_chunk_acknowledgment_places_bytes_with_the_header_and_seconds_without() -> None:
    fmt = AudioFormat(sample_rate=16000, channels=2)  # 64000 bytes a second
    ack = chunk_acknowledgment("s1", AT, Received(44, 44 + 32000, b""), header=44, fmt=fmt)
    assert ack["acknowledged"] is True and ack["error"] is None
    assert ack["data"] == {"byte_range": [44, 32044], "time_range": [0.0, 0.5]}
    within_header = chunk_acknowledgment("s1", AT, Received(0, 20, b""), header=44, fmt=fmt)
    assert within_header["data"]["time_range"] == [0.0, 0.0]
    refused = chunk_acknowledgment("s1", AT, None, header=44, fmt=fmt)
    assert refused["acknowledged"] is False and refused["data"] is None
    assert "stopped" in refused["error"]["message"]


def test_a_stop_is_acknowledged_once() -> None:
    ack = stop_acknowledgment("s1", AT, recording=True, duration=1.23456, left_to_process=0.5)
    assert ack["acknowledged"] is True
    assert ack["data"] == {"recording_duration": 1.235, "recording_left_to_process": 0.5}
    again = stop_acknowledgment("s1", AT, recording=False, duration=1.2, left_to_process=0.0)
    assert again["acknowledged"] is False and again["data"] is None
    assert again["error"] == {"message": "Recording is already stopped"}
