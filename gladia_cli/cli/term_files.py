"""`--vocabulary-file` and `--spelling-file`: word lists teams keep in files, read into
Gladia's `custom_vocabulary_config` and `custom_spelling_config.spelling_dictionary`.

Text (anything that does not start with `[` or `{`), one entry a line; blank lines and lines
starting with `#` are skipped:

    vocabulary:  TERM [| intensity=0-1] [| pronunciations=SAY1, SAY2] [| language=CODE]
                 default_intensity=0-1      (a line of its own: every term without one)
    spelling:    SPELLING = HEARD1, HEARD2  (write SPELLING where HEARD1 or HEARD2 is heard)

JSON: the API's own shapes: a vocabulary list (strings or {value, intensity,
pronunciations, language}) or a whole `custom_vocabulary_config` object; a spelling
dictionary object ({"SQL": ["sequel"]}).

Errors name the file and the line (for JSON, the line where the entry starts), with the
API's own validation (protocol/init_config.py) applied to each entry. Parsing is pure
(`parse_vocabulary`, `parse_spelling` take the text); `read_text` is the one read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gladia_cli.errors import UsageError
from gladia_cli.protocol import init_config

VOCABULARY_HINT = (
    "one term a line: TERM | intensity=0.6 | pronunciations=say one, say two | language=en "
    "(or JSON: the API's vocabulary list)"
)
SPELLING_HINT = 'one a line: SPELLING = heard1, heard2 (or JSON: {"SQL": ["sequel"]})'
_TERM_OPTIONS = ("intensity", "pronunciations", "language")


@dataclass
class Vocabulary:
    """What a vocabulary file holds: entries as the API takes them, and a default intensity."""

    entries: list[str | dict[str, Any]] = field(default_factory=list)
    default_intensity: float | None = None


def read_text(path: Path, option: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{option}: no such file: {path}", hint="check the path") from None
    except UnicodeDecodeError:
        raise UsageError(f"{option}: {path} is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{option}: cannot read {path}: {exc.strerror}") from None


def _is_json(text: str) -> bool:
    return text.lstrip()[:1] in ("[", "{")


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _json_items(text: str, where: str, hint: str) -> tuple[Any, list[int]]:
    """The JSON value, and for a list, the line each item starts on (to name in errors)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{where} line {exc.lineno}: not valid JSON ({exc.msg})", hint=hint
        ) from None
    lines: list[int] = []
    if isinstance(value, list):
        decoder = json.JSONDecoder()
        position = text.index("[") + 1
        for _ in value:
            while text[position] in " \t\r\n,":
                position += 1
            lines.append(_line_of(text, position))
            _, position = decoder.raw_decode(text, position)
    return value, lines


def _number(value: str, name: str, where: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise UsageError(f"{where}: {name} must be a number from 0 to 1 (got {value!r})") from None
    if not 0 <= number <= 1:
        raise UsageError(f"{where}: {name} must be a number from 0 to 1 (got {value})")
    return number


def _checked_entry(entry: Any, where: str) -> str | dict[str, Any]:
    problems = init_config.check_vocabulary_entry("term", entry)
    if problems:
        raise UsageError(f"{where}: {'; '.join(problems)}", hint=VOCABULARY_HINT)
    return entry  # type: ignore[no-any-return]


def _text_term(line: str, where: str) -> str | dict[str, Any]:
    value, *options = (part.strip() for part in line.split("|"))
    if not value:
        raise UsageError(f"{where}: the term is empty", hint=VOCABULARY_HINT)
    if not options:
        return value
    entry: dict[str, Any] = {"value": value}
    for option in options:
        name, sep, setting = (part.strip() for part in option.partition("="))
        if not sep or name not in _TERM_OPTIONS:
            raise UsageError(
                f"{where}: unknown option {option!r} (options: {', '.join(_TERM_OPTIONS)})",
                hint=VOCABULARY_HINT,
            )
        if name == "intensity":
            entry["intensity"] = _number(setting, name, where)
        elif name == "pronunciations":
            entry["pronunciations"] = [p.strip() for p in setting.split(",") if p.strip()]
        else:
            entry["language"] = setting
    return _checked_entry(entry, where)


def parse_vocabulary(text: str, source: str) -> Vocabulary:
    """A vocabulary file's text (`source` names it in errors)."""
    vocabulary = Vocabulary()
    if _is_json(text):
        value, lines = _json_items(text, source, VOCABULARY_HINT)
        if isinstance(value, dict):
            intensity = value.get("default_intensity")
            if intensity is not None:
                vocabulary.default_intensity = _number(str(intensity), "default_intensity", source)
            value, lines = value.get("vocabulary"), []
            if not isinstance(value, list):
                raise UsageError(
                    f"{source}: the object's vocabulary must be a list", hint=VOCABULARY_HINT
                )
        if not isinstance(value, list):
            raise UsageError(f"{source}: JSON must be a list or an object", hint=VOCABULARY_HINT)
        for index, entry in enumerate(value):
            where = f"{source} line {lines[index]}" if lines else f"{source} entry {index + 1}"
            vocabulary.entries.append(_checked_entry(entry, where))
    else:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{source} line {number}"
            name, sep, setting = (part.strip() for part in line.partition("="))
            if sep and name == "default_intensity" and "|" not in line:
                vocabulary.default_intensity = _number(setting, name, where)
                continue
            vocabulary.entries.append(_text_term(line, where))
    if not vocabulary.entries:
        raise UsageError(f"{source} holds no term", hint=VOCABULARY_HINT)
    return vocabulary


def parse_spelling(text: str, source: str) -> dict[str, list[str]]:
    """A spelling file's text: the API's `spelling_dictionary`."""
    dictionary: dict[str, list[str]] = {}
    if _is_json(text):
        value, _ = _json_items(text, source, SPELLING_HINT)
        if not isinstance(value, dict):
            raise UsageError(f"{source}: JSON must be an object", hint=SPELLING_HINT)
        for spelling, heard in value.items():
            if not isinstance(heard, list) or not all(isinstance(h, str) for h in heard):
                raise UsageError(
                    f"{source}: {spelling!r} must map to a list of strings", hint=SPELLING_HINT
                )
            dictionary[spelling] = heard
    else:
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            where = f"{source} line {number}"
            spelling, sep, heard = (part.strip() for part in line.partition("="))
            variants = [h.strip() for h in heard.split(",") if h.strip()]
            if not sep or not spelling or not variants:
                raise UsageError(
                    f"{where}: expected SPELLING = heard1, heard2 (got {line!r})",
                    hint=SPELLING_HINT,
                )
            dictionary.setdefault(spelling, []).extend(variants)
    if not dictionary:
        raise UsageError(f"{source} holds no spelling", hint=SPELLING_HINT)
    return dictionary
