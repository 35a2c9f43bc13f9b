"""How glibc's mmap threshold changes a Whisper decode's time (issue 17: finals' latency).

Each arm is a fresh process that sets the threshold (`mallopt(M_MMAP_THRESHOLD, …)`, or
leaves glibc's own sliding one), loads Whisper base as the server does, and decodes the same
finals as the one-voice scene's (its first utterances, at fixed times) several times over,
like the live recogniser (`WhisperDecoder.final`, 15 s window, two threads). Printed per
arm: the median wall time of a final, CPU seconds (user, system) and minor page faults per
final. The page faults do not depend on the machine's load: a threshold under CTranslate2's
buffers (base's attention over a 15 s window is 8 × 750 × 750 floats, 18 MB) turns each of
them into a fresh mapping whose pages the kernel zeroes and faults in on every decode.

    .venv/bin/python benchmarks/malloc_threshold.py
    .venv/bin/python benchmarks/malloc_threshold.py --thresholds 65536,33554432 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import corpus
import soundfile as sf
from _support import HelpFormatter, table

ROOT = Path(__file__).resolve().parent.parent
# One-voice's first utterances (seconds, from a run of the scene): a spread of lengths.
UTTERANCES = ((0.3, 3.2), (5.0, 7.5), (8.9, 10.6), (12.0, 14.2), (15.0, 17.4), (18.2, 20.3))
DYNAMIC = 0  # glibc's own threshold, raised as mapped chunks are freed


def arm(threshold: int, trim: int, rounds: int) -> dict[str, float]:
    """In this process: set the threshold, load base, decode the finals `rounds` times."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from gladia_cli.server.recognition.engines.whisper_decoding import WhisperDecoder
    from gladia_cli.server.recognition.engines.whisper_models import load_model
    from gladia_cli.server.recognition.malloc_tuning import (
        M_TRIM_THRESHOLD,
        pin_mmap_threshold,
        set_malloc_option,
    )

    # The model loads as in `gladia serve` and `--local`, under the pinned 64 KiB (the
    # runner's), unless this arm is glibc's own sliding threshold; then the arm's.
    if threshold != DYNAMIC:
        assert pin_mmap_threshold()
    decoder = WhisperDecoder(load_model("base", cpu_threads=2, workers=2))
    if threshold != DYNAMIC:
        assert pin_mmap_threshold(threshold)
    if trim:
        assert set_malloc_option(M_TRIM_THRESHOLD, trim)
    pcm, rate = sf.read(corpus.CORPUS / "one-voice.wav", dtype="float32")
    pieces = [np.ascontiguousarray(pcm[round(s * rate) : round(e * rate)]) for s, e in UTTERANCES]
    decoder.final(pieces[0], language="en")  # warm-up: first-use allocations
    walls: list[float] = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(rounds):
        for piece in pieces:
            start = time.perf_counter()
            decoder.final(piece, language="en")
            walls.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_SELF)
    n = len(walls)
    return {
        "wall": statistics.median(walls),
        "user": (after.ru_utime - before.ru_utime) / n,
        "sys": (after.ru_stime - before.ru_stime) / n,
        "faults": (after.ru_minflt - before.ru_minflt) / n,
        "rss": after.ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument(
        "--thresholds",
        default="65536,1048576,4194304,33554432,0",
        help="bytes, comma-separated, each MMAP or MMAP/TRIM (M_TRIM_THRESHOLD too); "
        "0: glibc's sliding threshold",
    )
    parser.add_argument("--rounds", type=int, default=3, help="times each final is decoded")
    parser.add_argument("--arm", help=argparse.SUPPRESS)  # a child process: MMAP[/TRIM]
    args = parser.parse_args()
    if args.arm is not None:
        mmap, _, trim = args.arm.partition("/")
        print(json.dumps(arm(int(mmap), int(trim or 0), args.rounds)))
        return 0
    corpus.ensure()
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    rows = []
    for threshold in args.thresholds.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--arm", threshold, "--rounds", str(args.rounds)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        label = " / ".join(
            "glibc's sliding" if int(t) == DYNAMIC else f"{int(t) // 1024} KiB"
            for t in threshold.split("/")
        )
        rows.append(
            [
                label,
                f"{figures['wall']:.3f}",
                f"{figures['user']:.2f} + {figures['sys']:.2f}",
                f"{figures['faults']:.0f}",
                f"{figures['rss']:.0f}",
            ]
        )
    print(f"{len(UTTERANCES)} finals × {args.rounds} (load average {os.getloadavg()[0]:.2f})")
    header = [
        "mmap (/ trim) threshold",
        "final s (median)",
        "CPU s user + sys",
        "page faults",
        "RSS MiB",
    ]
    print(table(header, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
