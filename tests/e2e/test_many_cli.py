"""`gladia file` over many inputs, end to end: the real CLI against the local server
(scripted engine), short fixtures at --pace max unless a signal needs time to land."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import soundfile as sf

from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import Run, run_cli
from tests.support import (
    GLADIA,
    HEADERS,
    KEY,
    local_server,
    session_ids,
    tone_bursts,
)
from tests.tmux_screen import TmuxScreen, has_tmux, needs_tmux_reason

# The scripted engine names the words of a session from a fixed list, two per 0.8 s burst:
# an input with k bursts is transcribed as the first k of these lines.
LINES = ["alpha bravo", "charlie delta", "echo foxtrot"]


def _write(path: Path, bursts: int, *, gap: float = 1.2) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = tone_bursts([(0.2 + gap * k, 0.8, 0) for k in range(bursts)], total=gap * bursts + 0.5)
    sf.write(path, audio, 16000, subtype="PCM_16")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """rec/one.wav (1 burst), rec/two.wav (2), rec/three.wav (3), and a text file."""
    rec = tmp_path / "rec"
    for name, bursts in (("one", 1), ("two", 2), ("three", 3)):
        _write(rec / f"{name}.wav", bursts)
    (rec / "notes.txt").write_text("not audio, not picked from a directory\n")
    return rec


EXPECTED = {"one": LINES[:1], "two": LINES[:2], "three": LINES[:3]}


def _against(server: LocalServer, *args: str, stdin: bytes | None = None) -> Run:
    return run_cli(*args, env={"GLADIA_API_URL": server.url}, stdin=stdin)


def _text(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr, run.stderr


def test_a_folder_with_three_jobs_gives_one_correct_output_each(
    scripted: LocalServer, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    known = session_ids(scripted.url)
    run = _against(scripted, "file", str(folder), "--jobs", "3", "-d", str(out), "--pace", "max",
                   "-f", "text")  # fmt: skip
    assert run.code == 0, run.stderr
    _no_traceback(run)
    assert run.stdout == ""
    assert sorted(p.name for p in out.iterdir()) == ["one.txt", "three.txt", "two.txt"]
    for stem, lines in EXPECTED.items():
        assert _text(out / f"{stem}.txt") == lines, stem
    assert len(session_ids(scripted.url) - known) == 3
    assert "all 3 inputs done" in run.stderr


def test_every_file_format_in_the_output_dir(
    scripted: LocalServer, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = _against(scripted, "file", str(folder / "two.wav"), str(folder / "one.wav"),
                   "-d", str(out), "--pace", "max", "-f", "srt")  # fmt: skip
    assert run.code == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == ["one.srt", "two.srt"]
    srt = (out / "two.srt").read_text()
    assert "1\n00:00:00,200 --> " in srt and "charlie delta" in srt
    run = _against(scripted, "file", str(folder), "-d", str(out), "--pace", "max")
    assert run.code == 0, run.stderr  # default with --output-dir: jsonl, Gladia's messages
    messages = [json.loads(line) for line in (out / "three.jsonl").read_text().splitlines()]
    assert messages[-1]["type"] == "post_final_transcript"
    assert all("source" not in m for m in messages)  # in a file of its own: verbatim
    finals = [m["data"]["utterance"]["text"].strip() for m in messages
              if m["type"] == "transcript" and m["data"]["is_final"]]  # fmt: skip
    assert finals == LINES


def test_a_corrupt_file_fails_alone_with_5(
    scripted: LocalServer, folder: Path, tmp_path: Path
) -> None:
    (folder / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 7)
    out = tmp_path / "out"
    run = _against(scripted, "file", str(folder), "-j", "2", "-d", str(out), "--pace", "max",
                   "-f", "text")  # fmt: skip
    assert run.code == 5, run.stderr
    _no_traceback(run)
    for stem, lines in EXPECTED.items():
        assert _text(out / f"{stem}.txt") == lines
    assert not (out / "broken.txt").exists()
    failed = [line for line in run.stderr.splitlines() if line.startswith("gladia: failed: ")]
    assert len(failed) == 1 and str(folder / "broken.wav") in failed[0], run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("gladia: error:")]
    assert errors == ["gladia: error: 1 of 4 inputs failed"], run.stderr


def test_the_most_serious_failure_gives_the_exit_code(folder: Path, tmp_path: Path) -> None:
    # A request the API refused (2) outranks a missing file (5); the good input is done.
    with local_server(faults=Faults(init_failures=(400,))) as server:
        run = _against(server, "file", str(folder / "one.wav"), str(tmp_path / "missing.wav"),
                       str(folder / "two.wav"), "-d", str(tmp_path / "out"), "--pace", "max",
                       "-f", "text")  # fmt: skip
    assert run.code == 2, run.stderr
    assert run.stderr.count("gladia: failed: ") == 2, run.stderr
    assert "missing.wav" in run.stderr and "(400)" in run.stderr
    assert _text(tmp_path / "out" / "two.txt") == LINES[:2]


def test_skip_existing_resumes_and_ignores_temporary_files(
    scripted: LocalServer, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "one.txt").write_text("done by an earlier run\n")
    # What a run killed mid-way leaves: its hidden temporary file, never the final name.
    (out / ".two.txt.k1ll3d.tmp").write_text("alpha bravo\n")
    known = session_ids(scripted.url)
    run = _against(scripted, "file", str(folder), "-d", str(out), "--skip-existing", "-j", "2",
                   "--pace", "max", "-f", "text")  # fmt: skip
    assert run.code == 0, run.stderr
    assert _text(out / "one.txt") == ["done by an earlier run"]
    assert _text(out / "two.txt") == EXPECTED["two"]
    assert _text(out / "three.txt") == EXPECTED["three"]
    assert len(session_ids(scripted.url) - known) == 2
    assert "skipped" in run.stderr and "1 skipped" in run.stderr


def test_globs_and_from_list_and_a_stem_clash(scripted: LocalServer, tmp_path: Path) -> None:
    _write(tmp_path / "a" / "x.wav", 1)
    _write(tmp_path / "b" / "x.wav", 2)
    _write(tmp_path / "b" / "y.wav", 3)
    out = tmp_path / "out"
    run = _against(scripted, "file", str(tmp_path / "*" / "x.wav"), "-d", str(out), "-j", "2",
                   "--pace", "max", "-f", "text")  # fmt: skip
    assert run.code == 0, run.stderr
    assert _text(out / "a" / "x.txt") == LINES[:1]  # a/x.wav and b/x.wav: no overwriting
    assert _text(out / "b" / "x.txt") == LINES[:2]
    assert not (out / "x.txt").exists()

    listing = f"# made by a script\n\n{tmp_path / 'b' / 'y.wav'}\n{tmp_path / 'a' / 'x.wav'}\n"
    run = _against(scripted, "file", "--from-list", "-", "-f", "text", "--pace", "max",
                   stdin=listing.encode())  # fmt: skip
    assert run.code == 0, run.stderr
    # On stdout, each text line starts with its input, as grep does with several files.
    y, x = tmp_path / "b" / "y.wav", tmp_path / "a" / "x.wav"
    assert run.stdout.splitlines() == [f"{y}: {line}" for line in LINES] + [f"{x}: alpha bravo"]

    run = _against(scripted, "file", str(tmp_path / "nothing*.wav"), "--pace", "max")
    assert run.code == 2 and "no file matches" in run.stderr and "nothing*.wav" in run.stderr


def test_jsonl_on_stdout_tags_each_message_with_its_source(
    scripted: LocalServer, folder: Path
) -> None:
    one, two = str(folder / "one.wav"), str(folder / "two.wav")
    run = _against(scripted, "file", one, two, "-j", "2", "--pace", "max", "-f", "jsonl")
    assert run.code == 0, run.stderr
    messages = run.jsonl()
    assert {m["source"] for m in messages} == {one, two}
    for source, lines in ((one, LINES[:1]), (two, LINES[:2])):
        mine = [m for m in messages if m["source"] == source]
        assert len({m["session_id"] for m in mine}) == 1  # one session per input
        assert mine[-1]["type"] == "post_final_transcript"
        finals = [m["data"]["utterance"]["text"].strip() for m in mine
                  if m["type"] == "transcript" and m["data"]["is_final"]]  # fmt: skip
        assert finals == lines
    # Gladia's message byte for byte, the key added last.
    first = run.stdout.splitlines()[0]
    assert first.endswith(f',"source":{json.dumps(messages[0]["source"])}}}')


def test_formats_that_cannot_share_stdout_are_refused(scripted: LocalServer, folder: Path) -> None:
    one, two = str(folder / "one.wav"), str(folder / "two.wav")
    for args, needle in (
        (["-f", "table"], "--output-dir"),
        (["-f", "srt"], "--output-dir"),
        (["-o", "x.txt"], "--output-dir"),
        (["--record", "r.jsonl"], "one input at a time"),
    ):
        run = _against(scripted, "file", one, two, *args)
        assert run.code == 2, (args, run.stderr)
        assert needle in run.stderr
    run = _against(scripted, "file", one, "--skip-existing")
    assert run.code == 2 and "--output-dir" in run.stderr


def test_local_runs_many_inputs_on_one_embedded_server(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = run_cli("file", str(folder), "--local", "--local-engine", "scripted", "-j", "3",
                  "-d", str(out), "--pace", "max", "-f", "text")  # fmt: skip
    assert run.code == 0, run.stderr
    for stem, lines in EXPECTED.items():
        assert _text(out / f"{stem}.txt") == lines


def test_a_session_limit_queues_inputs_instead_of_failing(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with local_server(max_sessions=1) as server:
        run = _against(server, "file", str(folder), "-j", "3", "-d", str(out), "--pace", "max",
                       "-f", "text")  # fmt: skip
    assert run.code == 0, run.stderr
    for stem, lines in EXPECTED.items():
        assert _text(out / f"{stem}.txt") == lines
    assert "429" in run.stderr


# --- signals ---------------------------------------------------------------------------


def _start(server: LocalServer, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*GLADIA, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GLADIA_API_KEY": KEY, "GLADIA_API_URL": server.url, "NO_COLOR": "1"},
    )


def _wait_for_lines(process: subprocess.Popen[str], needle: str, count: int) -> list[str]:
    """stderr's lines until `count` of them hold `needle` (the sessions are streaming)."""
    assert process.stderr is not None
    seen: list[str] = []
    while sum(needle in line for line in seen) < count:
        line = process.stderr.readline()
        assert line, f"the CLI ended first: {seen}"
        seen.append(line)
    return seen


