"""The body of `POST /v2/live`: its schema, Gladia's defaults, and its validation.

One source of truth for both sides: the client validates what it is about to send (so a typo
fails before any network call) and the local server validates what it receives, answering
400 with the same messages. Message wording follows class-validator, which Gladia's API uses:
each starts with the field path, which is what the official SDK's error parser expects.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gladia_cli.protocol.audio_format import BIT_DEPTHS, ENCODINGS, MAX_CHANNELS, SAMPLE_RATES
from gladia_cli.protocol.body_flags import Flag, key_values
from gladia_cli.protocol.languages import TRANSCRIPTION_LANGUAGES, TRANSLATION_LANGUAGES

CUSTOM_METADATA_MAX_CHARS = 2000
REGIONS = ("us-west", "eu-west")
LIVE_MODELS = ("solaria-1",)  # solaria-3 is pre-recorded only (protocol.md §11)

_NO_DEFAULT = object()


@dataclass(frozen=True)
class Field:
    """One field of the schema. `kind` is a JSON type name; `fields` describes an object."""

    kind: str  # "boolean" | "number" | "integer" | "string" | "object" | "array" | "any"
    default: Any = _NO_DEFAULT
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    items: Field | None = None
    min_items: int | None = None
    fields: Mapping[str, Field] = field(default_factory=dict)
    required: bool = False
    # Extra rule for shapes the plain description cannot say (unions, sizes); returns errors.
    check: Callable[[str, Any], list[str]] | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


def _boolean(default: bool) -> Field:
    return Field("boolean", default=default)


def check_vocabulary_entry(path: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return []
    if not isinstance(value, dict):
        return [f"{path} must be a string or an object"]
    return _validate_object(path, value, _VOCABULARY_ENTRY.fields, strict=False)


def _check_spelling_dictionary(path: str, value: Any) -> list[str]:
    errors = []
    for key, spellings in value.items():
        if not isinstance(spellings, list) or not all(isinstance(s, str) for s in spellings):
            errors.append(f"{path}.{key} must be an array of strings")
    return errors


def _check_callback_url(path: str, value: Any) -> list[str]:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"{path} must be an http or https URL"]
    try:
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        return [f"{path} must be an http or https URL"]
    return []


def _check_custom_metadata(path: str, value: Any) -> list[str]:
    if len(json.dumps(value, separators=(",", ":"))) > CUSTOM_METADATA_MAX_CHARS:
        return [f"{path} must be shorter than or equal to {CUSTOM_METADATA_MAX_CHARS} characters"]
    return []


_VOCABULARY_ENTRY = Field(
    "object",
    fields={
        "value": Field("string", required=True),
        "intensity": Field("number", minimum=0, maximum=1),
        "pronunciations": Field("array", items=Field("string")),
        "language": Field("string", choices=tuple(sorted(TRANSCRIPTION_LANGUAGES))),
    },
)

_LANGUAGE = Field("string", choices=tuple(sorted(TRANSCRIPTION_LANGUAGES)))

MESSAGE_FLAGS: dict[str, bool] = {
    "receive_partial_transcripts": False,
    "receive_final_transcripts": True,
    "receive_speech_events": True,
    "receive_pre_processing_events": True,
    "receive_realtime_processing_events": True,
    "receive_post_processing_events": True,
    "receive_acknowledgments": True,
    "receive_errors": True,
    "receive_lifecycle_events": False,
}

# Callbacks have their own defaults (protocol.md §2.5): quieter than the socket.
CALLBACK_FLAGS: dict[str, bool] = {
    "receive_partial_transcripts": False,
    "receive_final_transcripts": True,
    "receive_speech_events": False,
    "receive_pre_processing_events": True,
    "receive_realtime_processing_events": True,
    "receive_post_processing_events": True,
    "receive_acknowledgments": False,
    "receive_errors": False,
    "receive_lifecycle_events": True,
}

SCHEMA: dict[str, Field] = {
    "encoding": Field("string", default="wav/pcm", choices=ENCODINGS),
    "bit_depth": Field("number", default=16, choices=BIT_DEPTHS),
    "sample_rate": Field("number", default=16000, choices=SAMPLE_RATES),
    "channels": Field("integer", default=1, minimum=1, maximum=MAX_CHANNELS),
    "model": Field("string", default="solaria-1", choices=LIVE_MODELS),
    "endpointing": Field("number", default=0.05, minimum=0.01, maximum=10),
    "maximum_duration_without_endpointing": Field("number", default=5, minimum=5, maximum=60),
    # Semantic end of turn (protocol.md §11): present, even empty, turns it on.
    "end_of_turn": Field(
        "object",
        fields={
            "threshold": Field("number", default=0.5, minimum=0, maximum=1),
            "emission_threshold": Field("number", minimum=0, maximum=1),  # default: threshold
            "max_wait_secs": Field("number", default=8, minimum=1, maximum=30),
            "probe_base_ms": Field("number", default=900, minimum=100, maximum=5000),
        },
    ),
    "language_config": Field(
        "object",
        fields={
            "languages": Field("array", default=[], items=_LANGUAGE),
            "code_switching": _boolean(False),
        },
    ),
    "pre_processing": Field(
        "object",
        fields={
            "audio_enhancer": _boolean(False),
            "speech_threshold": Field("number", default=0.6, minimum=0, maximum=1),
        },
    ),
    "realtime_processing": Field(
        "object",
        fields={
            "custom_vocabulary": _boolean(False),
            "custom_vocabulary_config": Field(
                "object",
                fields={
                    "vocabulary": Field(
                        "array",
                        required=True,
                        items=Field("any", check=check_vocabulary_entry),
                    ),
                    "default_intensity": Field("number", minimum=0, maximum=1),
                },
            ),
            "custom_spelling": _boolean(False),
            "custom_spelling_config": Field(
                "object",
                fields={
                    "spelling_dictionary": Field(
                        "object", required=True, check=_check_spelling_dictionary
                    ),
                },
            ),
            "translation": _boolean(False),
            "translation_config": Field(
                "object",
                fields={
                    "target_languages": Field(
                        "array",
                        required=True,
                        min_items=1,
                        items=Field("string", choices=tuple(sorted(TRANSLATION_LANGUAGES))),
                    ),
                    "model": Field("string", default="base", choices=("base", "enhanced")),
                    "match_original_utterances": _boolean(True),
                    "lipsync": _boolean(True),
                    "context_adaptation": _boolean(True),
                    "context": Field("string"),
                    "informal": _boolean(False),
                },
            ),
            "named_entity_recognition": _boolean(False),
            "sentiment_analysis": _boolean(False),
        },
    ),
    "post_processing": Field(
        "object",
        fields={
            "summarization": _boolean(False),
            "summarization_config": Field(
                "object",
                fields={
                    "type": Field(
                        "string", default="general", choices=("general", "bullet_points", "concise")
                    )
                },
            ),
            "chapterization": _boolean(False),
        },
    ),
    "messages_config": Field(
        "object", fields={name: _boolean(value) for name, value in MESSAGE_FLAGS.items()}
    ),
    "callback": _boolean(False),
    "callback_config": Field(
        "object",
        fields={
            "url": Field("string", check=_check_callback_url),
            **{name: _boolean(value) for name, value in CALLBACK_FLAGS.items()},
        },
    ),
    "custom_metadata": Field("object", check=_check_custom_metadata),
}

# Top-level objects that get filled with their defaults even when absent from the request,
# so that `request_params` and the server's own logic always see every flag.
_ALWAYS_FILLED = (
    "language_config",
    "pre_processing",
    "realtime_processing",
    "post_processing",
    "messages_config",
)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)  # no NaN, no Infinity


def _type_error(path: str, kind: str) -> str:
    return {
        "boolean": f"{path} must be a boolean value",
        "number": f"{path} must be a number conforming to the specified constraints",
        "integer": f"{path} must be an integer number",
        "string": f"{path} must be a string",
        "object": f"{path} must be an object",
        "array": f"{path} must be an array",
    }[kind]


def _has_kind(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return _is_number(value)
    if kind == "integer":
        # No float() of an int: a 400-digit integer would overflow it.
        return _is_number(value) and (isinstance(value, int) or float(value).is_integer())
    if kind == "string":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    raise ValueError(f"unknown kind {kind}")


def _validate_value(path: str, value: Any, spec: Field, strict: bool) -> list[str]:
    if not _has_kind(value, spec.kind):
        return [_type_error(path, spec.kind)]
    errors: list[str] = []
    if spec.choices is not None and value not in spec.choices:
        shown = ", ".join(str(c) for c in spec.choices)
        if len(spec.choices) > 12:
            shown = ", ".join(str(c) for c in spec.choices[:12]) + ", …"
        errors.append(f"{path} must be one of the following values: {shown}")
    if spec.minimum is not None and value < spec.minimum:
        errors.append(f"{path} must not be less than {spec.minimum:g}")
    if spec.maximum is not None and value > spec.maximum:
        errors.append(f"{path} must not be greater than {spec.maximum:g}")
    if spec.kind == "array":
        if spec.min_items is not None and len(value) < spec.min_items:
            errors.append(f"{path} should not be empty")
        if spec.items is not None:
            for i, item in enumerate(value):
                errors += _validate_value(f"{path}[{i}]", item, spec.items, strict)
    if spec.kind == "object" and spec.fields:
        errors += _validate_object(path, value, spec.fields, strict)
    if spec.check is not None and not errors:
        errors += spec.check(path, value)
    return errors


def _validate_object(
    path: str, obj: dict[str, Any], fields: Mapping[str, Field], strict: bool
) -> list[str]:
    prefix = f"{path}." if path else ""
    errors: list[str] = []
    for name, spec in fields.items():
        if name not in obj or obj[name] is None:
            if spec.required:
                errors.append(f"{prefix}{name} is required")
            continue
        errors += _validate_value(prefix + name, obj[name], spec, strict)
    if strict:
        errors += [
            f"property {prefix}{name} should not exist" for name in obj if name not in fields
        ]
    return errors


def validate(body: Any, *, strict: bool = False) -> list[str]:
    """Schema errors (type, enum, range, required) of an init body; empty when it is valid.

    Unknown keys are tolerated unless `strict`, as Gladia tolerates at least the legacy
    `realtime_processing.words_accurate_timestamps` that LiveKit still sends.
    """
    if not isinstance(body, dict):
        return ["body must be a JSON object"]
    return _validate_object("", body, SCHEMA, strict)


def semantic_errors(body: dict[str, Any]) -> list[str]:
    """Well-formed but impossible combinations: the API answers these with 422."""
    errors = []
    encoding = body.get("encoding", "wav/pcm")
    if encoding in ("wav/alaw", "wav/ulaw") and body.get("bit_depth", 8) != 8:
        errors.append(f"bit_depth must be 8 when encoding is {encoding}")
    rt = body.get("realtime_processing") or {}
    if rt.get("translation") and not rt.get("translation_config"):
        errors.append("realtime_processing.translation_config is required when translation is true")
    if body.get("callback") and not (body.get("callback_config") or {}).get("url"):
        errors.append("callback_config.url is required when callback is true")
    return errors


def _fill(value: dict[str, Any], fields: Mapping[str, Field]) -> dict[str, Any]:
    filled = dict(value)
    for name, spec in fields.items():
        current = filled.get(name)
        if current is None and spec.has_default:
            filled[name] = list(spec.default) if isinstance(spec.default, list) else spec.default
        elif isinstance(current, dict) and spec.kind == "object" and spec.fields:
            filled[name] = _fill(current, spec.fields)
    return filled


def with_defaults(body: dict[str, Any]) -> dict[str, Any]:
    """The body with every default applied: what the session will actually run with."""
    filled = _fill(body, SCHEMA)
    for name in _ALWAYS_FILLED:
        if filled.get(name) is None:
            filled[name] = _fill({}, SCHEMA[name].fields)
    if filled.get("callback") and filled.get("callback_config"):
        filled["callback_config"] = _fill(
            filled["callback_config"], SCHEMA["callback_config"].fields
        )
    if filled.get("encoding") in ("wav/alaw", "wav/ulaw") and "bit_depth" not in body:
        filled["bit_depth"] = 8
    turn = filled.get("end_of_turn")
    if isinstance(turn, dict) and turn.get("emission_threshold") is None:
        filled["end_of_turn"] = {**turn, "emission_threshold": turn["threshold"]}
    return filled


def turn_ends_asked(config: dict[str, Any]) -> bool:
    """Whether a session's body asks for `speech_turn_end` (an `end_of_turn` object)."""
    return isinstance(config.get("end_of_turn"), dict)


