"""Server → client messages: parsed once at the edge into typed objects.

Every parsed message keeps the exact frame it came from (`text`) and its JSON (`raw`), so the
jsonl output can be the server's bytes verbatim. A type this module does not model, or a
known type with an unexpected shape, is kept as a plain `ServerMessage`: never a crash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Which `messages_config` flag gates which message type (protocol.md §2.4).
_FLAG_BY_TYPE = {
    "speech_start": "receive_speech_events",
    "speech_end": "receive_speech_events",
    # The end of a turn is a speech event (inferred: Gladia does not say which flag gates it).
    "speech_turn_end": "receive_speech_events",
    "translation": "receive_realtime_processing_events",
    "named_entity_recognition": "receive_realtime_processing_events",
    "sentiment_analysis": "receive_realtime_processing_events",
    "post_transcript": "receive_post_processing_events",
    "post_final_transcript": "receive_post_processing_events",
    "post_summarization": "receive_post_processing_events",
    "post_chapterization": "receive_post_processing_events",
    "audio_chunk": "receive_acknowledgments",
    "stop_recording": "receive_acknowledgments",
    "error": "receive_errors",
    "start_session": "receive_lifecycle_events",
    "start_recording": "receive_lifecycle_events",
    "end_recording": "receive_lifecycle_events",
    "end_session": "receive_lifecycle_events",
}

# Sent whatever messages_config says (Gladia documents no flag, nor the switch, for it).
_UNGATED = ("answering_machine",)

SERVER_MESSAGE_TYPES = (
    "audio_chunk",
    "stop_recording",
    "transcript",
    *sorted((set(_FLAG_BY_TYPE) | set(_UNGATED)) - {"audio_chunk", "stop_recording"}),
)


def gating_flag(message_type: str, is_final: bool = True) -> str | None:
    """The `messages_config` flag that decides whether a message of this type is sent."""
    if message_type == "transcript":
        return "receive_final_transcripts" if is_final else "receive_partial_transcripts"
    return _FLAG_BY_TYPE.get(message_type)


def is_final_message(message: dict[str, Any]) -> bool:
    """Whether a built message is final: only a transcript's `data.is_final` says no."""
    data = message.get("data")
    return bool(data.get("is_final", True)) if isinstance(data, dict) else True


def message_gating_flag(message: dict[str, Any]) -> str | None:
    """The `messages_config` (or callback) flag that decides whether `message` is sent."""
    return gating_flag(message["type"], is_final_message(message))


def iso_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, as Gladia writes `created_at`."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def build_message(
    message_type: str, session_id: str, created_at: str, **fields: Any
) -> dict[str, Any]:
    """A server message envelope; `fields` are `data`, `error`, `acknowledged` as the type needs."""
    return {"type": message_type, "session_id": session_id, "created_at": created_at, **fields}


@dataclass(frozen=True)
class Word:
    word: str
    start: float
    end: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Utterance:
    text: str
    start: float
    end: float
    channel: int
    confidence: float = 0.0
    language: str = ""
    words: tuple[Word, ...] = ()

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Utterance:
        return cls(
            text=str(d["text"]),
            start=float(d["start"]),
            end=float(d["end"]),
            channel=int(d.get("channel", 0)),
            confidence=float(d.get("confidence", 0.0)),
            language=str(d.get("language", "")),
            words=tuple(
                Word(str(w["word"]), float(w["start"]), float(w["end"]), float(w["confidence"]))
                for w in d.get("words") or ()
            ),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
            "channel": self.channel,
            "language": self.language,
            "words": [w.to_dict() for w in self.words],
        }


@dataclass(frozen=True)
class ServerMessage:
    """Any message; the subclasses below add typed views of the ones the client acts on."""

    type: str
    raw: dict[str, Any] = field(repr=False)
    text: str = field(repr=False)

    @property
    def session_id(self) -> str | None:
        value = self.raw.get("session_id")
        return value if isinstance(value, str) else None

    @property
    def error_message(self) -> str | None:
        error = self.raw.get("error")
        if isinstance(error, dict):
            return str(error.get("message", error))
        return str(error) if error else None


@dataclass(frozen=True)
class AudioChunkAck(ServerMessage):
    acknowledged: bool = False
    byte_range: tuple[int, int] | None = None
    time_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class StopRecordingAck(ServerMessage):
    acknowledged: bool = False
    recording_duration: float | None = None


@dataclass(frozen=True)
class Transcript(ServerMessage):
    utterance_id: str = ""
    is_final: bool = False
    utterance: Utterance = field(default_factory=lambda: Utterance("", 0.0, 0.0, 0))


