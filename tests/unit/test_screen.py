"""The Screen, on one stream standing for a terminal that stdout and stderr share: the bar
is only ever the last line, data lines and notices stay whole above it."""

from __future__ import annotations

import io
import re

from rich.text import Text

from gladia_cli.environment import Environment
from gladia_cli.render.base import StatusView
from gladia_cli.render.output import Output
from gladia_cli.render.progress import bar_line
from gladia_cli.render.screen import Screen

_TOKEN = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r|\n|[^\x1b\r\n]+")


def _emulate(written: str) -> list[str]:
    """What a terminal shows for `written`: carriage return, erase line, newline, text."""
    lines, column = [""], 0
    for token in _TOKEN.findall(written):
        if token == "\r":
            column = 0
        elif token == "\n":
            lines.append("")
            column = 0
        elif token == "\x1b[2K":
            lines[-1] = ""
        elif not token.startswith("\x1b"):  # colours and styles: not drawn as text
            line = lines[-1].ljust(column)
            lines[-1] = line[:column] + token + line[column + len(token) :]
            column += len(token)
    return lines


def _shared_terminal(stream: io.StringIO) -> Environment:
    return Environment(
        stdout=stream,
        stderr=stream,
        environ={"COLUMNS": "60", "LINES": "20"},
        stdout_isatty=True,
        stderr_isatty=True,
        shared_terminal=True,
    )


def test_data_lines_and_notices_go_above_the_bar() -> None:
    terminal = io.StringIO()
    screen = Screen(_shared_terminal(terminal))
    output = Output(terminal, guard=screen.writing_data)
    view = StatusView(state="streaming", sent_seconds=1.0, progress=0.25)
    screen.show_bar(bar_line("talk.wav", view, 4.0))
    output.line("first line of data")
    screen.notice(Text("gladia: warning: connection lost; reconnecting"))
    screen.show_bar(bar_line("talk.wav", StatusView(state="streaming", progress=0.5), 4.0))
    output.line("second line of data")
    shown = _emulate(terminal.getvalue())
    assert shown[:3] == [
        "first line of data",
        "gladia: warning: connection lost; reconnecting",
        "second line of data",
    ]
    assert shown[3].startswith("talk.wav ") and "50%" in shown[3]  # the bar, last and alone
    assert len(shown) == 4
    screen.clear_bar()
    assert _emulate(terminal.getvalue())[3] == ""


def test_without_a_shared_terminal_data_is_written_as_it_is() -> None:
    out, err = io.StringIO(), io.StringIO()
    env = Environment(stdout=out, stderr=err, environ={}, stderr_isatty=True)
    screen = Screen(env)
    screen.show_bar(bar_line("x.wav", StatusView(progress=0.1), 1.0))
    Output(out, guard=screen.writing_data).line("data")
    assert out.getvalue() == "data\n"  # no bar codes on stdout
    assert "\x1b[2K" in err.getvalue()
    quiet = Screen(Environment(stdout=out, stderr=io.StringIO(), environ={}, stderr_isatty=False))
    quiet.show_bar(bar_line("x.wav", StatusView(progress=0.1), 1.0))
    assert quiet.env.stderr.getvalue() == ""  # type: ignore[attr-defined]  # not a terminal


def test_the_environment_knows_when_stdout_and_stderr_are_one_terminal() -> None:
    import os

    leader, follower = os.openpty()
    other_leader, other_follower = os.openpty()
    try:
        with (
            open(follower, "w", closefd=False) as out,
            open(follower, "w", closefd=False) as err,
            open(other_follower, "w", closefd=False) as elsewhere,
        ):
            shared = Environment(stdout=out, stderr=err, environ={})
            assert shared.stdout_isatty and shared.stderr_isatty and shared.shared_terminal
            apart = Environment(stdout=out, stderr=elsewhere, environ={})
            assert apart.stdout_isatty and not apart.shared_terminal
            piped = Environment(stdout=io.StringIO(), stderr=err, environ={"NO_COLOR": "1"})
            assert not piped.stdout_isatty and not piped.shared_terminal and piped.no_color
            assert not piped.stdout_console.is_terminal and piped.stderr_console.is_terminal
    finally:
        for fd in (leader, follower, other_leader, other_follower):
            os.close(fd)
