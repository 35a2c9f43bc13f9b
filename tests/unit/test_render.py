"""Renderers without a terminal or a network: the transcript book, the table view, subtitles."""

from __future__ import annotations

import dataclasses
import io
import json
import re

import pytest
from rich.console import Console
from rich.segment import Segment

from gladia_cli.environment import Environment
from gladia_cli.protocol.messages import Utterance, parse_server_message
from gladia_cli.render.base import Labels, SessionOutcome, StatusView, TranscriptBook
from gladia_cli.render.screen import Screen
from gladia_cli.render.subtitles import to_srt, to_vtt
from gladia_cli.render.table import RowKey, TableRenderer, fit_frame


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


def _console(width: int = 80, height: int = 24) -> Console:
    return Console(
        file=io.StringIO(), force_terminal=True, width=width, height=height, color_system=None
    )


def _frame_text(
    rows: list[tuple[Utterance, bool]],
    width: int,
    height: int,
    labels: Labels | None = None,
    view: StatusView | None = None,
) -> list[str]:
    lines = fit_frame(
        rows,
        labels or Labels(),
        view or StatusView(state="streaming", session_id=SESSION, sent_seconds=3.0),
        console=_console(width, height),
        width=width,
        height=height,
    )
    return ["".join(segment.text for segment in line).rstrip() for line in lines]


SESSION = "6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b"


def _rows(count: int, words: int = 6) -> list[tuple[Utterance, bool]]:
    """`count` finals of `words` words each, then the newest one partial."""
    rows = []
    for i in range(count):
        text = " ".join(f"w{i}x{j}" for j in range(words - 1)) + f" end{i}"
        rows.append((Utterance(text, float(i), i + 0.5, i % 2), i < count - 1))
    return rows


def test_server_text_is_plain_text_never_markup_or_escapes() -> None:
    book = TranscriptBook()
    book.apply(
        parse_server_message(_transcript("00_0", " [bold red]x[/] \x1b[31mred\x1b[0m\nline", True))
    )
    rows = [(e.utterance, e.is_final) for e in book.entries]
    text = "\n".join(_frame_text(rows, 80, 24))
    assert "[bold red]x[/]" in text
    assert "\x1b" not in text  # the escape byte is stripped (the console itself adds none here)
    assert "[31mred" in text


@pytest.mark.parametrize(("width", "height"), [(120, 40), (60, 20), (45, 16)])
def test_the_frame_fits_the_terminal_and_keeps_status_and_newest_row(
    width: int, height: int
) -> None:
    rows = _rows(60, words=10)  # rows wrap at 60 and 45 columns
    lines = _frame_text(rows, width, height, Labels(("host", "guest"), 2))
    assert len(lines) <= height
    assert "sent 3.0 s" in " ".join(lines[-2:])  # the status line, last (two lines at 45 cols)
    assert any("● streaming" in line for line in lines[-3:])
    assert f"streaming  {SESSION[:8]}  sent" in " ".join(lines[-2:])  # a prefix sessions get takes
    text = "\n".join(lines)
    assert "end59" in text  # the newest (partial) row, complete
    assert "end58" in text
    assert "end0" not in text  # the oldest are left out
    assert lines[0].split() == ["time", "┃", "speaker", "┃", "text"]
    # Rows are measured in lines: the frame is full, not a fixed number of utterances short.
    assert len(lines) >= height - 3


def test_a_newest_row_taller_than_the_screen_shows_its_last_words() -> None:
    rows = [*_rows(3), (Utterance(" ".join(f"word{i}" for i in range(200)), 9.0, 9.5, 0), False)]
    lines = _frame_text(rows, 60, 20)
    assert len(lines) <= 20
    assert "word199" in "\n".join(lines)
    assert "word0 " not in "\n".join(lines)
    assert "● streaming" in "\n".join(lines[-2:])
    assert lines[0].split() == ["time", "┃", "text"]  # the header still fits beside it
    tiny = _frame_text(rows, 60, 2)  # room for the status and one line of the row
    assert len(tiny) <= 3 and "word199" in tiny[0] and "● streaming" in tiny[1]


