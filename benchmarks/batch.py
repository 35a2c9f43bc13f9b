"""Many files: the live API at --pace max against the pre-recorded API, through one server.

N WAV files (16 kHz mono: speech-like audio, or with `--real` the recordings of
tests/data/real one after the other) go through one `gladia serve --engine E` process:

- live: one `gladia file F… --jobs J --pace max -d DIR -f text` run;
- pre-recorded: one `gladia transcribe F… --jobs J -d DIR -f text` run
  (`serve --prerecorded-workers` = J unless `--prerecorded-workers` says otherwise).

Per run: wall time, audio seconds per wall second, server CPU seconds (from /proc) and
client CPU seconds (the children's rusage), and the cores used on average
((server + client CPU) / wall, user + sys). The transcripts of both paths are compared
file by file (the scripted engine must give the same words either way). Target (issue 11):
the pre-recorded path is not slower than the live one and uses both cores. `--decoders`
and `--prerecorded-workers` are passed to `gladia serve` (whisper decodes at once, jobs
transcribed at once), to see what it takes to use both cores.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
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


def _run(args: Sequence[str], url: str) -> None:
    env = {**os.environ, "GLADIA_API_URL": url, "GLADIA_API_KEY": "bench"}
    done = subprocess.run(
        [GLADIA, *args], capture_output=True, text=True, env=env, check=False, timeout=3600
    )
    if done.returncode != 0:
        raise BenchmarkFailure(
            f"gladia {' '.join(args[:1])}… exited {done.returncode}: {done.stderr[-500:]}"
        )


def run_mode(
    mode: str, files: list[Path], jobs: int, engine: str, serve: Sequence[str], out: Path
) -> Outcome:
    extra = ["--max-sessions", str(max(jobs, 1) * 2), *serve]
    if "--prerecorded-workers" not in serve:
        extra += ["--prerecorded-workers", str(jobs)]
    command = (
        ["file", "--pace", "max"] if mode == "live" else ["transcribe"]
    )  # one run over every file, --jobs at a time (jobs/stream_many.py)
    folder = out / f"{mode}-{jobs}"
    with gladia_server(engine, *extra) as server:
        server_before = process_cpu_seconds(server.pid)
        client_before = _children_cpu()
        started = time.monotonic()
        _run([*command, *map(str, files), "--jobs", str(jobs), "-d", str(folder), "-f", "text",
              "-q"], server.url)  # fmt: skip
        wall = time.monotonic() - started
        server_cpu = process_cpu_seconds(server.pid) - server_before
        # Read while the server runs: once it is stopped (and waited for), the children's
        # rusage counts it too.
        client_cpu = _children_cpu() - client_before
    texts = {f.name: (folder / f"{f.stem}.txt").read_text() for f in files}
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
    parser.add_argument("--decoders", type=int, help="gladia serve --decoders (whisper)")
    parser.add_argument(
        "--prerecorded-workers", type=int, help="gladia serve --prerecorded-workers (default: jobs)"
    )
    parser.add_argument("--modes", default="live,pre-recorded", help="which paths to run")
    options = parser.parse_args(argv)
    serve = [
        *(["--decoders", str(options.decoders)] if options.decoders else []),
        *(
            ["--prerecorded-workers", str(options.prerecorded_workers)]
            if options.prerecorded_workers
            else []
        ),
    ]
    modes = options.modes.split(",")
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
                mode: run_mode(mode, files, jobs, options.engine, serve, folder) for mode in modes
            }
            for outcome in outcomes.values():
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
            if len(outcomes) < 2:
                continue
            live, batch = outcomes["live"], outcomes["pre-recorded"]
            if options.engine == "scripted" and live.texts != batch.texts:
                failures.append(f"--jobs {jobs}: the two paths gave different transcripts")
            verdict = "met" if batch.wall <= live.wall else "MISSED"
            compared = f"pre-recorded {batch.wall:.1f} s vs live {live.wall:.1f} s"
            print(f"--jobs {jobs}: {compared}: {verdict}", file=sys.stderr)
    print(
        f"{options.files} files of {options.seconds:g} s ({audio_seconds:g} s of audio), "
        f"engine {options.engine}" + (f", serve {' '.join(serve)}" if serve else "")
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