def test_first_ctrl_c_stops_running_sessions_keeps_partials_starts_no_more(
    scripted: LocalServer, tmp_path: Path
) -> None:
    rec = tmp_path / "rec"
    for name in ("a", "b", "c", "d"):
        _write(rec / f"{name}.wav", 3, gap=2.0)  # 6.5 s each, at the pace of speech
    out = tmp_path / "out"
    process = _start(scripted, "file", str(rec), "-j", "2", "-d", str(out), "-f", "jsonl")
    before = _wait_for_lines(process, "gladia: started ", 2)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    err = "".join(before) + rest
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "stopping" in err
    assert "2 stopped, 2 not started" in err
    for name in ("a", "b"):  # their transcripts finished, kept as partial
        assert not (out / f"{name}.jsonl").exists()
        lines = (out / f"{name}.jsonl.partial").read_text().splitlines()
        assert json.loads(lines[-1])["type"] == "post_final_transcript"
    assert sorted(p.name for p in out.iterdir()) == ["a.jsonl.partial", "b.jsonl.partial"]

    # The same command with --skip-existing does all four, and drops the partial files.
    run = _against(scripted, "file", str(rec), "-j", "2", "-d", str(out), "-f", "jsonl",
                   "--skip-existing", "--pace", "max")  # fmt: skip
    assert run.code == 0, run.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"{n}.jsonl" for n in "abcd"]


