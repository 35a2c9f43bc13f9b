"""Whether Whisper decodes run in parallel: CTranslate2 releases the GIL while it computes.

The whisper engine shares one model among every session from several threads, which only
pays if the GIL is released during `encode`/`generate`. This times N encodes of a 30 s
window on one thread, then N on each of two threads at once (model loaded with two
workers of one thread each: `--decoders 2`), and counts how far a pure-Python loop on
another thread gets during the encodes (it would stall if the GIL were held).

    .venv/bin/python benchmarks/whisper_threads.py --model tiny.en --encodes 4
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import numpy as np
from _support import ROOT, HelpFormatter, load_note

sys.path.insert(0, str(ROOT))
from gladia_cli.server.recognition.engines.whisper_models import load_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--encodes", type=int, default=4)
    args = parser.parse_args()
    print(f"whisper threads ({load_note()})")
    model = load_model(args.model, cpu_threads=1, workers=2)
    features = np.random.default_rng(0).standard_normal((80, 3000)).astype(np.float32) * 0.1
    model.encode(features)  # warm-up

    def encodes() -> None:
        for _ in range(args.encodes):
            model.encode(features)

    started = time.perf_counter()
    encodes()
    one = time.perf_counter() - started
    threads = [threading.Thread(target=encodes) for _ in range(2)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    two = time.perf_counter() - started

    count, stop = [0], threading.Event()

    def spin() -> None:
        while not stop.is_set():
            count[0] += 1

    spinner = threading.Thread(target=spin)
    started = time.perf_counter()
    spinner.start()
    time.sleep(0.5)
    stop.set()
    spinner.join()
    alone = count[0] / (time.perf_counter() - started)
    count[0] = 0
    stop.clear()
    spinner = threading.Thread(target=spin)
    started = time.perf_counter()
    spinner.start()
    encodes()
    stop.set()
    spinner.join()
    during = count[0] / (time.perf_counter() - started)
    print(f"{args.encodes} encodes on one thread: {one:.2f} s")
    print(
        f"{args.encodes} encodes on each of two threads at once: {two:.2f} s "
        f"(overlap: {2 * one / two:.2f}× the work of one thread in the same time)"
    )
    print(f"a Python loop on another thread: {during / alone:.0%} of its speed during encodes")
    print(f"({load_note()} at the end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
