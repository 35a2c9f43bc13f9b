"""A live session's lag while pre-recorded jobs run on the same whisper server.

Per `--decoders` level, one `gladia serve --engine whisper --decoders N
--prerecorded-workers 2` process; on it, `gladia transcribe` of `--files` recordings of
`--seconds` each (tests/data/real, `--jobs 2`) is started, and one second later `gladia
file` streams a 30 s recording at the pace of speech. Reported: the live session's final
and partial lag (p50, p95, from its end-of-session summary) and the transcribe run's wall
time. `--alone` adds the same live session with no job running, as the baseline.

What it checks (issue 11): pre-recorded work must not stretch the live path's latency; the
decode queue serves live sessions' decodes before jobs' (server/recognition/decode_queue.py).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import _support
from _support import GLADIA, BenchmarkFailure, gladia_server, table
from batch import write_real_speech

LAG = re.compile(
    r"final lag p50 (?P<f50>[\d.]+ m?s) p95 (?P<f95>[\d.]+ m?s), "
    r"partial lag p50 (?P<p50>[\d.]+ m?s) p95 (?P<p95>[\d.]+ m?s)"
)


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "GLADIA_API_URL": url, "GLADIA_API_KEY": "bench"}


def measure(decoders: int, live: Path, jobs: list[Path], out: Path, *, alone: bool) -> list[object]:
    serve = ["--decoders", str(decoders), "--prerecorded-workers", "2"]
    with gladia_server("whisper", *serve) as server:
        started = time.monotonic()
        batch = None
        if not alone:
            command = ["transcribe", *map(str, jobs), "-j", "2", "-d", str(out), "-f", "text"]
            batch = subprocess.Popen(
                [GLADIA, *command, "-q"], env=_env(server.url), stderr=subprocess.PIPE, text=True
            )
            time.sleep(1.0)  # the jobs are under way when the live session starts
        session = subprocess.run(
            [GLADIA, "file", str(live), "-f", "text"],
            env=_env(server.url),
            capture_output=True,
            text=True,
            check=False,
        )
        wall = None
        if batch is not None:
            _, err = batch.communicate(timeout=3600)
            if batch.returncode != 0:
                raise BenchmarkFailure(f"transcribe exited {batch.returncode}: {err[-500:]}")
            wall = time.monotonic() - started
    found = LAG.search(session.stderr)
    if session.returncode != 0 or found is None:
        raise BenchmarkFailure(f"gladia file exited {session.returncode}: {session.stderr[-500:]}")
    return [
        decoders,
        "alone" if alone else f"{len(jobs)} jobs",
        found["f50"],
        found["f95"],
        found["p50"],
        found["p95"],
        "" if wall is None else f"{wall:.1f}",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_support.HelpFormatter)
    parser.add_argument("--files", type=int, default=4, help="pre-recorded jobs")
    parser.add_argument("--seconds", type=float, default=45.0, help="audio per job")
    parser.add_argument("--decoders", default="1,2", help="serve --decoders levels")
    parser.add_argument("--runs", type=int, default=2, help="runs per level")
    parser.add_argument("--alone", action="store_true", help="also the live session alone")
    options = parser.parse_args(argv)
    _support.exit_on_sigterm()
    rows = []
    with _support.temp_dir() as folder:
        live = folder / "live.wav"
        write_real_speech(live, 30, offset=0)
        jobs = []
        for index in range(options.files):
            path = folder / f"job{index}.wav"
            write_real_speech(path, options.seconds, offset=index + 1)
            jobs.append(path)
        for run in range(options.runs):
            for decoders in (int(n) for n in options.decoders.split(",")):
                for alone in (True, False) if options.alone else (False,):
                    out = folder / f"out-{decoders}-{run}"
                    rows.append(measure(decoders, live, jobs, out, alone=alone))
    headers = ["decoders", "beside", "final p50", "final p95", "partial p50", "partial p95"]
    print(f"live session of 30 s; jobs: {options.files} of {options.seconds:g} s, -j 2")
    print(table([*headers, "transcribe wall s"], rows))
    print(_support.load_note())
    return 0


if __name__ == "__main__":
    sys.exit(main())