def test_second_ctrl_c_aborts_at_once(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    for name in ("a", "b", "c"):
        _write(rec / f"{name}.wav", 1)
    out = tmp_path / "out"
    # Slow post-processing: the first Ctrl-C waits for it, the second does not.
    with local_server(faults=Faults(slow_finish=30)) as server:
        process = _start(server, "file", str(rec), "-j", "2", "-d", str(out), "-f", "jsonl")
        before = _wait_for_lines(process, "gladia: started ", 2)
        process.send_signal(signal.SIGINT)
        before += _wait_for_lines(process, "stopping", 1)
        time.sleep(0.3)  # a second press, not the first one's twin (jobs/signals.BURST)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=15)
    err = "".join(before) + rest
    assert process.returncode == 130, err
    assert time.monotonic() - started < 5
    assert "Traceback" not in err and "aborted" in err
    assert not any(p.suffix == ".jsonl" for p in out.iterdir())  # nothing passes for done


# --- the progress view on a terminal -----------------------------------------------------


@pytest.mark.skipif(not has_tmux, reason=needs_tmux_reason)
def test_on_a_terminal_a_line_per_running_input_and_an_overall_bar(
    scripted: LocalServer, tmp_path: Path
) -> None:
    rec = tmp_path / "rec"
    for name in ("first", "second", "third"):
        _write(rec / f"{name}.wav", 3)
    out = tmp_path / "out"
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "GLADIA_API_KEY": KEY,
        "GLADIA_API_URL": scripted.url,
        "XDG_CONFIG_HOME": str(tmp_path / "no-config"),
    }
    with TmuxScreen(100, 20, env, tmp_path) as term:
        term.run(sys.executable, "-m", "gladia_cli", "file", str(rec), "-j", "2", "-d", str(out),
                 "--pace", "2x", "-f", "text")  # fmt: skip

        def region_up(screen: str) -> bool:
            lines = screen.splitlines()
            running = [line for line in lines if "streaming" in line and "%" in line]
            return len(running) == 2 and any(line.startswith("all ") for line in lines)

        screen = term.wait_for(region_up, "two running inputs and the overall bar")
        overall = next(line for line in screen if line.startswith("all "))
        assert "running" in overall and "1 waiting" in overall, screen
        assert term.wait_for_exit() == 0
        left = term.output()
    # Nothing of the region is left; one line per input that ended, in the order they did.
    assert not any(line.startswith("all ") or "streaming" in line for line in left), left
    done = [line for line in left if line.startswith("gladia: done ")]
    assert len(done) == 3, left
    assert left[-1] == "gladia: all 3 inputs done", left
    for name in ("first", "second", "third"):
        assert _text(out / f"{name}.txt") == LINES


