"""The many-inputs view on a terminal: a region of several lines redrawn in place, lines
that end above it, nothing of it left at the end (a small terminal emulator reads it)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from gladia_cli.environment import Environment
from gladia_cli.jobs.batch_run import Outcome
from gladia_cli.render.batch_view import BatchView
from gladia_cli.render.notices import Notices
from gladia_cli.render.output import Output
from gladia_cli.render.screen import Screen

_TOKEN = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+")


def _emulate(written: str) -> list[str]:
    """Carriage return, newline, erase line, cursor up one line, and text."""
    rows, row, column = [""], 0, 0
    for token in _TOKEN.findall(written):
        if token == "\r":
            column = 0
        elif token == "\n":
            row += 1
            column = 0
            if row == len(rows):
                rows.append("")
        elif token == "\x1b[2K":
            rows[row] = ""
        elif token == "\x1b[1A":
            row = max(0, row - 1)
        elif not token.startswith("\x1b"):
            line = rows[row].ljust(column)
            rows[row] = line[:column] + token + line[column + len(token) :]
            column += len(token)
    while len(rows) > 1 and not rows[-1]:
        rows.pop()
    return rows


def _terminal() -> tuple[io.StringIO, Screen]:
    stream = io.StringIO()
    env = Environment(
        stdout=stream,
        stderr=stream,
        environ={"COLUMNS": "80", "LINES": "20"},
        stdout_isatty=True,
        stderr_isatty=True,
        shared_terminal=True,
    )
    return stream, Screen(env)


def test_the_region_is_redrawn_in_place_under_what_ended() -> None:
    stream, screen = _terminal()
    view = BatchView(screen, Notices(screen, quiet=False), 3, quiet=False)
    for spec in ("a.wav", "b.wav"):
        view.started(spec)
        view.progress(spec, 0.25, "streaming, 1.0 s sent")
    view.refresh()
    Output(stream, guard=screen.writing_data).line("a data line")
    view.progress("b.wav", 0.5, "streaming, 2.0 s sent")
    view.ended(Outcome("a.wav", "done"), 1)
    view.started("c.wav")
    view.refresh()
    shown = _emulate(stream.getvalue())
    assert shown[0] == "a data line"
    assert shown[1].startswith("gladia: done a.wav [1/3]")
    region = shown[2:]
    assert len(region) == 3, shown
    assert region[0].startswith("b.wav") and "50%" in region[0] and "2.0 s sent" in region[0]
    assert region[1].startswith("c.wav") and "starting" in region[1]
    assert region[2].startswith("all") and "1 of 3 ended, 2 running" in region[2]
    view.ended(Outcome("b.wav", "failed", 5, "cannot read b.wav"), 2)
    view.ended(Outcome("c.wav", "done"), 3)
    view.close()
    shown = _emulate(stream.getvalue())
    assert shown[1:] == [
        "gladia: done a.wav [1/3]",
        "gladia: warning: failed b.wav: cannot read b.wav [2/3]",
        "gladia: done c.wav [3/3]",
    ]


def test_off_a_terminal_plain_lines_and_no_bars() -> None:
    stream = io.StringIO()
    screen = Screen(Environment(stdout=io.StringIO(), stderr=stream, stderr_isatty=False))
    view = BatchView(screen, Notices(screen, quiet=False), 2, quiet=False)
    view.started("a.wav")
    view.progress("a.wav", 0.1, "streaming")
    view.progress("a.wav", 0.2, "streaming")
    view.refresh()
    view.ended(Outcome("a.wav", "skipped", written=Path("out/a.txt")), 1)
    assert stream.getvalue().splitlines() == [
        "gladia: started a.wav (1 of 2)",
        "gladia: skipped a.wav: out/a.txt is there [1/2]",
    ]
