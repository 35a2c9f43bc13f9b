"""Shared pieces of the benchmarks: the server process, synthetic audio, tables, cleanup.

Not a benchmark itself. The scripts beside it import it as `_support` (running
`python benchmarks/NAME.py` puts this directory first on `sys.path`).
"""

from __future__ import annotations

import argparse
import math
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin: `gladia` lives beside `python`
GLADIA = str(BIN / "gladia")
RATE = 16000
SAMPLE_BYTES = 2
CHUNK_SECONDS = 0.1
CHUNK_BYTES = int(RATE * CHUNK_SECONDS) * SAMPLE_BYTES  # 3200: 100 ms of 16 kHz mono int16


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """--help shows the script's whole docstring as written, and every default."""


class BenchmarkFailure(Exception):
    """Something functional went wrong (a session did not finish, a process failed)."""


def exit_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so `finally` blocks clean up either way."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


@contextmanager
def temp_dir() -> Iterator[Path]:
    """A scratch directory, removed afterwards (also on Ctrl-C)."""
    with tempfile.TemporaryDirectory(prefix="gladia-bench-") as name:
        yield Path(name)


# --- the server ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerProcess:
    url: str
    pid: int


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGINT (a clean shutdown), then SIGKILL if it does not exit in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def gladia_server(
    engine: str = "scripted",
    *extra: str,
    command: Sequence[str] = (GLADIA,),
    cwd: Path | None = None,
    start_timeout: float = 30.0,
) -> Iterator[ServerProcess]:
    """`gladia serve --port 0` in its own process (its own GIL); yields its URL and pid.
    `command` and `cwd` run another checkout's code (`[its python, "-m", "gladia_cli"]`)."""
    with tempfile.TemporaryFile() as log:
        serve = ["serve", "--port", "0", "--engine", engine, "--log-level", "warning"]
        process = subprocess.Popen(
            [*command, *serve, *extra],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
        )
        try:
            url = _first_line(process, timeout=start_timeout)
            if not url.startswith("http://"):
                log.seek(0)
                raise BenchmarkFailure(
                    f"gladia serve did not start: {log.read().decode(errors='replace')[-2000:]}"
                )
            yield ServerProcess(url=url, pid=process.pid)
        finally:
            stop_process(process)
            if process.stdout is not None:
                process.stdout.close()


def _first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return process.stdout.readline().decode().strip()


# --- /proc --------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def process_memory(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in bytes: resident now, and its peak since the last exec; None once
    the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    values = {}
    for line in status.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    if len(values) < 2:
        return None  # a zombie: no memory left to show
    return values["VmRSS"], values["VmHWM"]


# --- synthetic audio ----------------------------------------------------------------------


def speech_like(seconds: float, *, seed: int = 0, rate: int = RATE) -> npt.NDArray[np.int16]:
    """Bursts of voiced-sounding audio (a few harmonics, a syllable-rate envelope, varying
    pitch) between pauses, over faint noise: enough for a VAD to find utterances, so an
    engine does real work. Deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    total = int(seconds * rate)
    audio = rng.normal(0.0, 0.0008, total)  # about -62 dBFS: silence to the VAD
    position = int(rng.uniform(0.1, 0.6) * rate)
    while position < total:
        length = min(int(rng.uniform(0.6, 2.5) * rate), total - position)
        t = np.arange(length) / rate
        pitch = rng.uniform(110.0, 260.0) * (1.0 + 0.08 * np.sin(2 * np.pi * 0.7 * t))
        phase = 2 * np.pi * np.cumsum(pitch) / rate
        voice = sum(np.sin(k * phase) / k for k in (1, 2, 3, 4))
        envelope = 0.55 + 0.45 * np.sin(2 * np.pi * rng.uniform(3.0, 5.0) * t) ** 2
        audio[position : position + length] += rng.uniform(0.08, 0.2) * voice * envelope
        position += length + int(rng.uniform(0.3, 1.2) * rate)
    pcm: npt.NDArray[np.int16] = np.clip(np.round(audio * 32767), -32768, 32767).astype(np.int16)
    return pcm


def write_speech_like_wav(path: Path, seconds: float, *, seed: int = 0) -> None:
    """A 16 kHz mono 16-bit WAV of `speech_like` audio, written a minute at a time."""
    block = 60.0
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_BYTES)
        out.setframerate(RATE)
        for index in range(math.ceil(seconds / block)):
            length = min(block, seconds - index * block)
            out.writeframes(speech_like(length, seed=seed + index).tobytes())


# --- figures ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), nearest-rank; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, numbers right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [all(_is_number(row[i]) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if is_num else cell.ljust(width)
            for cell, width, is_num in zip(row, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])


def _cell(value: object) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.3g}" if abs(value) < 0.01 and value else f"{value:,.2f}"
    return str(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_note() -> str:
    """The 1-minute load average against the core count: others' work skews figures."""
    one_minute = Path("/proc/loadavg").read_text().split()[0]
    return f"load average {one_minute} on {os.cpu_count()} cores"


def mib(size: float) -> float:
    return size / (1024 * 1024)


def elapsed(start: float) -> float:
    return time.monotonic() - start