def _wait_until_all_sent(
    server: LocalServer, known: set[str], *, sessions: int, seconds: float
) -> None:
    """Until `sessions` new sessions each hold `seconds` of audio on the server (the
    server's own account: no guess of how long the CLI takes)."""
    deadline = time.monotonic() + 30
    while True:
        items = requests.get(f"{server.url}/v2/live?limit=20", headers=HEADERS, timeout=10)
        full = [
            item
            for item in items.json()["items"]
            if item["id"] not in known
            and ((item.get("file") or {}).get("audio_duration") or 0.0) >= seconds
        ]
        if len(full) >= sessions:
            return
        assert time.monotonic() < deadline, f"{len(full)} of {sessions} sessions got all audio"
        time.sleep(0.02)


def test_ctrl_c_after_the_audio_was_all_sent_keeps_whole_outputs(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    for name in ("a", "b"):
        _write(rec / f"{name}.wav", 1)  # 1.7 s each
    out = tmp_path / "out"
    # Post-processing takes 3 s: the signal lands while both wait for their final results.
    with local_server(faults=Faults(slow_finish=3.0)) as server:
        known = session_ids(server.url)
        process = _start(server, "file", str(rec), "-j", "2", "-d", str(out), "-f", "text",
                         "--pace", "max")  # fmt: skip
        before = _wait_for_lines(process, "gladia: started ", 2)
        _wait_until_all_sent(server, known, sessions=2, seconds=1.7)
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
    err = "".join(before) + rest
    assert process.returncode == 0, err
    assert "stopping" in err
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]
    assert _text(out / "a.txt") == LINES[:1]


def test_jobs_with_one_input_is_said_and_the_file_still_done(tmp_path: Path) -> None:
    one = _write(tmp_path / "one.wav", 1)
    with local_server() as server:
        done = _against(server, "file", str(one), "--jobs", "4", "--pace", "max", "-f", "text")
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == LINES[:1]
    assert "--jobs 4 has no effect with one input: it runs as one session" in done.stderr
    quiet = run_cli(
        "file",
        str(one),
        "--jobs",
        "1",
        "--local",
        "--local-engine",
        "scripted",
        "--pace",
        "max",
        "-f",
        "text",
    )
    assert quiet.code == 0, quiet.stderr
    assert "--jobs" not in quiet.stderr