def test_the_frame_without_rows_is_the_header_and_the_status() -> None:
    lines = _frame_text([], 100, 24)
    assert len(lines) == 3 and lines[0].split() == ["time", "┃", "text"]
    assert lines[-1].startswith("● streaming")


def test_the_frame_is_a_function_of_its_inputs() -> None:
    rows = _rows(30, words=10)
    assert _frame_text(rows, 60, 20) == _frame_text(rows, 60, 20)
    assert _frame_text(rows, 60, 20) != _frame_text(rows, 120, 20)
    cache: dict[RowKey, list[list[Segment]]] = {}
    ids = [str(i) for i in range(len(rows))]
    console = _console(60, 20)
    view = StatusView(state="streaming", session_id=SESSION, sent_seconds=3.0)
    first = fit_frame(
        rows, Labels(), view, console=console, width=60, height=20, row_cache=cache, row_ids=ids
    )
    again = fit_frame(
        rows, Labels(), view, console=console, width=60, height=20, row_cache=cache, row_ids=ids
    )
    assert cache and first == again == fit_frame(
        rows, Labels(), view, console=console, width=60, height=20
    )


def _renderer(width: int = 80, height: int = 24, terminal: bool = False) -> TableRenderer:
    console = Console(
        file=io.StringIO(), force_terminal=terminal, width=width, height=height, color_system=None
    )
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), environ={})
    return TableRenderer(console, Labels(("ann", "bob"), 2), Screen(env))


def _output(renderer: TableRenderer) -> str:
    return renderer._console.file.getvalue()  # type: ignore[attr-defined]


def test_the_final_table_is_the_whole_transcript_in_time_order() -> None:
    renderer = _renderer()
    renderer.start(SESSION)
    renderer.message(parse_server_message(_transcript("01_0", " second", True, 2.0, 1)))
    renderer.message(parse_server_message(_transcript("00_0", " first", True, 1.0, 0)))
    renderer.message(parse_server_message(_transcript("00_1", " unfinished", False, 3.0, 0)))
    renderer.finish(SessionOutcome(StatusView(state="done", session_id=SESSION)))
    out = _output(renderer)
    assert out.index("first") < out.index("second")
    assert "unfinished" not in out  # a partial never made it to a final
    assert f"● done  {SESSION[:8]}  sent" in out


def test_an_aborted_table_keeps_what_was_shown() -> None:
    renderer = _renderer(terminal=True)
    renderer.start(SESSION)
    renderer.message(parse_server_message(_transcript("00_0", " said before", True, 1.0, 0)))
    renderer.message(parse_server_message(_transcript("01_0", " being said", False, 2.0, 1)))
    renderer.status(StatusView(state="stopping", session_id=SESSION, sent_seconds=2.5))
    renderer.close()  # no finish: a second Ctrl-C
    renderer.close()  # closing twice prints nothing more
    out = ANSI.sub("", _output(renderer))
    tail = out[out.rindex("time") :]
    assert "said before" in tail and "being said" in tail  # the partial too: it was on screen
    assert f"● aborted  {SESSION[:8]}  sent 2.5 s" in tail
    assert tail.count("● aborted") == 1


ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


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


def test_the_status_line_fits_80_columns_an_hour_in() -> None:
    """The whole 36-character id made it wrap at 80 columns on every refresh."""
    from gladia_cli.render.base import StatusView
    from gladia_cli.render.table import status_line

    view = StatusView(
        state="streaming",
        session_id="3f9a1c2e-8b20-4097-bbbf-256e7147b194",
        sent_seconds=3725.4,
        acked_seconds=3725.3,
        progress=0.48,
        final_lag=1.254,
        partial_lag=0.412,
    )
    text = status_line(view).plain
    assert text == "● streaming  3f9a1c2e  sent 62:05.4  48%  lag 1.25 s (partial 412 ms)"
    assert len(text) < 80  # the frame draws it one column short of the terminal
    behind = status_line(dataclasses.replace(view, state="reconnecting", acked_seconds=3700.0))
    assert "sent 62:05.4  acked 61:40.0  48%" in behind.plain  # a gap worth the room
