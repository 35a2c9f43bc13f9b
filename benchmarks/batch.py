"""Many files: the live API at --pace max against the pre-recorded API, through one server.

N WAV files (16 kHz mono: speech-like audio, or with `--real` the recordings of
tests/data/real one after the other) go through one `gladia serve --engine E` process:

- live: `gladia file F --pace max -f text`, one process per file, `--jobs` of them at a time;
- pre-recorded: `gladia transcribe F… -f text`, the files split over `--jobs` processes,
  each doing its share one after the other (`serve --prerecorded-workers` = jobs).

Per run: wall time, audio seconds per wall second, server CPU seconds (from /proc) and
client CPU seconds (the children's rusage), and the cores used on average
((server + client CPU) / wall). The transcripts of both paths are compared file by file
(the scripted engine must give the same words either way). Target (issue 11): the
pre-recorded path is not slower than the live one and uses both cores.

When `gladia file` takes many inputs with `--jobs` (issue 11, point 1), the live side
should use it; until then it is one process per file, whose start-up (~0.2 s) is counted.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import _support
from _support import GLADIA, BenchmarkFailure, gladia_server, process_cpu_seconds, table


@dataclass(frozen=True)
class Outcome:
    mode: str
    jobs: int
    wall: float
    server_cpu: float
    client_cpu: float
    texts: dict[str, str]


def write_real_speech(path: Path, seconds: float, *, offset: int) -> None:
    """The English recordings of tests/data/real, from the `offset`-th on, cycling, cut to
    `seconds` (16 kHz mono, resampled where needed)."""
    import numpy as np
    import soundfile
    import soxr

    clips = sorted((_support.ROOT / "tests" / "data" / "real").glob("librivox_*.wav"))
    pieces, total, index = [], 0, offset
    while total < seconds * _support.RATE:
        audio, rate = soundfile.read(clips[index % len(clips)], dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        if rate != _support.RATE:
            mono = soxr.resample(mono, rate, _support.RATE)
        pieces.append(mono)
        total += len(mono)
        index += 1
    joined = np.concatenate(pieces)[: int(seconds * _support.RATE)]
    soundfile.write(path, joined, _support.RATE, subtype="PCM_16")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(args: Sequence[str], url: str) -> str:
    env = {**os.environ, "GLADIA_API_URL": url, "GLADIA_API_KEY": "bench"}
    done = subprocess.run(
        [GLADIA, *args], capture_output=True, text=True, env=env, check=False, timeout=3600
    )
    if done.returncode != 0:
        raise BenchmarkFailure(
            f"gladia {' '.join(args[:2])}… exited {done.returncode}: {done.stderr[-500:]}"
        )
    return done.stdout


def _split(files: list[Path], parts: int) -> list[list[Path]]:
    return [files[i::parts] for i in range(parts) if files[i::parts]]


def run_mode(mode: str, files: list[Path], jobs: int, engine: str) -> Outcome:
    extra = ["--prerecorded-workers", str(jobs), "--max-sessions", str(max(jobs, 1) * 2)]
    with gladia_server(engine, *extra) as server:
        server_before = process_cpu_seconds(server.pid)
        client_before = _children_cpu()
        started = time.monotonic()
        texts: dict[str, str] = {}
        with ThreadPoolExecutor(jobs) as pool:
            if mode == "live":
                outputs = pool.map(
                    lambda f: (
                        f.name,
                        _run(["file", str(f), "--pace", "max", "-f", "text", "-q"], server.url),
                    ),
                    files,
                )
                texts.update(outputs)
            else:

                def share(part: list[Path]) -> list[tuple[str, str]]:
                    # One process for its share; -f jsonl to tell the files' texts apart.
                    import json

                    out = _run(["transcribe", *map(str, part), "-f", "jsonl", "-q"], server.url)
                    jobs_done = [json.loads(line) for line in out.splitlines()]
                    return [
                        (
                            job["file"]["filename"],
                            "\n".join(
                                u["text"].strip()
                                for u in job["result"]["transcription"]["utterances"]
                            )
                            + "\n",
                        )
                        for job in jobs_done
                    ]

                for pairs in pool.map(share, _split(files, jobs)):
                    texts.update(pairs)
        wall = time.monotonic() - started
        server_cpu = process_cpu_seconds(server.pid) - server_before
        # Read while the server runs: once it is stopped (and waited for), the children's
        # rusage counts it too.
        client_cpu = _children_cpu() - client_before
    return Outcome(mode, jobs, wall, server_cpu, client_cpu, texts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=_support.HelpFormatter)
    parser.add_argument("--files", type=int, default=20, help="how many files")
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per file")
    parser.add_argument("--jobs", default="1,2,4", help="concurrency levels, comma-separated")
    parser.add_argument("--engine", default="scripted", help="the server's engine")
    parser.add_argument(
        "--real", action="store_true", help="real speech (tests/data/real), for whisper"
    )
    options = parser.parse_args(argv)
    _support.exit_on_sigterm()
    levels = [int(j) for j in options.jobs.split(",")]
    audio_seconds = options.files * options.seconds
    rows = []
    failures = []
    with _support.temp_dir() as folder:
        files = []
        for index in range(options.files):
            path = folder / f"talk{index:02d}.wav"
            if options.real:
                write_real_speech(path, options.seconds, offset=index)
            else:
                _support.write_speech_like_wav(path, options.seconds, seed=index)
            files.append(path)
        for jobs in levels:
            outcomes = {
                mode: run_mode(mode, files, jobs, options.engine)
                for mode in ("live", "pre-recorded")
            }
            live, batch = outcomes["live"], outcomes["pre-recorded"]
            if options.engine == "scripted" and live.texts != batch.texts:
                failures.append(f"--jobs {jobs}: the two paths gave different transcripts")
            for outcome in (live, batch):
                rows.append(
                    [
                        outcome.mode,
                        outcome.jobs,
                        outcome.wall,
                        audio_seconds / outcome.wall,
                        outcome.server_cpu,
                        outcome.client_cpu,
                        (outcome.server_cpu + outcome.client_cpu) / outcome.wall,
                    ]
                )
            verdict = "met" if batch.wall <= live.wall else "MISSED"
            compared = f"pre-recorded {batch.wall:.1f} s vs live {live.wall:.1f} s"
            print(f"--jobs {jobs}: {compared}: {verdict}", file=sys.stderr)
    print(
        f"{options.files} files of {options.seconds:g} s ({audio_seconds:g} s of audio), "
        f"engine {options.engine}"
    )
    print(
        table(
            [
                "mode",
                "jobs",
                "wall s",
                "audio s / wall s",
                "server CPU s",
                "client CPU s",
                "cores used",
            ],
            rows,
        )
    )
    print(_support.load_note())
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
