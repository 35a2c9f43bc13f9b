"""The values options take, declared once: Typer validates them before a command runs, the
help lists them, and the shell completions read them from the options (`make completions`).

Options whose values are not a closed list (a pace such as `3x`, language codes, message
types) complete from the functions at the bottom, also given to the options themselves.
Cheap to import: `--help` reads this module; the code lists are imported when completing.
"""

from __future__ import annotations

import enum
from typing import Literal

from gladia_cli.server.recognition.engines import catalog


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    TEXT = "text"
    JSONL = "jsonl"
    JSON = "json"
    SRT = "srt"
    VTT = "vtt"
    WORDS = "words"


class SessionFormat(enum.StrEnum):
    """What `gladia sessions get` renders a stored session as."""

    JSON = "json"
    TEXT = "text"
    SRT = "srt"
    VTT = "vtt"
    TABLE = "table"
    WORDS = "words"


class ListFormat(enum.StrEnum):
    """`gladia sessions list`: a table for people, JSON lines (one session each), or the page."""

    TABLE = "table"
    JSONL = "jsonl"
    JSON = "json"


class SubtitleFormat(enum.StrEnum):
    """The subtitles a pre-recorded job may ask Gladia for (`subtitles_config.formats`)."""

    SRT = "srt"
    VTT = "vtt"


class CallbackMethod(enum.StrEnum):
    POST = "POST"
    PUT = "PUT"


class Encoding(enum.StrEnum):
    PCM = "pcm"
    ALAW = "alaw"
    ULAW = "ulaw"


class Region(enum.StrEnum):
    US_WEST = "us-west"
    EU_WEST = "eu-west"


class TranslationModel(enum.StrEnum):
    BASE = "base"
    ENHANCED = "enhanced"


class Preset(enum.StrEnum):
    """Gladia's recommended live parameters per use case (protocol/presets.py)."""

    AGENT = "agent"
    MEETING = "meeting"
    CALL_CENTER = "call-center"
    CAPTIONS = "captions"
    DICTATION = "dictation"


class PreRecordedModel(enum.StrEnum):
    """`transcribe --model` (protocol/prerecorded_config.MODELS)."""

    SOLARIA_1 = "solaria-1"
    SOLARIA_3 = "solaria-3"
    SOLARIA_FUSION = "solaria-fusion"


class SummaryType(enum.StrEnum):
    GENERAL = "general"
    BULLET_POINTS = "bullet_points"
    CONCISE = "concise"


class LocalEngine(enum.StrEnum):
    """The recognisers of the local server, named once in server/recognition/engines/catalog.py."""

    WHISPER = catalog.WHISPER
    SPHINX = catalog.SPHINX
    SCRIPTED = catalog.SCRIPTED


class LocalModel(enum.StrEnum):
    """The Whisper models the local server ships (server/recognition/engines/catalog.py)."""

    BASE = catalog.BASE
    TINY_EN = catalog.TINY_EN


class RawSampleFormat(enum.StrEnum):
    """Headerless PCM (audio/raw_format: RAW_SAMPLE_FORMATS)."""

    S16LE = "s16le"
    S24LE = "s24le"
    S32LE = "s32le"
    F32LE = "f32le"
    U8 = "u8"
    ULAW = "ulaw"
    ALAW = "alaw"


class SessionStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    DONE = "done"
    ERROR = "error"


class LogLevel(enum.StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# The live API's closed lists of numbers (protocol/audio_format; a unit test compares).
BitDepth = Literal[8, 16, 24, 32]
SampleRate = Literal[8000, 16000, 32000, 44100, 48000]


def metavar(choices: type[enum.StrEnum]) -> str:
    """`<a|b|c>`, as Typer writes a single choice, for options that repeat."""
    return "<" + "|".join(member.value for member in choices) + ">"


# --- completion candidates for open-ended values (no arguments: Typer accepts that) ---------


def pace_examples() -> list[str]:
    return ["realtime", "max", "2x"]


def sample_rates() -> list[str]:
    """Suggested device rates: those the API takes (no resampling needed)."""
    return [str(rate) for rate in (8000, 16000, 32000, 44100, 48000)]


def microphone_names() -> list[str]:
    return ["mic", "system"]


def transcription_languages() -> list[str]:
    from gladia_cli.protocol.languages import TRANSCRIPTION_LANGUAGES

    return sorted(TRANSCRIPTION_LANGUAGES)


def translation_languages() -> list[str]:
    from gladia_cli.protocol.languages import TRANSLATION_LANGUAGES

    return sorted(TRANSLATION_LANGUAGES)


def event_types() -> list[str]:
    from gladia_cli.protocol.messages import SERVER_MESSAGE_TYPES

    return [*SERVER_MESSAGE_TYPES, "all"]


def model_names() -> list[str]:
    return ["solaria-1"]  # the API may add models: suggested, not enforced
