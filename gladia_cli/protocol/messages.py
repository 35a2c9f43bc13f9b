"""Server → client messages: parsed once at the edge into typed objects.

Every parsed message keeps the exact frame it came from (`text`) and its JSON (`raw`), so the
jsonl output can be the server's bytes verbatim. A type this module does not model, or a
known type with an unexpected shape, is kept as a plain `ServerMessage`: never a crash.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json import JSONDecodeError
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
    # A lean parse of a long frame leaves its utterance lists out of `raw`: here is where
    # each starts in `text` (by its path of keys), read one item at a time by `list_at`.
    deferred: Mapping[tuple[str, ...], int] = field(default_factory=dict, repr=False)

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


def _typed(
    message_type: str,
    raw: dict[str, Any],
    text: str,
    lean: bool,
    deferred: Mapping[tuple[str, ...], int],
) -> ServerMessage:
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    assert isinstance(data, dict)
    if message_type == "audio_chunk":
        return AudioChunkAck(
            message_type,
            raw,
            text,
            deferred=deferred,
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
            deferred=deferred,
            acknowledged=bool(raw.get("acknowledged")),
            recording_duration=float(duration) if duration is not None else None,
        )
    if message_type == "transcript":
        return Transcript(
            message_type,
            raw,
            text,
            deferred=deferred,
            utterance_id=str(data["id"]),
            is_final=bool(data["is_final"]),
            utterance=Utterance.from_dict(data["utterance"]),
        )
    if message_type in ("speech_start", "speech_end", "speech_turn_end"):
        return SpeechEvent(
            message_type,
            raw,
            text,
            deferred=deferred,
            time=float(data["time"]),
            channel=int(data["channel"]),
        )
    if message_type == "answering_machine":
        return AnsweringMachine(
            message_type,
            raw,
            text,
            deferred=deferred,
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
            deferred=deferred,
            utterance_id=str(data["utterance_id"]),
            target_language=str(data["target_language"]),
            translated=Utterance.from_dict(data["translated_utterance"]),
        )
    if message_type == "post_transcript":
        return PostTranscript(
            message_type,
            raw,
            text,
            deferred=deferred,
            full_transcript=str(data.get("full_transcript", "")),
            # Lean: read from `raw` when needed (protocol/client_session.end_utterances),
            # not held twice.
            utterances=()
            if lean
            else tuple(Utterance.from_dict(u) for u in data.get("utterances") or ()),
        )
    return ServerMessage(message_type, raw, text, deferred)


class MessageParseError(ValueError):
    """A frame that is not a JSON object: the only thing parsing refuses."""


def _without_words(obj: dict[str, Any]) -> dict[str, Any]:
    """The object hook of a lean parse: an utterance's words are let go as soon as built."""
    if "words" in obj and "text" in obj:
        obj["words"] = []
    return obj


# A lean parse reads frames at least this long with `_LazyReader`: their utterance lists
# stay in the frame's text. (Below it, the parsed list costs less than the walk.)
LAZY_FRAME_CHARS = 64 * 1024
# Objects under these keys are walked key by key (the envelope itself too); lists under
# `_DEFERRED_KEYS` in them are left in the text. Every other value is parsed whole.
_DESCEND = frozenset({"data", "transcription"})
_DEFERRED_KEYS = frozenset({"utterances"})
_MAX_DEPTH = 3  # data.transcription.utterances: a deeper nesting is parsed whole
_LEAN = json.JSONDecoder(object_hook=_without_words)
_LEFT_OUT = object()
_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's (as json.decoder's own)
# The json module's string scanner (C): a key's text and the index after its closing quote.
_scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


def _space(text: str, index: int) -> int:
    match = _WHITESPACE.match(text, index)
    return match.end() if match else index


def _array(text: str, index: int) -> Iterator[tuple[Any, int]]:
    """The items of the JSON array whose `[` is at `index`, parsed one at a time (lean), each
    with the index after it; the last pair is (`_LEFT_OUT`, the index after the `]`)."""
    index = _space(text, index + 1)
    if text[index : index + 1] == "]":
        yield _LEFT_OUT, index + 1
        return
    while True:
        item, index = _LEAN.raw_decode(text, index)
        index = _space(text, index)
        yield item, index
        char = text[index : index + 1]
        if char == "]":
            yield _LEFT_OUT, index + 1
            return
        if char != ",":
            raise JSONDecodeError("Expecting ',' delimiter", text, index)
        index = _space(text, index + 1)


