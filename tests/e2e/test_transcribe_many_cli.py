"""`gladia transcribe` over many inputs, end to end: the real CLI against the local server
(scripted engine) through the pre-recorded API, with the many-input runner of `gladia
file` (--jobs, --output-dir, --skip-existing, the summary, the exit code, Ctrl-C)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import soundfile as sf

from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import Run, run_cli
from tests.support import GLADIA, HEADERS, KEY, local_server, tone_bursts

# The scripted engine names the words of a file from a fixed list, two per 0.8 s burst.
LINES = ["alpha bravo", "charlie delta", "echo foxtrot"]
EXPECTED = {"one": LINES[:1], "two": LINES[:2], "three": LINES[:3]}


def _write(path: Path, bursts: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = tone_bursts([(0.2 + 1.2 * k, 0.8, 0) for k in range(bursts)], total=1.2 * bursts + 0.5)
    sf.write(path, audio, 16000, subtype="PCM_16")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    rec = tmp_path / "rec"
    for name, bursts in (("one", 1), ("two", 2), ("three", 3)):
        _write(rec / f"{name}.wav", bursts)
    (rec / "notes.txt").write_text("not audio, not picked from a directory\n")
    return rec


def _against(server: LocalServer, *args: str, stdin: bytes | None = None) -> Run:
    return run_cli(*args, env={"GLADIA_API_URL": server.url}, stdin=stdin)


def _jobs(server: LocalServer) -> list[dict[str, Any]]:
    response = requests.get(f"{server.url}/v2/pre-recorded?limit=100", headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_folder_with_three_jobs_gives_one_correct_output_each(
    scripted: LocalServer, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    known = {job["id"] for job in _jobs(scripted)}
    run = _against(scripted, "transcribe", str(folder), "--jobs", "3", "--output-dir", str(out),
                   "-f", "text")  # fmt: skip
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stdout == ""
    assert sorted(p.name for p in out.iterdir()) == ["one.txt", "three.txt", "two.txt"]
    for stem, lines in EXPECTED.items():
        assert (out / f"{stem}.txt").read_text().splitlines() == lines, stem
    assert len({job["id"] for job in _jobs(scripted)} - known) == 3  # one job per input
    assert "all 3 inputs done" in run.stderr

    srt = _against(scripted, "transcribe", str(folder / "two.wav"), str(folder / "one.wav"),
                   "-d", str(out), "-f", "srt")  # fmt: skip
    assert srt.code == 0, srt.stderr
    assert (out / "two.srt").read_text().startswith("1\n00:00:00,200 --> 00:00:01,000\nalpha")
    jobs = _against(scripted, "transcribe", str(folder / "one.wav"), "-d", str(out))
    assert jobs.code == 0, jobs.stderr  # default with --output-dir: jsonl, the job verbatim
    (job,) = [json.loads(line) for line in (out / "one.jsonl").read_text().splitlines()]
    assert job["status"] == "done" and "source" not in job


def test_one_bad_file_among_good_ones_fails_alone_with_5(
    scripted: LocalServer, folder: Path, tmp_path: Path
) -> None:
    (folder / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt " + b"\x00" * 7)
    out = tmp_path / "out"
    missing = str(tmp_path / "missing.wav")
    run = _against(scripted, "transcribe", str(folder), missing, "-j", "2", "-d", str(out),
                   "-f", "text")  # fmt: skip
    assert run.code == 5, run.stderr
    assert "Traceback" not in run.stderr
    for stem, lines in EXPECTED.items():
        assert (out / f"{stem}.txt").read_text().splitlines() == lines
    assert sorted(p.name for p in out.iterdir()) == ["one.txt", "three.txt", "two.txt"]
    failed = [line for line in run.stderr.splitlines() if line.startswith("gladia: failed: ")]
    assert len(failed) == 2, run.stderr
    assert f"gladia: failed: {folder / 'broken.wav'}: the API refused" in failed[0]
    assert failed[1] == f"gladia: failed: {missing}: no such file: {missing}"
    errors = [line for line in run.stderr.splitlines() if line.startswith("gladia: error:")]
    assert errors == ["gladia: error: 2 of 5 inputs failed"], run.stderr


def test_skip_existing_skips_what_is_there(
    scripted: LocalServer, folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "one.txt").write_text("done by an earlier run\n")
    (out / "two.txt.partial").write_text("cut short\n")
    known = {job["id"] for job in _jobs(scripted)}
    run = _against(scripted, "transcribe", str(folder), "-d", str(out), "-f", "text",
                   "--skip-existing", "-j", "2")  # fmt: skip
    assert run.code == 0, run.stderr
    assert (out / "one.txt").read_text() == "done by an earlier run\n"
    assert f"skipped {folder / 'one.wav'}: {out / 'one.txt'} is there" in run.stderr
    assert (out / "two.txt").read_text().splitlines() == EXPECTED["two"]
    assert not (out / "two.txt.partial").exists()
    assert len({job["id"] for job in _jobs(scripted)} - known) == 2  # none for one.wav
    assert "all 3 inputs done (1 skipped: their output was there)" in run.stderr


def test_several_inputs_on_stdout_as_gladia_file_does(
    scripted: LocalServer, folder: Path, tmp_path: Path
) -> None:
    one, two = str(folder / "one.wav"), str(folder / "two.wav")
    jsonl = _against(scripted, "transcribe", one, two, "-j", "2")  # a pipe: jsonl
    assert jsonl.code == 0, jsonl.stderr
    by_source = {line["source"]: line for line in jsonl.jsonl()}
    assert set(by_source) == {one, two}
    assert by_source[two]["result"]["transcription"]["full_transcript"] == " ".join(LINES[:2])
    assert list(by_source[two])[-1] == "source"  # the job as the API gave it, then its source

    text = _against(scripted, "transcribe", one, two, "-f", "text", "-q")
    assert sorted(text.stdout.splitlines()) == sorted(
        [f"{one}: alpha bravo", f"{two}: alpha bravo", f"{two}: charlie delta"]
    )

    listed = _against(scripted, "transcribe", "--from-list", "-", "-f", "text", "-q",
                      stdin=f"# a comment\n{one}\n".encode())  # fmt: skip
    assert listed.code == 0 and listed.stdout == f"{one}: alpha bravo\n", listed.stderr

    for fmt in ("srt", "json", "vtt"):
        refused = _against(scripted, "transcribe", one, two, "-f", fmt)
        assert refused.code == 2 and "--output-dir" in refused.stderr, refused.stderr
    skip = _against(scripted, "transcribe", one, two, "--skip-existing")
    assert skip.code == 2 and "add --output-dir DIR" in skip.stderr
    no_wait = _against(scripted, "transcribe", one, two, "--no-wait", "-d", str(tmp_path / "o"))
    assert no_wait.code == 2 and "--no-wait writes no transcript" in no_wait.stderr

    created = _against(scripted, "transcribe", one, two, "--no-wait")  # the ids, with sources
    assert created.code == 0, created.stderr
    ids = {line["source"]: line["id"] for line in created.jsonl()}
    assert set(ids) == {one, two} and {job["id"] for job in _jobs(scripted)} >= set(ids.values())


def _wait_for_lines(process: subprocess.Popen[str], needle: str, count: int) -> list[str]:
    assert process.stderr is not None
    seen: list[str] = []
    while sum(needle in line for line in seen) < count:
        line = process.stderr.readline()
        assert line, f"the CLI ended first: {seen}"
        seen.append(line)
    return seen


def test_ctrl_c_names_the_running_jobs_and_exits_130(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # Each job stays in processing for 60 s: the signal lands while both are waited for.
    with local_server(faults=Faults(slow_finish=60)) as server:
        process = subprocess.Popen(
            [*GLADIA, "transcribe", str(folder), "-j", "2", "-d", str(out), "-f", "text"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "GLADIA_API_KEY": KEY, "GLADIA_API_URL": server.url},
        )
        before = _wait_for_lines(process, "gladia: started ", 2)
        deadline = time.monotonic() + 30  # bounds a broken run only
        while sum(job["status"] == "processing" for job in _jobs(server)) < 2:
            assert time.monotonic() < deadline, "the two jobs never ran"
            time.sleep(0.05)
        running = {job["id"] for job in _jobs(server) if job["status"] == "processing"}
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=30)
        assert time.monotonic() - started < 10  # it does not wait for the jobs
        still = {job["id"] for job in _jobs(server) if job["status"] == "processing"}
    err = "".join(before) + rest
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert "stopping: 2 running job(s) are left to the server" in err
    named = {
        line.rsplit("gladia transcriptions get ", 1)[1].strip()
        for line in err.splitlines()
        if "goes on on the server: gladia transcriptions get " in line
    }
    assert named == running and still == running, err  # the server still runs them
    assert "stopped before every input was done: 2 stopped, 1 not started" in err
    assert list(out.iterdir()) == []  # nothing passes for done, no temporary file left


def test_a_429_on_submitting_queues_the_input_instead_of_failing(
    folder: Path, tmp_path: Path
) -> None:
    # One unfinished job at a time on this server, each held 3 s in processing: of the two
    # submitted at once, one is refused (429) and waits in the run's queue for the other.
    out = tmp_path / "out"
    with local_server(max_unfinished_jobs=1, faults=Faults(slow_finish=3)) as server:
        run = _against(server, "transcribe", str(folder / "one.wav"), str(folder / "two.wav"),
                       "-j", "2", "-d", str(out), "-f", "text")  # fmt: skip
    assert run.code == 0, run.stderr
    assert "the API refused another transcription (429)" in run.stderr
    assert "running 1 at a time" in run.stderr
    assert (out / "one.txt").read_text().splitlines() == EXPECTED["one"]
    assert (out / "two.txt").read_text().splitlines() == EXPECTED["two"]


def test_local_runs_every_job_on_one_embedded_server(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = run_cli("transcribe", str(folder), "-j", "3", "-d", str(out), "-f", "text", "--local",
                  "--local-engine", "scripted")  # fmt: skip
    assert run.code == 0, run.stderr
    for stem, lines in EXPECTED.items():
        assert (out / f"{stem}.txt").read_text().splitlines() == lines
