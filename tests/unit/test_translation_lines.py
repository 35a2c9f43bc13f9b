"""`--translate` in the table and the text: each translation under its original (dimmed in
the table), as it comes, and in the table's final transcript; the sections stay."""

from __future__ import annotations

import io
import json
import re
from typing import Any

from rich.console import Console

from gladia_cli.environment import Environment
from gladia_cli.protocol.messages import parse_server_message
from gladia_cli.render.addons import AddonBook
from gladia_cli.render.base import Labels, SessionOutcome, StatusView
from gladia_cli.render.output import Output
from gladia_cli.render.screen import Screen
from gladia_cli.render.table import TableRenderer
from gladia_cli.render.text import TextRenderer
from tests.caption_session import CREATED, SESSION_ID, transcript, translation, utterance

LABELS = Labels(("Ann", "Bob"), 2)


def _feed(renderer: Any, *messages: dict[str, Any]) -> None:
    for message in messages:
        renderer.message(parse_server_message(json.dumps(message)))


def _conversation() -> list[dict[str, Any]]:
    ann, bob = " Good morning.", " Hello Ann."
    return [
        transcript("00_1", ann, final=True, start=0.5),
        transcript("01_1", bob, final=True, start=2.0, channel=1),  # before Ann's translation
        translation("00_1", " Bonjour.", ann, start=0.5),
        translation("00_1", " Guten Morgen.", ann, language="de", start=0.5),
        translation("01_1", " Bonjour Ann.", bob, start=2.0, channel=1),
        transcript("00_2", " Bye.", final=True, start=4.0),  # never translated
    ]


def _text_output(labels: Labels) -> list[str]:
    stream = io.StringIO()
    renderer = TextRenderer(Output(stream), labels)
    _feed(renderer, *_conversation())
    renderer.finish(SessionOutcome(status=StatusView(state="done")))
    return stream.getvalue().splitlines()


def test_text_writes_each_translation_as_it_comes_under_the_transcript() -> None:
    lines = _text_output(LABELS)
    assert lines[:6] == [
        "[Ann] Good morning.",
        "[Bob] Hello Ann.",
        "  [Ann] (fr) Bonjour.",
        "  [Ann] (de) Guten Morgen.",
        "  [Bob] (fr) Bonjour Ann.",
        "[Ann] Bye.",
    ]
    # The sections at the end are still there.
    assert "## Translation (fr)" in lines and "[Bob] Bonjour Ann." in lines


def test_text_without_labels_and_a_failed_translation_writes_nothing_for_it() -> None:
    lines = _text_output(Labels((), 1))
    assert lines[:3] == ["Good morning.", "Hello Ann.", "  (fr) Bonjour."]
    stream = io.StringIO()
    renderer = TextRenderer(Output(stream), Labels((), 1))
    failed = {
        "type": "translation",
        "session_id": SESSION_ID,
        "created_at": CREATED,
        "error": {"message": "only target English (en) is available offline"},
        "data": {},
    }
    _feed(renderer, transcript("00_1", " Hi.", final=True), failed)
    assert stream.getvalue() == "Hi.\n"


def _table(width: int = 70) -> tuple[TableRenderer, Console]:
    console = Console(
        file=io.StringIO(), width=width, height=30, force_terminal=True, color_system="standard"
    )
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), stdout_isatty=False)
    return TableRenderer(console, LABELS, Screen(env)), console


def _plain(lines: list[Any]) -> list[str]:
    return ["".join(segment.text for segment in line).rstrip() for line in lines]


def test_the_live_table_shows_the_translation_dimmed_under_its_utterance() -> None:
    table, _ = _table()
    _feed(table, *_conversation())
    frame = table.frame(70, 20)
    text = _plain(frame)
    ann = next(i for i, line in enumerate(text) if "Good morning." in line)
    assert "(de) Guten Morgen." in text[ann + 1]  # the languages in order
    assert "(fr) Bonjour." in text[ann + 2]
    bob = next(i for i, line in enumerate(text) if "Hello Ann." in line)
    assert "(fr) Bonjour Ann." in text[bob + 1]
    # Dimmed: the style of the segments that draw it.
    (dimmed,) = [
        segment for line in frame for segment in line if segment.text.strip() == "(fr) Bonjour Ann."
    ]
    assert dimmed.style is not None and dimmed.style.dim


def test_the_final_table_pairs_translations_with_post_transcript_by_time() -> None:
    table, console = _table()
    _feed(table, *_conversation())
    # post_transcript's utterances carry no id: they are matched by channel and start.
    post = {
        "type": "post_transcript",
        "session_id": SESSION_ID,
        "created_at": CREATED,
        "data": {
            "full_transcript": "",
            "languages": ["en"],
            "utterances": [
                utterance(" Good morning.", 0.5, 0),
                utterance(" Hello Ann.", 2.0, 1),
                utterance(" Bye.", 4.0, 0),
            ],
        },
    }
    _feed(table, post)
    table.finish(SessionOutcome(status=StatusView(state="done")))
    out = re.sub(r"\x1b\[[0-9;]*m", "", console.file.getvalue())  # type: ignore[attr-defined]
    transcript_part = out.split("translation (de)")[0]
    lines = [line.rstrip() for line in transcript_part.splitlines()]
    ann = next(i for i, line in enumerate(lines) if "Good morning." in line)
    assert "(de) Guten Morgen." in lines[ann + 1] and "(fr) Bonjour." in lines[ann + 2]
    bye = next(i for i, line in enumerate(lines) if "Bye." in line)
    assert not any("(fr)" in line or "(de)" in line for line in lines[bye + 1 :])
    assert "translation (fr)" in out  # the section too


def test_translations_of_finds_by_id_then_by_time() -> None:
    book = AddonBook()
    for message in _conversation():
        book.apply(parse_server_message(json.dumps(message)))
    ann = parse_server_message(json.dumps(_conversation()[0]))
    assert book.translations_of("00_1", ann.utterance) == [  # type: ignore[attr-defined]
        "(de) Guten Morgen.",
        "(fr) Bonjour.",
    ]
    moved = parse_server_message(json.dumps(transcript("00_9", " x", final=True, start=0.5)))
    assert book.translations_of(None, moved.utterance) == [  # type: ignore[attr-defined]
        "(de) Guten Morgen.",
        "(fr) Bonjour.",
    ]
    elsewhere = parse_server_message(json.dumps(transcript("00_9", " x", final=True, start=0.7)))
    assert book.translations_of("00_9", elsewhere.utterance) == []  # type: ignore[attr-defined]
