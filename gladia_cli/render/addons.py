"""Audio-intelligence results made readable: summary, chapters, sentiment, named entities and
translations, as sections after the transcript in `table` and `text` (jsonl stays verbatim).

`AddonBook` collects them from the server's messages (protocol.md §3.5.6–3.5.12): the
per-utterance `translation`, `named_entity_recognition` and `sentiment_analysis`, the
`post_summarization` and `post_chapterization` messages, and the result containers of
`post_final_transcript` for whatever did not arrive on its own. It also notes the add-ons
that failed (`error` set), by name, once each: `FailureWatch` tells the person on stderr.

Shapes come from the server and are not trusted: an item that is not what the protocol
says is skipped, never a crash; text goes through `plain()`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from gladia_cli.protocol.messages import ServerMessage, Utterance
from gladia_cli.render.base import Labels, Renderer, SessionOutcome, StatusView
from gladia_cli.safe_text import plain

# Message type → the add-on's name for people; and its container in post_final_transcript.
ADDON_NAMES = {
    "post_summarization": "summary",
    "post_chapterization": "chapters",
    "sentiment_analysis": "sentiment",
    "named_entity_recognition": "named entities",
    "translation": "translation",
}
NOTHING = "(none found)"
_CONTAINERS = {
    "summarization": "post_summarization",
    "chapterization": "post_chapterization",
    "sentiment_analysis": "sentiment_analysis",
    "named_entity_recognition": "named_entity_recognition",
    "translation": "translation",
}


@dataclass(frozen=True)
class Chapter:
    start: float
    end: float
    headline: str
    gist: str
    keywords: tuple[str, ...]


@dataclass(frozen=True)
class Sentiment:
    start: float
    channel: int
    sentiment: str
    emotion: str
    text: str


@dataclass(frozen=True)
class Entity:
    start: float
    channel: int | None  # None when the server did not say (post_final_transcript lists)
    kind: str
    text: str


def _lines(text: str) -> list[str]:
    """Multi-line server text (bullet points) as safe lines, blank ones dropped."""
    return [line for line in (plain(part).strip() for part in text.splitlines()) if line]


def _number(value: Any, default: float = 0.0) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def _string(value: Any) -> str:
    return plain(value).strip() if isinstance(value, str) else ""


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _utterance(value: Any) -> Utterance | None:
    try:
        return Utterance.from_dict(value) if isinstance(value, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        return _string(error.get("message")) or _string(error.get("exception")) or "failed"
    return _string(error) or "failed"


@dataclass
class AddonBook:
    summary: list[str] | None = None
    chapters: list[Chapter] | None = None
    sentiments: dict[str, list[Sentiment]] = field(default_factory=dict)  # by utterance id
    entities: dict[str, list[Entity]] = field(default_factory=dict)
    translations: dict[str, dict[str, Utterance]] = field(default_factory=dict)  # lang → id →
    # The same by (language, channel, start in centiseconds), for utterances known without
    # their id (post_transcript's list, which the table's final transcript shows).
    _translations_at: dict[tuple[str, int, int], Utterance] = field(
        default_factory=dict, init=False, repr=False
    )
    failures: dict[str, str] = field(default_factory=dict)  # add-on name → the server's reason
    ran: set[str] = field(default_factory=set)  # add-ons that answered (possibly: nothing)

    def apply(self, message: ServerMessage) -> str | None:
        """Record a message; returns the name of an add-on that has just failed, if any."""
        raw = message.raw
        if message.type == "post_final_transcript":
            data = raw.get("data")
            return self._containers(data) if isinstance(data, dict) else None
        if message.type not in ADDON_NAMES:
            return None
        if raw.get("error"):
            return self._failed(ADDON_NAMES[message.type], _error_text(raw["error"]))
        data = raw.get("data")
        if not isinstance(data, dict):
            return None
        self.ran.add(ADDON_NAMES[message.type])
        if message.type == "post_summarization":
            self._summary(data.get("results"))
        elif message.type == "post_chapterization":
            self._chapters(data.get("results"))
        elif message.type == "translation":
            self._translation(data)
        else:
            utterance_id = str(data.get("utterance_id", len(self.sentiments)))
            utterance = _utterance(data.get("utterance"))
            if message.type == "sentiment_analysis":
                self.sentiments[utterance_id] = self._sentiment_results(data.get("results"))
            else:
                channel = utterance.channel if utterance is not None else None
                self.entities[utterance_id] = self._entity_results(data.get("results"), channel)
        return None

    def _failed(self, name: str, reason: str) -> str | None:
        if name in self.failures:
            return None
        self.failures[name] = reason
        return name

    def _summary(self, results: Any) -> None:
        if isinstance(results, str):
            self.summary = _lines(results)

    def _chapters(self, results: Any) -> None:
        self.chapters = [
            Chapter(
                start=_number(item.get("start")),
                end=_number(item.get("end")),
                headline=_string(item.get("headline")),
                gist=_string(item.get("gist")),
                keywords=tuple(_string(k) for k in item.get("keywords") or () if _string(k)),
            )
            for item in _dicts(results)
        ]

    def _translation(self, data: dict[str, Any]) -> None:
        translated = _utterance(data.get("translated_utterance"))
        language = _string(data.get("target_language")) or "?"
        if translated is not None:
            utterance_id = str(data.get("utterance_id", ""))
            by_id = self.translations.setdefault(language, {})
            by_id[utterance_id or str(len(by_id))] = translated
            self._translations_at[_moment(language, translated)] = translated

    def translations_of(self, utterance_id: str | None, utterance: Utterance) -> list[str]:
        """The translations of one utterance, `(fr) text` each, in language order: found by
        its id, else by its channel and start (a translation keeps its original's times)."""
        lines = []
        for language in sorted(self.translations):
            translated = self.translations[language].get(utterance_id) if utterance_id else None
            if translated is None:
                translated = self._translations_at.get(_moment(language, utterance))
            text = plain(translated.text).strip() if translated is not None else ""
            if text:
                lines.append(f"({language}) {text}")
        return lines

    @staticmethod
    def _sentiment_results(results: Any) -> list[Sentiment]:
        return [
            Sentiment(
                start=_number(item.get("start")),
                channel=int(_number(item.get("channel"))),
                sentiment=_string(item.get("sentiment")) or "unknown",
                emotion=_string(item.get("emotion")),
                text=_string(item.get("text")),
            )
            for item in _dicts(results)
        ]

    @staticmethod
    def _entity_results(results: Any, channel: int | None) -> list[Entity]:
        return [
            Entity(
                start=_number(item.get("start")),
                channel=channel,
                kind=_string(item.get("entity_type")) or "?",
                text=_string(item.get("text")),
            )
            for item in _dicts(results)
        ]

    def _containers(self, data: dict[str, Any]) -> str | None:
        """post_final_transcript: failures, and results that did not come on their own."""
        failed = None
        for key, message_type in _CONTAINERS.items():
            container = data.get(key)
            if not isinstance(container, dict):
                continue
            name = ADDON_NAMES[message_type]
            if container.get("error") or container.get("success") is False:
                failed = self._failed(name, _error_text(container.get("error"))) or failed
                continue
            results = container.get("results")
            self.ran.add(name)
            if key == "summarization" and self.summary is None:
                self._summary(results)
            elif key == "chapterization" and self.chapters is None:
                self._chapters(results)
            elif key == "sentiment_analysis" and not self.sentiments:
                for index, item in enumerate(_dicts(results)):
                    self.sentiments[str(index)] = self._sentiment_results([item])
            elif key == "named_entity_recognition" and not self.entities:
                self.entities["all"] = self._entity_results(results, None)
        return failed


def _moment(language: str, utterance: Utterance) -> tuple[str, int, int]:
    return (language, utterance.channel, round(utterance.start * 100))


def _clock(seconds: float) -> str:
    minutes, secs = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{secs:04.1f}"


def _sorted_sentiments(book: AddonBook) -> list[Sentiment]:
    items = [s for results in book.sentiments.values() for s in results]
    return sorted(items, key=lambda s: (s.start, s.channel))


def _sorted_entities(book: AddonBook) -> list[Entity]:
    items = [e for results in book.entities.values() for e in results]
    return sorted(items, key=lambda e: (e.start, e.channel or 0))


def _sorted_translations(by_id: dict[str, Utterance]) -> list[Utterance]:
    return sorted(
        (u for u in by_id.values() if plain(u.text).strip()), key=lambda u: (u.start, u.channel)
    )


def _speaker(labels: Labels, channel: int | None) -> str:
    return f"[{labels(channel)}] " if labels.shown and channel is not None else ""


# --- text ---------------------------------------------------------------------------------


def text_sections(book: AddonBook, labels: Labels) -> list[str]:
    """The sections as lines for `--format text`: a `## Heading`, then one line per item."""
    sections: list[list[str]] = []
    if book.summary:
        sections.append(["## Summary", *book.summary])
    if book.chapters:
        lines = ["## Chapters"]
        for c in book.chapters:
            lines.append(f"{_clock(c.start)}–{_clock(c.end)} {c.headline or c.gist}")
            if c.gist and c.gist != c.headline:
                lines.append(f"  {c.gist}")
            if c.keywords:
                lines.append(f"  keywords: {', '.join(c.keywords)}")
        sections.append(lines)
    if "sentiment" in book.ran:
        lines = ["## Sentiment"]
        for s in _sorted_sentiments(book):
            feeling = f"{s.sentiment}, {s.emotion}" if s.emotion else s.sentiment
            lines.append(f"{_clock(s.start)} {_speaker(labels, s.channel)}{feeling}: {s.text}")
        sections.append(lines if len(lines) > 1 else [*lines, NOTHING])
    if "named entities" in book.ran:
        lines = ["## Named entities"]
        lines += [
            f"{_clock(e.start)} {_speaker(labels, e.channel)}{e.kind}: {e.text}"
            for e in _sorted_entities(book)
        ]
        sections.append(lines if len(lines) > 1 else [*lines, NOTHING])
    for language, by_id in sorted(book.translations.items()):
        lines = [f"## Translation ({language})"]
        lines += [
            f"{_speaker(labels, u.channel)}{plain(u.text).strip()}"
            for u in _sorted_translations(by_id)
        ]
        sections.append(lines)
    out: list[str] = []
    for lines in sections:
        out += ["", *lines]
    return out


# --- table --------------------------------------------------------------------------------


def _section_table(*columns: str) -> Table:
    table = Table(expand=True, show_edge=False, pad_edge=False, box=None, show_header=False)
    for name in columns:
        if name == "text":
            table.add_column(ratio=1)
        else:
            table.add_column(no_wrap=True, style="dim" if name == "time" else "")
    return table


def rich_sections(book: AddonBook, labels: Labels) -> list[RenderableType]:
    """The sections for the table format: a rule with the add-on's name, then its items."""
    out: list[RenderableType] = []

    def section(title: str, body: RenderableType) -> None:
        out.append(Group(Rule(Text(title, style="bold"), align="left", style="dim"), body))

    if book.summary:
        section("summary", Text("\n".join(book.summary)))
    if book.chapters:
        table = _section_table("time", "text")
        for c in book.chapters:
            body = Text(c.headline or c.gist, style="bold")
            if c.gist and c.gist != c.headline:
                body.append(f"\n{c.gist}", style="")
            if c.keywords:
                body.append(f"\nkeywords: {', '.join(c.keywords)}", style="dim")
            table.add_row(Text(f"{_clock(c.start)}–{_clock(c.end)}"), body)
        section("chapters", table)
    if "sentiment" in book.ran:
        table = _section_table("time", "speaker", "feeling", "text")
        for s in _sorted_sentiments(book):
            feeling = f"{s.sentiment}, {s.emotion}" if s.emotion else s.sentiment
            speaker = labels(s.channel) if labels.shown else ""
            table.add_row(Text(_clock(s.start)), Text(speaker), Text(feeling), Text(s.text))
        section("sentiment", table if table.row_count else Text(NOTHING, style="dim"))
    if "named entities" in book.ran:
        table = _section_table("time", "speaker", "type", "text")
        for e in _sorted_entities(book):
            speaker = labels(e.channel) if labels.shown and e.channel is not None else ""
            table.add_row(Text(_clock(e.start)), Text(speaker), Text(e.kind), Text(e.text))
        section("named entities", table if table.row_count else Text(NOTHING, style="dim"))
    for language, by_id in sorted(book.translations.items()):
        table = _section_table("time", "speaker", "text")
        for u in _sorted_translations(by_id):
            speaker = labels(u.channel) if labels.shown else ""
            table.add_row(Text(_clock(u.start)), Text(speaker), Text(plain(u.text).strip()))
        section(f"translation ({language})", table)
    return out


# --- failures -----------------------------------------------------------------------------


class FailureWatch:
    """Wraps a renderer: says on stderr, once per add-on, that it failed, and remembers it
    (the CLI exits non-zero: the result the user asked for is not all there)."""

    def __init__(self, inner: Renderer, warn: Callable[[str], None]) -> None:
        self._inner = inner
        self._warn = warn
        self._book = AddonBook()
        self._lock = threading.Lock()  # messages come from the receiver thread
        self.needs_result = inner.needs_result

    @property
    def failures(self) -> dict[str, str]:
        return dict(self._book.failures)

    def start(self, session_id: str) -> None:
        self._inner.start(session_id)

    def message(self, message: ServerMessage) -> None:
        if message.type in ADDON_NAMES or message.type == "post_final_transcript":
            with self._lock:
                failed = self._book.apply(message)
            if failed is not None:
                self._warn(f"{failed} failed: {self._book.failures[failed]}")
        self._inner.message(message)

    def status(self, view: StatusView) -> None:
        self._inner.status(view)

    def finish(self, outcome: SessionOutcome) -> None:
        self._inner.finish(outcome)

    def close(self) -> None:
        self._inner.close()
