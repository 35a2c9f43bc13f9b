"""Renderers without a terminal or a network: the transcript book, the table view, subtitles."""

from __future__ import annotations

import io
import json

from rich.console import Console

from gladia_cli.protocol.messages import Utterance, parse_server_message
from gladia_cli.render.base import Labels, StatusView, TranscriptBook
from gladia_cli.render.subtitles import to_srt, to_vtt
from gladia_cli.render.table import live_view


def _transcript(uid: str, text: str, final: bool, start: float = 0.0, channel: int = 0) -> str:
    utterance = {
        "text": text,
        "start": start,
        "end": start + 1,
        "confidence": 0.9,
        "channel": channel,
        "language": "en",
        "words": [],
    }
    return json.dumps(
        {"type": "transcript", "data": {"id": uid, "is_final": final, "utterance": utterance}}
    )


def test_partials_are_replaced_in_place_by_their_final() -> None:
    book = TranscriptBook()
    book.apply(parse_server_message(_transcript("00_0", " hel", False)))
    book.apply(parse_server_message(_transcript("00_1", " other", False, start=2)))
    book.apply(parse_server_message(_transcript("00_0", " hello there", True)))
    book.apply(parse_server_message(_transcript("00_0", " late partial", False)))
    entries = book.entries
    assert [(e.utterance.text, e.is_final) for e in entries] == [
        ("hello there", True),
        ("other", False),
    ]
    assert [u.text for u in book.finals()] == ["hello there"]


def test_post_transcript_is_authoritative() -> None:
    book = TranscriptBook()
    book.apply(parse_server_message(_transcript("00_0", " seen live", True, start=1)))
    missed = {
        "text": " missed in a drop",
        "start": 0.0,
        "end": 0.5,
        "confidence": 1,
        "channel": 1,
        "language": "en",
        "words": [],
    }
    seen = {**missed, "text": " seen live", "start": 1.0, "channel": 0}
    book.apply(
        parse_server_message(
            json.dumps(
                {
                    "type": "post_transcript",
                    "data": {"full_transcript": "", "utterances": [seen, missed]},
                }
            )
        )
    )
    assert [u.text for u in book.finals()] == ["missed in a drop", "seen live"]


def test_server_text_is_plain_text_never_markup_or_escapes() -> None:
    book = TranscriptBook()
    book.apply(
        parse_server_message(_transcript("00_0", " [bold red]x[/] \x1b[31mred\x1b[0m\nline", True))
    )
    console = Console(file=io.StringIO(), force_terminal=True, width=80, color_system=None)
    console.print(live_view(book, Labels(), StatusView(), height=24))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[bold red]x[/]" in out
    assert "\x1b" not in out  # the escape byte is stripped (the console itself adds none here)
    assert "[31mred" in out


def test_the_table_shows_the_tail_that_fits() -> None:
    book = TranscriptBook()
    for i in range(40):
        book.apply(
            parse_server_message(_transcript(f"00_{i}", f" utterance number {i}", True, start=i))
        )
    console = Console(
        file=io.StringIO(), force_terminal=True, width=80, height=12, color_system=None
    )
    console.print(
        live_view(
            book,
            Labels(("host", "guest"), 2),
            StatusView(state="streaming", sent_seconds=3.0),
            height=12,
        )
    )
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "utterance number 39" in out and "utterance number 30" not in out
    assert len(out.splitlines()) <= 12
    assert "host" in out and "● streaming" in out and "sent 3.0 s" in out


def test_srt_and_vtt() -> None:
    utterances = [
        Utterance("good morning", 1.02, 1.71, 0),
        Utterance("a <b> & c", 3661.5, 3661.5, 1),
    ]
    labels = Labels(("ann", "bob"), 2)
    assert to_srt(utterances, labels) == (
        "1\n00:00:01,020 --> 00:00:01,710\n[ann] good morning\n\n"
        "2\n01:01:01,500 --> 01:01:01,700\n[bob] a <b> & c\n"
    )
    vtt = to_vtt(utterances, labels)
    assert vtt.startswith("WEBVTT\n\n00:00:01.020 --> 00:00:01.710\n<v ann>good morning\n")
    assert "<v bob>a &lt;b&gt; &amp; c" in vtt
    assert to_srt(utterances[:1], Labels()) == "1\n00:00:01,020 --> 00:00:01,710\ngood morning\n"
