"""Checks of option values that a type or a range cannot say, run by Typer as callbacks,
so they fail while the command line is read: before a file is opened, a microphone starts
recording or a URL starts downloading. Each error names the option and gives an example.

The modules behind them (language lists, the pace parser) are imported only when a value
is actually given, never for `--help`.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from gladia_cli.errors import UsageError

# For the hint when a language is given by name (`--language english`).
_LANGUAGE_NAMES = {
    "arabic": "ar",
    "chinese": "zh",
    "dutch": "nl",
    "english": "en",
    "french": "fr",
    "german": "de",
    "hindi": "hi",
    "italian": "it",
    "japanese": "ja",
    "korean": "ko",
    "polish": "pl",
    "portuguese": "pt",
    "russian": "ru",
    "spanish": "es",
    "swedish": "sv",
    "turkish": "tr",
    "ukrainian": "uk",
}


def _languages(values: list[str] | None, option: str, known: frozenset[str]) -> list[str] | None:
    if not values:
        return values
    codes = [code.strip().lower() for value in values for code in value.split(",")]
    for code in codes:
        if code not in known:
            named = _LANGUAGE_NAMES.get(code)
            hint = (
                f"use its code: {option} {named}"
                if named
                else f"use a language code, e.g. {option} en or {option} fr"
            )
            raise UsageError(f"{option}: {code!r} is not a language code", hint=hint)
    return codes


def transcription_languages(values: list[str] | None) -> list[str] | None:
    from gladia_cli.protocol.languages import TRANSCRIPTION_LANGUAGES

    return _languages(values, "--language", TRANSCRIPTION_LANGUAGES)


def translation_languages(values: list[str] | None) -> list[str] | None:
    from gladia_cli.protocol.languages import TRANSLATION_LANGUAGES

    return _languages(values, "--translate", TRANSLATION_LANGUAGES)


def pace(value: str) -> str:
    from gladia_cli.audio.pacing import parse_pace

    parse_pace(value)  # raises the UsageError that names --pace
    return value


def events(values: list[str] | None) -> list[str] | None:
    from gladia_cli.protocol.messages import SERVER_MESSAGE_TYPES

    names = {name.strip() for value in values or [] for name in value.split(",") if name.strip()}
    unknown = names - {*SERVER_MESSAGE_TYPES, "all"}
    if unknown:
        raise UsageError(
            f"--events: unknown message type(s): {', '.join(sorted(unknown))}",
            hint=f"choose from: all, {', '.join(SERVER_MESSAGE_TYPES)}",
        )
    return values


def http_url(option: str, example: str) -> Callable[[str | None], str | None]:
    """A callback accepting only an absolute http(s) URL."""

    def check(value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"{option}: {value!r} is not an http(s) URL", hint=f"for example {option} {example}"
            )
        return value

    return check


def key_values(option: str, example: str) -> Callable[[list[str] | None], list[str] | None]:
    """A callback for repeatable KEY=VALUE options."""

    def check(values: list[str] | None) -> list[str] | None:
        from gladia_cli.protocol.body_flags import key_values as parse

        parse(values, option, example)  # the one KEY=VALUE parser: it refuses what is not
        return values

    return check


def labels(value: str | None) -> str | None:
    if value is not None and any(not name.strip() for name in value.split(",")):
        raise UsageError(
            f"--label {value!r} has an empty name",
            hint="one name per channel, comma-separated: --label host,guest",
        )
    return value
