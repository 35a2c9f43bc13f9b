"""What a person sees, in a real terminal (tmux) at 120×40 and 60×20, where stdout and
stderr are the same terminal: the live table fits the screen (header once, newest row and
status line at the bottom), notices print above it and stay readable, nothing of the live
view is left behind, a second Ctrl-C keeps the transcript and shows the hint, and the
progress bar never lands between lines of text."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf

from gladia_cli.jobs.signals import BURST
from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import run_cli
from tests.support import KEY, local_server, tone_bursts
from tests.tmux_screen import TmuxScreen, has_tmux, needs_tmux_reason

pytestmark = pytest.mark.skipif(not has_tmux, reason=needs_tmux_reason)

ROWS = 30
HEADER = re.compile(r"^\s*time ┃ speaker ┃ text\s*$")
ROW = re.compile(r"^\s*(\d+):(\d\d\.\d) │ (host|guest)\s*│ (.*)$")
SESSION_ID = re.compile(r"session ([0-9a-f-]{36})")  # in messages: the whole id
STATUS_ID = re.compile(r"^● \w+  ([0-9a-f]{8})  ")  # on the status line: its first characters


@pytest.fixture(scope="module")
def many_rows(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 utterances, short and long in turn (long ones wrap at 60 columns), on 2 channels."""
    bursts, at = [], 0.3
    for index in range(ROWS):
        length = 3.2 if index % 2 else 0.8
        bursts.append((at, length, index % 2))
        at += length + 0.45
    path = tmp_path_factory.mktemp("screen") / "many.wav"
    sf.write(path, tone_bursts(bursts, total=at + 0.5, channels=2), 16000)
    return path


@pytest.fixture(scope="module")
def dropping() -> Iterator[LocalServer]:
    """Scripted, and drops each session's first connection after 2 s: a reconnect notice."""
    with local_server(faults=Faults(drop_after_seconds=2.0)) as server:
        yield server


@pytest.fixture(scope="module")
def slow() -> Iterator[LocalServer]:
    """Scripted, with a post-processing that takes long enough to press Ctrl-C twice."""
    with local_server(faults=Faults(slow_finish=30.0)) as server:
        yield server


def _terminal(width: int, height: int, server: LocalServer, tmp_path: Path) -> TmuxScreen:
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "GLADIA_API_KEY": KEY,
        "GLADIA_API_URL": server.url,
        "XDG_CONFIG_HOME": str(tmp_path / "no-config"),
    }
    return TmuxScreen(width, height, env, tmp_path)


def _gladia(*args: str) -> list[str]:
    return [sys.executable, "-m", "gladia_cli", *args]


def _frame(screen: list[str]) -> tuple[list[str], list[str]]:
    """The live frame's rows (as drawn) and its status lines (from `●` to the end)."""
    lines = [line for line in screen if line.strip()]
    status_at = max(i for i, line in enumerate(lines) if line.startswith("● "))
    headers = [i for i, line in enumerate(lines) if HEADER.match(line)]
    assert len(headers) <= 1, "\n".join(screen)  # no fragment of an earlier frame
    top = headers[0] + 2 if headers else 0
    return lines[top:status_at], lines[status_at:]


def _squashed(text: str) -> str:
    """Without any white space: a line the terminal wrapped compares with the original."""
    return "".join(text.split())


def _times(rows: list[str]) -> list[float]:
    return [int(m[1]) * 60 + float(m[2]) for line in rows if (m := ROW.match(line))]


@pytest.mark.parametrize(("width", "height"), [(120, 40), (60, 20)])
def test_the_live_table_fits_and_leaves_the_whole_transcript(
    width: int, height: int, many_rows: Path, dropping: LocalServer, tmp_path: Path
) -> None:
    with _terminal(width, height, dropping, tmp_path) as term:
        term.run(*_gladia("file", str(many_rows), "--pace", "10x", "--label", "host,guest"))
        # Mid-stream, once the table is taller than the screen (at 60x20): the header once,
        # the rows, the status at the bottom, the newest row just above it. At 120x40 the
        # terminal is then made 60x20 while it streams: the next frames fit the new size.
        sizes = [(width, height, "0:30." if width == 120 else "0:50.")]
        if width == 120:
            sizes.append((60, 20, "0:50."))
        for index, (columns, lines, seen) in enumerate(sizes):
            if index:
                term.resize(columns, lines)
            screen = term.wait_for(
                lambda s, seen=seen, columns=columns: (
                    seen in s and "● streaming" in s and max(map(len, s.splitlines())) <= columns
                ),
                f"the table at {columns}x{lines}",
            )
            rows, status = _frame(screen)
            assert re.match(r"● streaming  [0-9a-f]{8}  sent ", status[0]), status[0]
            assert len(screen) == lines
            times = _times(rows)
            assert times and times == sorted(times)  # arrival order: the newest is the last
            assert ROW.match(rows[-1]) or rows[-1].startswith("        │")
        assert term.wait_for_exit() == 0
        left = term.output()
    # The reconnect was said, on its own lines, above the table (not through it).
    notices = [i for i, line in enumerate(left) if line.startswith("gladia: warning: ")]
    shown = [left[i] for i in notices]
    assert shown and all("connection" in line or "reconnected" in line for line in shown), shown
    # What is left: the notices, then the final table once, every utterance once, in time
    # order, its status line and the summary. No fragment of the live view above it —
    # except, after a resize, the frame the clear pushed into the scrollback.
    headers = [i for i, line in enumerate(left) if HEADER.match(line)]
    if len(sizes) == 1:
        assert len(headers) == 1, "\n".join(left)
        assert not any(line.startswith("● streaming") for line in left)
    final = left[headers[-1] + 2 :]
    times = _times(final)
    assert len(times) == ROWS and times == sorted(times)
    assert not any(line.startswith("● streaming") for line in final)
    done = next(line for line in final if line.startswith("● done"))
    shown = STATUS_ID.search(done)
    session = SESSION_ID.search(left[-1])
    assert shown is not None and session is not None and session[1].startswith(shown[1])
    assert left[-1] == f"gladia: session {session[1]} done: " + left[-1].split(" done: ", 1)[1]


