"""Add-on sections rendered from server messages.

`tests/data/addons_meeting.jsonl` is a recording of the local server's messages for
`gladia file tests/data/meeting_3ch.wav --local --local-engine sphinx --ner --sentiment
--summarize bullet_points --chapters --translate fr -f jsonl` (partial transcripts and
audio acknowledgments left out). Offline, English is the only translation target: French
gets the add-on error shape, so successful translations are written here after protocol.md
§3.5.6.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rich.console import Console

from gladia_cli.protocol.messages import ServerMessage, parse_server_message
from gladia_cli.render.addons import AddonBook, FailureWatch, rich_sections, text_sections
from gladia_cli.render.base import Labels, SessionOutcome, StatusView

RECORDING = Path(__file__).parent.parent / "data" / "addons_meeting.jsonl"
LABELS = Labels(("sami", "maxime", "mark"), 3)


def _recorded() -> list[ServerMessage]:
    return [parse_server_message(line) for line in RECORDING.read_text().splitlines()]


def _book(messages: list[ServerMessage]) -> AddonBook:
    book = AddonBook()
    for message in messages:
        book.apply(message)
    return book


def _message(message_type: str, data: Any, error: Any = None) -> ServerMessage:
    raw = {"type": message_type, "session_id": "s", "created_at": "t", "error": error, "data": data}
    return parse_server_message(json.dumps(raw))


def _translation(uid: str, language: str, text: str, start: float, channel: int) -> ServerMessage:
    def utterance(words: str, lang: str) -> dict[str, Any]:
        return {
            "text": words,
            "start": start,
            "end": start + 1,
            "confidence": 0.9,
            "channel": channel,
            "language": lang,
            "words": [],
        }

    data = {
        "utterance_id": uid,
        "original_language": "en",
        "target_language": language,
        "utterance": utterance(" original", "en"),
        "translated_utterance": utterance(text, language),
    }
    return _message("translation", data)


def test_text_sections_from_the_recorded_session() -> None:
    book = _book(_recorded())
    lines = text_sections(book, LABELS)
    text = "\n".join(lines)
    summary = lines.index("## Summary")
    assert lines[summary + 1 : summary + 3] == ["- we should finish before friday", ""]
    assert "## Chapters" in lines
    assert "0:00.3–0:05.7 Friday" in text
    assert "  keywords: friday, plan, week" in text
    assert "## Sentiment" in lines
    assert "0:00.3 [sami] neutral, neutral: we should finish before friday" in lines
    assert "0:02.5 [maxime] positive, contentment: i agree with that plan" in lines
    assert "0:04.5 [mark] " in text
    assert "## Named entities" in lines
    assert "0:01.6 [sami] DATE: friday" in lines
    assert "0:04.8 [mark] DATE: next week" in lines
    # Translation failed on the local server: no section, one failure.
    assert "## Translation" not in text
    assert list(book.failures) == ["translation"]
    assert "only target English (en) is available offline" in book.failures["translation"]
    # Sections are separated by a blank line and follow the transcript.
    assert lines[0] == "" and lines.count("") == 4


def test_table_sections_from_the_recorded_session() -> None:
    console = Console(file=io.StringIO(), width=80, color_system=None)
    for section in rich_sections(_book(_recorded()), LABELS):
        console.print(section)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    for title in ("summary", "chapters", "sentiment", "named entities"):
        assert f"{title} ──" in out
    assert "- we should finish before friday" in out
    assert "Friday" in out and "keywords: friday, plan, week" in out
    assert "maxime" in out and "contentment" in out and "DATE" in out and "next week" in out


def test_translations_get_a_section_per_target_language_in_time_order() -> None:
    book = _book(
        [
            _translation("01_0", "fr", " D'accord avec ce plan.", 2.5, 1),
            _translation("00_0", "fr", " Finissons avant vendredi.", 0.3, 0),
            _translation("00_0", "de", " Lass uns vor Freitag fertig werden.", 0.3, 0),
        ]
    )
    lines = text_sections(book, LABELS)
    assert lines == [
        "",
        "## Translation (de)",
        "[sami] Lass uns vor Freitag fertig werden.",
        "",
        "## Translation (fr)",
        "[sami] Finissons avant vendredi.",
        "[maxime] D'accord avec ce plan.",
    ]


def test_add_on_text_is_plain_and_odd_shapes_are_skipped() -> None:
    book = _book(
        [
            _message("post_summarization", {"results": "[bold]x[/] \x1b[31mred\n- second"}),
            _message("post_chapterization", {"results": "not a list"}),
            _message("named_entity_recognition", {"utterance_id": "1", "results": [7, {"x": 1}]}),
            _message("sentiment_analysis", None),
        ]
    )
    lines = text_sections(book, Labels())
    assert lines[:4] == ["", "## Summary", "[bold]x[/] [31mred", "- second"]
    assert "## Named entities" in lines and "?: " in "\n".join(lines)  # kind unknown, not a crash
    assert all("\x1b" not in line for line in lines)


def test_failures_come_from_messages_and_from_the_final_containers() -> None:
    summary_failed = _message("post_summarization", None, {"message": "model \x1b[2Joverloaded"})
    final = _message(
        "post_final_transcript",
        {
            "metadata": {},
            "chapterization": {"success": False, "error": {"message": "no chapters"}},
            "sentiment_analysis": {"success": True, "error": None, "results": []},
        },
    )
    book = _book([summary_failed, summary_failed, final])
    assert book.failures == {"summary": "model [2Joverloaded", "chapters": "no chapters"}
    assert "sentiment" in book.ran  # it answered, with nothing
    assert "## Sentiment" in text_sections(book, Labels())


class _Recorder:
    needs_result = False

    def __init__(self) -> None:
        self.seen: list[str] = []

    def start(self, session_id: str) -> None: ...

    def message(self, message: ServerMessage) -> None:
        self.seen.append(message.type)

    def status(self, view: StatusView) -> None: ...

    def finish(self, outcome: SessionOutcome) -> None: ...

    def close(self) -> None: ...


def test_a_failed_add_on_is_one_warning_naming_it() -> None:
    inner = _Recorder()
    warnings: list[str] = []
    watch = FailureWatch(inner, warnings.append)
    messages = _recorded()
    for message in messages:
        watch.message(message)
    assert inner.seen == [m.type for m in messages]  # everything passed through, in order
    assert warnings == [
        "translation failed: only target English (en) is available offline, not 'fr'"
    ]
    assert list(watch.failures) == ["translation"]
