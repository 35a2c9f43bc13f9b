"""The live table, for real: the CLI on a pseudo-terminal, every frame it drew recorded."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import time
from pathlib import Path

import soundfile as sf

from gladia_cli.server.runner import LocalServer
from tests.support import GLADIA, KEY, tone_bursts

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _run_on_a_terminal(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> tuple[int, str]:
    """Run with stdout and stderr on a pty (80×24); returns the exit code and all output."""
    leader, follower = pty.openpty()
    os.set_blocking(leader, False)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, env=env)
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                data = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif process.poll() is not None:
            break
    code = process.wait(timeout=10)
    os.close(leader)
    return code, b"".join(chunks).decode("utf-8", errors="replace")


def test_the_table_shows_partials_dim_then_finals(scripted: LocalServer, tmp_path: Path) -> None:
    audio = tone_bursts([(0.3, 1.0, 0), (1.8, 0.5, 1)], total=2.6, channels=2)
    path = tmp_path / "two.wav"
    sf.write(path, audio, 16000)
    env = {
        key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "GLADIA_API_URL")
    }
    env.update({"GLADIA_API_KEY": KEY, "GLADIA_API_URL": scripted.url, "TERM": "xterm-256color"})
    code, output = _run_on_a_terminal(
        [*GLADIA, "file", str(path), "--label", "host,guest", "--pace", "realtime"], env
    )
    assert code == 0, output
    # While streaming: the partial, dim and italic (SGR 2;3), then in the same row its
    # final, plain.
    assert re.search(r"host\s*\x1b\[0m │ \x1b\[2;3malpha ", output), output
    assert re.search(r"host\s*\x1b\[0m │ alpha bravo", output), output
    plain = ANSI.sub("", output)
    assert "● streaming" in plain and "sent " in plain
    # At the end: the whole transcript, finals only, with labels, and a one-line summary.
    final = plain[plain.rindex("time") :]
    assert "host" in final and "guest" in final
    assert "alpha bravo" in final
    assert "● done" in final
    assert "Traceback" not in plain


def test_a_progress_bar_on_a_terminal_stderr_when_the_output_is_a_file(
    scripted: LocalServer, tmp_path: Path
) -> None:
    path = tmp_path / "two.wav"
    sf.write(path, tone_bursts([(0.3, 0.8, 0)], total=2.0), 16000)
    out = tmp_path / "out.txt"
    env = {key: value for key, value in os.environ.items() if key != "GLADIA_API_URL"}
    env.update({"GLADIA_API_KEY": KEY, "GLADIA_API_URL": scripted.url, "TERM": "xterm-256color"})
    code, output = _run_on_a_terminal(
        [*GLADIA, "file", str(path), "-f", "text", "-o", str(out), "--pace", "realtime"], env
    )
    assert code == 0, output
    plain = ANSI.sub("", output)
    assert "two.wav" in plain and "━" in plain and "%" in plain and "streaming," in plain
    assert out.read_text().strip() == "alpha bravo"
    # Quiet: no bar, no notices.
    code, output = _run_on_a_terminal(
        [*GLADIA, "file", str(path), "-f", "text", "-o", str(out), "--pace", "max", "-q"], env
    )
    assert code == 0 and "━" not in output and "gladia:" not in output