def test_a_second_ctrl_c_keeps_what_was_shown_and_shows_the_hint(
    many_rows: Path, slow: LocalServer, tmp_path: Path
) -> None:
    with _terminal(60, 20, slow, tmp_path) as term:
        term.run(*_gladia("file", str(many_rows), "--pace", "4x", "--label", "host,guest"))
        term.wait_for(lambda s: "0:05" in s and "● streaming" in s, "a few rows")
        term.ctrl_c()
        screen = term.wait_for(lambda s: "● stopping" in s, "the stopping state")
        text = "\n".join(screen)
        # The notice is above the table, readable, while the table stays up.
        notice = "gladia: stopping: waiting for the final transcripts (Ctrl-C again to abort)"
        assert _squashed(notice) in _squashed(text)  # wrapped at 60 columns
        assert text.index("gladia: stopping") < text.index("time ┃")
        shown, _ = _frame(screen)
        # A person's second press, not the first one's echo: the CLI counts deliveries
        # within BURST s of the first press's handling as that press (signals.Presses).
        # "● stopping" is drawn by the main loop, which runs only once the handler has
        # returned (handled() called), so BURST s from now is past the window whatever the
        # load; pressed at once, the press fell inside it ~1 run in 10 (CI12 and a run at
        # two workers) and the session then ended normally (exit 0).
        time.sleep(BURST)
        term.ctrl_c()
        assert term.wait_for_exit() == 130
        left = term.output()
        screen = term.screen()
    # The transcript as it was on screen is still there, then the state and the hint.
    headers = [i for i, line in enumerate(left) if HEADER.match(line)]
    assert len(headers) == 1, "\n".join(left)
    kept = left[headers[0] + 2 :]
    assert _times(kept)[: len(_times(shown))] == _times(shown)
    aborted = next(line for line in kept if line.startswith("● aborted"))
    prefix = STATUS_ID.search(aborted)
    session = SESSION_ID.search(left[-2].replace("sessions get", "session"))
    assert prefix is not None and session is not None and session[1].startswith(prefix[1])
    hint = (
        "gladia: warning: aborted; the server finishes the session in the background: "
        f"gladia sessions get {session[1]}"
    )
    assert left[-2:] == [hint, "gladia: error: aborted"]
    assert "gladia: error: aborted" in screen  # visible, not wiped
    # The ids the status line and the hint give are ones `sessions get` takes.
    for given in (prefix[1], session[1]):
        looked_up = run_cli("sessions", "get", given, env={"GLADIA_API_URL": slow.url})
        assert looked_up.code == 0, looked_up.stderr


def test_text_on_a_terminal_keeps_the_bar_off_the_lines(
    many_rows: Path, dropping: LocalServer, tmp_path: Path
) -> None:
    expected = run_cli(
        "file", str(many_rows), "--pace", "max", "-f", "text", "--label", "host,guest",
        env={"GLADIA_API_URL": dropping.url},
    )  # fmt: skip
    assert expected.code == 0, expected.stderr
    with _terminal(60, 20, dropping, tmp_path) as term:
        term.run(
            *_gladia("file", str(many_rows), "--pace", "8x", "-f", "text", "--label", "host,guest")
        )
        screen = term.wait_for(lambda s: "━" in s and s.count("[host]") >= 3, "lines and a bar")
        drawn = [line for line in screen if line.strip()]
        assert "━" in drawn[-1] and "streaming" in drawn[-1]  # the bar: last, alone
        assert not any("━" in line for line in drawn[:-1])
        assert term.wait_for_exit() == 0
        left = term.output()
    assert not any("━" in line for line in left)  # gone once the session ended
    data = [line for line in left if line.startswith(("[host]", "[guest]"))]
    assert data == expected.stdout.splitlines()  # every line whole, in order
