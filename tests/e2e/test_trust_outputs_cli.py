"""Issue 18, item 7 (a full disk) and issue 19, item 6 (`-o` on failure). A full disk was
"unexpected OSError … report it" (exit 1) for every input, `.partial` files filled what was
left, and `-o`/stdout left a truncated file under the final name; `-o` after a failure left
a normal-looking file. Now an output is written aside and renamed only with exit 0, and a
full disk is one line naming the file and the space it needed (exit 5, 4 for the server's).

The full disk is a small tmpfs when the test may mount one (root; skipped otherwise), and
always a file-size limit (RLIMIT_FSIZE: writes past it fail with EFBIG, as on a full disk).
"""

from __future__ import annotations

import os
import re
import resource
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import Run, run_cli
from tests.hostile import HostileLiveServer, Lies
from tests.support import GLADIA, KEY, serve_process, tone_bursts

TEMPS = re.compile(r"^\..+\.gladia-[0-9a-f]{8}-\d+-[0-9a-f]{8}\.tmp$")


@pytest.fixture(scope="module")
def bursts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audio") / "bursts.wav"
    audio = tone_bursts([(0.3 + 1.2 * k, 0.8, 0) for k in range(4)], total=5.2)
    sf.write(path, audio, 16000, subtype="PCM_16")
    return path


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 KiB tmpfs."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill_but_a_page(disk: Path) -> None:
    stats = os.statvfs(disk)
    (disk / "filler").write_bytes(bytes(stats.f_bavail * stats.f_frsize - 4096))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TEMPS.match(p.name) or ".partial" in p.name)


def _limited(*args: str, max_bytes: int, url: str, stdout: int | None = None) -> Run:
    """`gladia ARGS` whose files may not grow past `max_bytes` (RLIMIT_FSIZE)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    env = {
        **os.environ,
        "GLADIA_API_KEY": KEY,
        "GLADIA_API_URL": url,
        "XDG_CONFIG_HOME": "/nonexistent",
        "NO_COLOR": "1",
    }
    done = subprocess.run(
        [*GLADIA, *args],
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=limit,
        timeout=90,
        check=False,
    )
    out = done.stdout.decode() if done.stdout else ""
    return Run(done.returncode, out, done.stderr.decode())


def _one_line(run: Run, code: int, *parts: str) -> None:
    assert run.code == code, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("gladia: error:")]
    assert len(errors) == 1, run.stderr
    for part in parts:
        assert part in errors[0], run.stderr
    assert "Traceback" not in run.stderr and "unexpected" not in run.stderr


# --- a full disk ---------------------------------------------------------------------------


def test_a_full_disk_under_o_is_one_line_and_leaves_no_file(
    scripted: LocalServer, bursts: Path, tiny_disk: Path
) -> None:
    out = tiny_disk / "out.jsonl"
    out.write_text("an earlier run's whole result\n")
    _fill_but_a_page(tiny_disk)
    run = run_cli("file", str(bursts), "--pace", "max", "-f", "jsonl", "--events", "all",
                  "-o", str(out), "--api-url", scripted.url)  # fmt: skip
    _one_line(run, 5, f"no space left on the device to write {out}", "more bytes were needed")
    assert "nothing was kept" in run.stderr
    assert out.read_text() == "an earlier run's whole result\n"  # never replaced by a stub
    assert _leftovers(tiny_disk) == []


def test_a_full_disk_under_a_file_size_limit_is_the_same(
    scripted: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    run = _limited("file", str(bursts), "--pace", "max", "-f", "jsonl", "--events", "all",
                   "-o", str(out), max_bytes=4000, url=scripted.url)  # fmt: skip
    _one_line(run, 5, f"no space left on the device to write {out}")
    assert not out.exists() and _leftovers(tmp_path) == []


def test_stdout_to_a_full_disk_names_the_file(
    scripted: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "redirected.jsonl"
    with out.open("wb") as redirected:
        run = _limited("file", str(bursts), "--pace", "max", "-f", "jsonl", "--events", "all",
                       max_bytes=4000, url=scripted.url, stdout=redirected.fileno())  # fmt: skip
    _one_line(run, 5, f"no space left on the device to write {out}")
    assert "holds the first" in run.stderr  # the shell made the file: it says what it holds


def test_many_inputs_on_a_full_disk_stop_at_the_first(
    scripted: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a", "b", "c"):
        (inputs / f"{name}.wav").write_bytes(bursts.read_bytes())
    out = tmp_path / "out"
    run = _limited("file", str(inputs), "-d", str(out), "-j", "1", "--pace", "max",
                   "-f", "jsonl", "--events", "all", max_bytes=4000, url=scripted.url)  # fmt: skip
    assert run.code == 5, run.stderr
    assert "no space left on the device to write" in run.stderr
    assert "2 not started" in run.stderr
    assert list(out.iterdir()) == []  # no final, no .partial, no temporary file


def test_the_servers_full_disk_is_a_server_error(bursts: Path, tiny_disk: Path) -> None:
    big = tiny_disk.parent / "big.wav"
    sf.write(big, tone_bursts([(0.5, 1.0, 0)], total=30.0), 16000, subtype="PCM_16")
    with serve_process("--engine", "scripted", env={"TMPDIR": str(tiny_disk)}) as url:
        _fill_but_a_page(tiny_disk)
        run = run_cli("transcribe", str(big), "--api-url", url)
    _one_line(run, 4, "the server's storage is full (507)")


# --- -o is complete or .partial (issue 19, item 6) ------------------------------------------


def test_o_after_a_failure_is_partial(bursts: Path, tmp_path: Path) -> None:
    out = tmp_path / "fail.srt"
    with HostileLiveServer(Lies(acks_up_to=50_000, stop_ack=False, end_messages=False)) as api:
        run = run_cli("file", str(bursts), "--pace", "max", "-o", str(out), "--api-url", api.url)
    assert run.code == 4, run.stderr
    assert not out.exists()
    leftovers = _leftovers(tmp_path)
    assert leftovers in ([], ["fail.srt.partial"]), leftovers
    assert not any(TEMPS.match(name) for name in leftovers)


def test_o_after_success_is_the_final_name_only(
    scripted: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    (tmp_path / "talk.txt.partial").write_text("from an earlier failed run\n")
    out = tmp_path / "talk.txt"
    run = run_cli("file", str(bursts), "--pace", "max", "-o", str(out), "--api-url", scripted.url)
    assert run.code == 0, run.stderr
    assert out.read_text().strip()
    assert _leftovers(tmp_path) == []  # the old .partial went with the whole result


def test_o_to_a_pipe_writes_to_it_and_leaves_it_a_pipe(
    scripted: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    """Not a regular file (a FIFO here; /dev/null alike): written to as it is, never renamed
    over (a rename would replace the device with a file)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    run = run_cli("file", str(bursts), "--pace", "max", "-f", "text", "-o", str(fifo),
                  "--api-url", scripted.url)  # fmt: skip
    reader.join(10)
    assert run.code == 0, run.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and got and got[0].strip()
    assert _leftovers(tmp_path) == []


def test_o_through_a_symbolic_link_writes_the_file_it_names(
    scripted: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old\n")
    real.chmod(0o600)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    run = run_cli("file", str(bursts), "--pace", "max", "-o", str(link), "--api-url", scripted.url)
    assert run.code == 0, run.stderr
    assert link.is_symlink() and real.read_text().strip() != "old"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600  # the file's permissions kept