class _LazyReader:
    """A lean parse that leaves a long frame's utterance lists in its text.

    A 10 h session's end messages are 6 MB frames, 15 000 utterances each: parsed, 8 MiB
    more on top of the text (issue 18). Here the envelope and the objects under `_DESCEND`
    are walked key by key with the json module's own scanner, every other value parsed by
    it whole, and each list under `_DEFERRED_KEYS` read through one item at a time (so the
    frame is checked as json.loads checks it) and left out of the result: `list_at` reads
    it again, one item at a time, when someone needs it."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.deferred: dict[tuple[str, ...], int] = {}

    def parse(self) -> Any:
        value, index = self._value(_space(self.text, 0), ())
        if _space(self.text, index) != len(self.text):
            raise JSONDecodeError("Extra data", self.text, index)
        return value

    def _value(self, index: int, path: tuple[str, ...]) -> tuple[Any, int]:
        char = self.text[index : index + 1]
        walked = not path or (len(path) < _MAX_DEPTH and path[-1] in _DESCEND)
        if char == "{" and walked:
            return self._object(index, path)
        if char == "[" and path and path[-1] in _DEFERRED_KEYS:
            # Read through (and checked) to its end, one item at a time; the last pair
            # says where it ends.
            end = deque(_array(self.text, index), maxlen=1)[0][1]
            self.deferred[path] = index
            return _LEFT_OUT, end
        value, end = _LEAN.raw_decode(self.text, index)
        return value, end

    def _object(self, index: int, path: tuple[str, ...]) -> tuple[dict[str, Any], int]:
        text = self.text
        obj: dict[str, Any] = {}
        index = _space(text, index + 1)
        if text[index : index + 1] == "}":
            return obj, index + 1
        while True:
            if text[index : index + 1] != '"':
                raise JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, index
                )
            key, index = _scanstring(text, index + 1)
            index = _space(text, index)
            if text[index : index + 1] != ":":
                raise JSONDecodeError("Expecting ':' delimiter", text, index)
            value, index = self._value(_space(text, index + 1), (*path, key))
            if value is _LEFT_OUT:
                obj.pop(key, None)
            else:
                obj[key] = value
            index = _space(text, index)
            char = text[index : index + 1]
            if char == "}":
                return obj, index + 1
            if char != ",":
                raise JSONDecodeError("Expecting ',' delimiter", text, index)
            index = _space(text, index + 1)


def list_at(message: ServerMessage, *path: str) -> Iterator[Any] | None:
    """The items of the JSON list at `path` in the message (None when there is none): from
    `raw`, or read from the frame one at a time when a lean parse left it there."""
    start = message.deferred.get(path)
    if start is not None:
        return (item for item, _ in _array(message.text, start) if item is not _LEFT_OUT)
    value: Any = message.raw
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return iter(value) if isinstance(value, list) else None


def parse_server_message(text: str, *, lean: bool = False) -> ServerMessage:
    """Parse one text frame. Unknown types and odd shapes are kept as plain messages.

    `lean`: utterances keep no words. A long session's end messages carry every word of
    it (10 h: two frames of 6 MB, 15 000 utterances, 60 000 word objects each), which the
    text and jsonl outputs never read (jsonl writes the frame itself) — unless the frame
    spans several lines, when jsonl writes the parsed message again: then it is whole.
    A long frame's utterance lists are not even built: `list_at` reads them from the text.
    """
    lean = lean and "\n" not in text and "\r" not in text
    deferred: Mapping[tuple[str, ...], int] = {}
    try:
        if lean and len(text) >= LAZY_FRAME_CHARS:
            reader = _LazyReader(text)
            raw = reader.parse()
            deferred = reader.deferred
        else:
            raw = json.loads(text, object_hook=_without_words if lean else None)
    except json.JSONDecodeError as exc:
        raise MessageParseError(f"server sent invalid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise MessageParseError("server sent JSON that is not an object")
    message_type = raw.get("type")
    if not isinstance(message_type, str):
        return ServerMessage("unknown", raw, text, deferred)
    try:
        return _typed(message_type, raw, text, lean, deferred)
    except (KeyError, TypeError, ValueError):
        # A known type with a shape we do not understand: pass it through untyped.
        return ServerMessage(message_type, raw, text, deferred)