# --- the command-line flags → the body (protocol/body_flags.py) ------------------------------

_RT, _PP = "realtime_processing", "post_processing"


def _spelling(values: list[str]) -> dict[str, Any]:
    pairs = key_values(values, "--spelling")
    return {"spelling_dictionary": {k: [s for s in v.split(",") if s] for k, v in pairs.items()}}


# The session's own settings; the audio format's fields come before them, from the source.
LIVE_SESSION_FLAGS = (
    Flag("model", ("model",)),
    Flag("endpointing", ("endpointing",)),
    Flag("max_utterance", ("maximum_duration_without_endpointing",)),
    Flag("end_of_turn", ("end_of_turn",), convert=lambda _: {}),  # empty: on, Gladia's defaults
    Flag("turn_threshold", ("end_of_turn", "threshold")),
    Flag("turn_emission_threshold", ("end_of_turn", "emission_threshold")),
    Flag("turn_max_wait", ("end_of_turn", "max_wait_secs")),
    Flag("turn_probe_ms", ("end_of_turn", "probe_base_ms")),
    Flag("language", ("language_config", "languages")),
    Flag("code_switching", ("language_config", "code_switching")),
    Flag("audio_enhancer", ("pre_processing", "audio_enhancer")),
    Flag("speech_threshold", ("pre_processing", "speech_threshold")),
)
# The realtime and post-processing sections (the add-ons among them: `--local` checks them
# before anything runs). `terms`: the vocabulary and spelling files' fragment, which holds
# the --vocabulary and --spelling given with them.
LIVE_PROCESSING_FLAGS = (
    Flag("terms", (_RT,)),
    Flag(
        "vocabulary",
        (_RT, "custom_vocabulary_config"),
        convert=lambda words: {"vocabulary": words},
        switch=(_RT, "custom_vocabulary"),
        unless=(_RT, "custom_vocabulary_config"),
    ),
    Flag(
        "spelling",
        (_RT, "custom_spelling_config"),
        convert=_spelling,
        switch=(_RT, "custom_spelling"),
        unless=(_RT, "custom_spelling_config"),
    ),
    Flag(
        "translate",
        (_RT, "translation_config"),
        convert=lambda languages: {"target_languages": languages},
        switch=(_RT, "translation"),
    ),
    Flag("translation_model", (_RT, "translation_config", "model"), only_with="translate"),
    Flag("ner", (_RT, "named_entity_recognition")),
    Flag("sentiment", (_RT, "sentiment_analysis")),
    Flag(
        "summarize",
        (_PP, "summarization_config"),
        convert=lambda kind: {"type": kind},
        switch=(_PP, "summarization"),
    ),
    Flag("chapters", (_PP, "chapterization")),
)
LIVE_FLAGS = (
    *LIVE_SESSION_FLAGS,
    *LIVE_PROCESSING_FLAGS,
    Flag(
        "callback_url", ("callback_config",), convert=lambda url: {"url": url}, switch=("callback",)
    ),
    Flag("metadata", ("custom_metadata",), convert=lambda pairs: key_values(pairs, "--metadata")),
)
