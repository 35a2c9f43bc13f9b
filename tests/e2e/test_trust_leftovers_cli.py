"""Issue 18, item 8 (leftovers): `kill -9` of a many-input run left hidden temporary files
that no later run removed. Now their names carry this machine and the process
(render/staged_file.py), and a run removes, in the folders it writes to, those whose
process is gone — only those."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import soundfile as sf

from gladia_cli.render.staged_file import HOST, TEMP
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import run_cli
from tests.support import GLADIA, KEY, tone_bursts


def _inputs(folder: Path, count: int) -> Path:
    folder.mkdir()
    audio = tone_bursts([(0.3 + 1.2 * k, 0.8, 0) for k in range(4)], total=5.2)
    for n in range(count):
        sf.write(folder / f"talk{n}.wav", audio, 16000, subtype="PCM_16")
    return folder


def _temps(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if TEMP.match(p.name))


def test_a_run_removes_what_a_killed_run_left_and_nothing_else(
    scripted: LocalServer, tmp_path: Path
) -> None:
    inputs = _inputs(tmp_path / "in", 4)
    out = tmp_path / "out"
    env = {
        **os.environ,
        "GLADIA_API_KEY": KEY,
        "GLADIA_API_URL": scripted.url,
        "XDG_CONFIG_HOME": "/nonexistent",
    }
    killed = subprocess.Popen(
        [*GLADIA, "file", str(inputs), "-d", str(out), "-j", "2", "-f", "text"],  # real time
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (out.is_dir() and len(_temps(out)) == 2):
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    left = _temps(out)
    assert len(left) == 2, sorted(p.name for p in out.iterdir())
    assert all(TEMP.match(p.name)["pid"] == str(killed.pid) for p in left)  # type: ignore[index]

    # Not ours to remove: a live process's (this test's), another machine's, an old name.
    alive = out / f".talk0.txt.gladia-{HOST}-{os.getpid()}-0123abcd.tmp"
    other_host = "0" * 8 if HOST != "0" * 8 else "1" * 8
    elsewhere = out / f".talk1.txt.gladia-{other_host}-{killed.pid}-0123abcd.tmp"
    unknown = out / ".talk2.txt.k1ll3d.tmp"
    for path in (alive, elsewhere, unknown):
        path.write_text("not the run's to remove\n")

    run = run_cli("file", str(inputs), "-d", str(out), "--pace", "max", "-f", "text",
                  env={"GLADIA_API_URL": scripted.url})  # fmt: skip
    assert run.code == 0, run.stderr
    assert "removed 2 temporary files that an earlier run, killed, left" in run.stderr
    assert not any(path.exists() for path in left)
    assert alive.exists() and elsewhere.exists() and unknown.exists()
    assert sorted(p.name for p in out.glob("*.txt")) == [f"talk{n}.txt" for n in range(4)]


def test_a_single_o_removes_its_folders_stale_files_too(
    scripted: LocalServer, tmp_path: Path
) -> None:
    talk = _inputs(tmp_path / "in", 1) / "talk0.wav"
    gone = subprocess.Popen(["true"])  # a process that is gone: its pid is free
    gone.wait()
    stale = tmp_path / f".talk.txt.gladia-{HOST}-{gone.pid}-0123abcd.tmp"
    stale.write_text("half a transcript\n")
    run = run_cli("file", str(talk), "--pace", "max", "-o", str(tmp_path / "talk.txt"),
                  env={"GLADIA_API_URL": scripted.url})  # fmt: skip
    assert run.code == 0, run.stderr
    assert not stale.exists()
    assert (tmp_path / "talk.txt").exists()
