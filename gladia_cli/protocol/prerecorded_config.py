"""The body of `POST /v2/pre-recorded`: its schema, Gladia's defaults, and its validation.

Shared by both sides, as `init_config` is for live sessions (and built from its pieces, so
the messages read the same): the CLI checks what it is about to send, the local server
what it receives (400 with `validation_errors`). Only `audio_url` is required; unknown keys
are tolerated unless strict (Gladia adds options over time). Shapes follow the official
SDK's `v2/prerecorded/generated_types.py` and protocol.md §7.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gladia_cli.protocol.body_flags import Flag, key_values
from gladia_cli.protocol.init_config import (
    SCHEMA as LIVE_SCHEMA,
)
from gladia_cli.protocol.init_config import (
    Field,
    _boolean,
    _check_callback_url,
    _fill,
    _validate_object,
)
from gladia_cli.protocol.languages import TRANSCRIPTION_LANGUAGES

STATUSES = ("queued", "processing", "done", "error")
MODELS = ("solaria-1", "solaria-3", "solaria-fusion")
# Solaria-3 (protocol.md §11): five languages, and the language sticks once detected.
SOLARIA_3 = "solaria-3"
SOLARIA_3_LANGUAGES = ("en", "fr", "de", "es", "it")
SUBTITLE_FORMATS = ("srt", "vtt")
SUMMARY_TYPES = ("general", "bullet_points", "concise")


def _check_audio_url(path: str, value: Any) -> list[str]:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"{path} must be an http or https URL"]
    return []


_LANGUAGE = Field("string", choices=tuple(sorted(TRANSCRIPTION_LANGUAGES)))
_LIVE_REALTIME = LIVE_SCHEMA["realtime_processing"].fields

SCHEMA: dict[str, Field] = {
    "audio_url": Field("string", required=True, check=_check_audio_url),
    "model": Field("string", choices=MODELS),
    "language_config": Field(
        "object",
        fields={
            "languages": Field("array", default=[], items=_LANGUAGE),
            "code_switching": _boolean(False),
        },
    ),
    "custom_vocabulary": _boolean(False),
    "custom_vocabulary_config": _LIVE_REALTIME["custom_vocabulary_config"],
    "custom_spelling": _boolean(False),
    "custom_spelling_config": _LIVE_REALTIME["custom_spelling_config"],
    "diarization": _boolean(False),
    "diarization_config": Field(
        "object",
        fields={
            "number_of_speakers": Field("integer", minimum=1),
            "min_speakers": Field("integer", minimum=1),
            "max_speakers": Field("integer", minimum=1),
        },
    ),
    "translation": _boolean(False),
    # The same rules as live, plus the `batch` model of the SDK's pre-recorded types and the
    # legacy `split_words` old clients still send (accepted, ignored).
    "translation_config": Field(
        "object",
        fields={
            **_LIVE_REALTIME["translation_config"].fields,
            "model": Field("string", default="base", choices=("base", "enhanced", "batch")),
            "split_words": _boolean(False),
        },
    ),
    "subtitles": _boolean(False),
    "subtitles_config": Field(
        "object",
        fields={
            "formats": Field(
                "array",
                default=["srt"],
                min_items=1,
                items=Field("string", choices=SUBTITLE_FORMATS),
            ),
            "minimum_duration": Field("number", minimum=0),
            "maximum_duration": Field("number", minimum=1, maximum=30),
            "maximum_characters_per_row": Field("integer", minimum=1),
            "maximum_rows_per_caption": Field("integer", minimum=1, maximum=5),
            "style": Field("string", default="default", choices=("default", "compliance")),
        },
    ),
    "summarization": _boolean(False),
    "summarization_config": Field(
        "object", fields={"type": Field("string", default="general", choices=SUMMARY_TYPES)}
    ),
    "named_entity_recognition": _boolean(False),
    "sentiment_analysis": _boolean(False),
    "chapterization": _boolean(False),
    "sentences": _boolean(False),
    "punctuation_enhanced": _boolean(False),
    "callback": _boolean(False),
    "callback_url": Field("string", check=_check_callback_url),  # deprecated by Gladia
    "callback_config": Field(
        "object",
        fields={
            "url": Field("string", required=True, check=_check_callback_url),
            "method": Field("string", default="POST", choices=("POST", "PUT")),
        },
    ),
    "custom_metadata": LIVE_SCHEMA["custom_metadata"],
}

# The command-line flags → the body (protocol/body_flags.py), laid over a --config body: an
# object a flag adds to is merged into the config's, one it defines (`replace`) is its own.
# `vocabulary` and `spelling` come as their whole configuration (their files are read by the
# command), `callback_method` with its default.
JOB_FLAGS = (
    Flag("language", ("language_config", "languages")),
    Flag("code_switching", ("language_config", "code_switching")),
    Flag("diarization", ("diarization",)),
    Flag("speakers", ("diarization_config", "number_of_speakers"), switch=("diarization",)),
    Flag("min_speakers", ("diarization_config", "min_speakers"), switch=("diarization",)),
    Flag("max_speakers", ("diarization_config", "max_speakers"), switch=("diarization",)),
    Flag(
        "translate",
        ("translation_config",),
        convert=lambda languages: {"target_languages": languages},
        switch=("translation",),
        replace=True,
    ),
    Flag("translation_model", ("translation_config", "model"), only_with="translate"),
    Flag(
        "subtitles",
        ("subtitles_config", "formats"),
        convert=lambda formats: list(dict.fromkeys(formats)),
        switch=("subtitles",),
    ),
    Flag(
        "summarize",
        ("summarization_config",),
        convert=lambda kind: {"type": kind},
        switch=("summarization",),
        replace=True,
    ),
    Flag("ner", ("named_entity_recognition",)),
    Flag("sentiment", ("sentiment_analysis",)),
    Flag("chapters", ("chapterization",)),
    Flag("model", ("model",)),
    Flag("vocabulary", ("custom_vocabulary_config",), switch=("custom_vocabulary",), replace=True),
    Flag("spelling", ("custom_spelling_config",), switch=("custom_spelling",), replace=True),
    Flag(
        "callback_url",
        ("callback_config",),
        convert=lambda url: {"url": url},
        switch=("callback",),
        replace=True,
    ),
    Flag("callback_method", ("callback_config", "method"), only_with="callback_url"),
    Flag("metadata", ("custom_metadata",), convert=lambda pairs: key_values(pairs, "--metadata")),
)

# The add-ons this module knows, each with its configuration object (if any).
ADDONS = (
    "diarization",
    "translation",
    "subtitles",
    "summarization",
    "named_entity_recognition",
    "sentiment_analysis",
    "chapterization",
    "custom_vocabulary",
    "custom_spelling",
    "sentences",
)


def validate(body: Any, *, strict: bool = False) -> list[str]:
    """Schema errors of a create body (type, enum, range, required); empty when valid."""
    if not isinstance(body, dict):
        return ["body must be a JSON object"]
    return _validate_object("", body, SCHEMA, strict)


def semantic_errors(body: dict[str, Any]) -> list[str]:
    """Well-formed but incomplete combinations (an add-on on without what it needs)."""
    errors = []
    if body.get("translation") and not body.get("translation_config"):
        errors.append("translation_config is required when translation is true")
    if body.get("custom_vocabulary") and not body.get("custom_vocabulary_config"):
        errors.append("custom_vocabulary_config is required when custom_vocabulary is true")
    if body.get("callback") and not (body.get("callback_config") or {}).get("url"):
        errors.append("callback_config.url is required when callback is true")
    errors += model_errors(body)
    speakers = body.get("diarization_config") or {}
    low, high = speakers.get("min_speakers"), speakers.get("max_speakers")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.append("diarization_config.min_speakers must not be greater than max_speakers")
    return errors


def model_errors(body: dict[str, Any]) -> list[str]:
    """What the chosen model cannot do: Solaria-3 knows five languages, and no switching."""
    if body.get("model") != SOLARIA_3:
        return []
    errors = []
    config = body.get("language_config") or {}
    others = [code for code in config.get("languages") or () if code not in SOLARIA_3_LANGUAGES]
    if others:
        errors.append(
            f"language_config.languages must be among {', '.join(SOLARIA_3_LANGUAGES)} "
            f"with model {SOLARIA_3} (got {', '.join(map(str, others))})"
        )
    if config.get("code_switching"):
        errors.append(f"language_config.code_switching must be false with model {SOLARIA_3}")
    return errors


def candidate_languages(body: dict[str, Any]) -> tuple[str, ...]:
    """The languages a job may be recognised in: those asked for, else, for Solaria-3, its
    five (none: any)."""
    asked = tuple(str(code) for code in (body.get("language_config") or {}).get("languages") or ())
    if asked or body.get("model") != SOLARIA_3:
        return asked
    return SOLARIA_3_LANGUAGES


def with_defaults(body: dict[str, Any]) -> dict[str, Any]:
    """The body with Gladia's defaults applied: the job's `request_params`."""
    filled = _fill(body, SCHEMA)
    if filled.get("language_config") is None:
        filled["language_config"] = _fill({}, SCHEMA["language_config"].fields)
    if filled.get("subtitles") and filled.get("subtitles_config") is None:
        filled["subtitles_config"] = _fill({}, SCHEMA["subtitles_config"].fields)
    return filled


def vocabulary(body: dict[str, Any]) -> tuple[str, ...]:
    """`custom_vocabulary_config.vocabulary` as plain words, when custom vocabulary is on."""
    if not body.get("custom_vocabulary"):
        return ()
    entries = (body.get("custom_vocabulary_config") or {}).get("vocabulary") or ()
    words = [e.get("value", "") if isinstance(e, dict) else e for e in entries]
    return tuple(str(w).strip() for w in words if str(w).strip())