@dataclass(frozen=True)
class SpeechEvent(ServerMessage):
    time: float = 0.0
    channel: int = 0


@dataclass(frozen=True)
class AnsweringMachine(ServerMessage):
    """Who picked up an outbound call: `human` or `machine`, once per session."""

    kind: str = ""
    confidence: float = 0.0  # a ranking score, not a probability (Gladia's docs)
    time: float = 0.0
    channel: int = 0


@dataclass(frozen=True)
class Translation(ServerMessage):
    utterance_id: str = ""
    target_language: str = ""
    translated: Utterance = field(default_factory=lambda: Utterance("", 0.0, 0.0, 0))


@dataclass(frozen=True)
class PostTranscript(ServerMessage):
    full_transcript: str = ""
    utterances: tuple[Utterance, ...] = ()


def _pair(value: Any, kind: type[int] | type[float]) -> Any:
    if isinstance(value, list | tuple) and len(value) == 2:
        return (kind(value[0]), kind(value[1]))
    return None


def _typed(message_type: str, raw: dict[str, Any], text: str, lean: bool) -> ServerMessage:
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    assert isinstance(data, dict)
    if message_type == "audio_chunk":
        return AudioChunkAck(
            message_type,
            raw,
            text,
            acknowledged=bool(raw.get("acknowledged")),
            byte_range=_pair(data.get("byte_range"), int),
            time_range=_pair(data.get("time_range"), float),
        )
    if message_type == "stop_recording":
        duration = data.get("recording_duration")
        return StopRecordingAck(
            message_type,
            raw,
            text,
            acknowledged=bool(raw.get("acknowledged")),
            recording_duration=float(duration) if duration is not None else None,
        )
    if message_type == "transcript":
        return Transcript(
            message_type,
            raw,
            text,
            utterance_id=str(data["id"]),
            is_final=bool(data["is_final"]),
            utterance=Utterance.from_dict(data["utterance"]),
        )
    if message_type in ("speech_start", "speech_end", "speech_turn_end"):
        return SpeechEvent(
            message_type, raw, text, time=float(data["time"]), channel=int(data["channel"])
        )
    if message_type == "answering_machine":
        return AnsweringMachine(
            message_type,
            raw,
            text,
            kind=str(data["kind"]),
            confidence=float(data["confidence"]),
            time=float(data.get("time", 0.0)),
            channel=int(data.get("channel", 0)),
        )
    if message_type == "translation" and data:
        return Translation(
            message_type,
            raw,
            text,
            utterance_id=str(data["utterance_id"]),
            target_language=str(data["target_language"]),
            translated=Utterance.from_dict(data["translated_utterance"]),
        )
    if message_type == "post_transcript":
        return PostTranscript(
            message_type,
            raw,
            text,
            full_transcript=str(data.get("full_transcript", "")),
            # Lean: read from `raw` when needed (protocol/client_session.end_utterances),
            # not held twice.
            utterances=()
            if lean
            else tuple(Utterance.from_dict(u) for u in data.get("utterances") or ()),
        )
    return ServerMessage(message_type, raw, text)


class MessageParseError(ValueError):
    """A frame that is not a JSON object: the only thing parsing refuses."""


def _without_words(obj: dict[str, Any]) -> dict[str, Any]:
    """The object hook of a lean parse: an utterance's words are let go as soon as built."""
    if "words" in obj and "text" in obj:
        obj["words"] = []
    return obj


def parse_server_message(text: str, *, lean: bool = False) -> ServerMessage:
    """Parse one text frame. Unknown types and odd shapes are kept as plain messages.

    `lean`: utterances keep no words. A long session's end messages carry every word of
    it (10 h: two frames of 6 MB, 15 000 utterances, 60 000 word objects each), which the
    text and jsonl outputs never read (jsonl writes the frame itself) — unless the frame
    spans several lines, when jsonl writes the parsed message again: then it is whole."""
    hook = _without_words if lean and "\n" not in text and "\r" not in text else None
    try:
        raw = json.loads(text, object_hook=hook)
    except json.JSONDecodeError as exc:
        raise MessageParseError(f"server sent invalid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise MessageParseError("server sent JSON that is not an object")
    message_type = raw.get("type")
    if not isinstance(message_type, str):
        return ServerMessage("unknown", raw, text)
    try:
        return _typed(message_type, raw, text, hook is not None)
    except (KeyError, TypeError, ValueError):
        # A known type with a shape we do not understand: pass it through untyped.
        return ServerMessage(message_type, raw, text)
