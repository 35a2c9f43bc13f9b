"""Throughput of `gladia mix`'s interleaving, against a per-sample Python loop and against
memory speed.

Target (design.md): interleaving runs at memory speed (vectorised), not per sample.

How: `--channels` mono int16 tracks of `--seconds` at `--rate` are interleaved into one
(frames, channels) array, three ways:

- `interleave`: gladia_cli.audio.mix_source.interleave on the whole tracks, and again in
  100 ms blocks as `gladia mix` calls it while streaming (per-call overhead included);
- a plain Python loop, one sample at a time, on the first `--loop-seconds` only (it is
  that slow), its throughput extrapolated to the whole;
- `copy`: a numpy copy of an array of the same size (the same bytes read and written):
  what this machine's memory allows, the ceiling.

Each is timed `--runs` times; the best run counts (the least disturbed by other load).
Throughput is in MB/s of interleaved output and in samples/s. Printed last: how many
times faster `interleave` is than the loop, and what fraction of memory speed it reaches.

    .venv/bin/python benchmarks/interleave.py
    .venv/bin/python benchmarks/interleave.py --channels 8 --rate 16000 --seconds 600
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from _support import HelpFormatter, exit_on_sigterm, load_note, table

from gladia_cli.audio.mix_source import interleave

Tracks = list[npt.NDArray[np.int16]]


def python_loop(tracks: Tracks) -> npt.NDArray[np.int16]:
    """Interleave one sample at a time: what vectorising avoids."""
    frames, channels = len(tracks[0]), len(tracks)
    out = np.empty((frames, channels), dtype=np.int16)
    flat = out.reshape(-1)
    for i in range(frames):
        for c in range(channels):
            flat[i * channels + c] = tracks[c][i]
    return out


def in_blocks(tracks: Tracks, block: int) -> list[npt.NDArray[np.int16]]:
    """`interleave` called once per streaming block, as MixSource does."""
    return [
        interleave([t[start : start + block] for t in tracks])
        for start in range(0, len(tracks[0]), block)
    ]


def best_time(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--channels", type=int, default=3, help="tracks to interleave")
    parser.add_argument("--rate", type=int, default=48000, help="sample rate (Hz)")
    parser.add_argument("--seconds", type=float, default=120.0, help="length of each track")
    parser.add_argument(
        "--loop-seconds", type=float, default=1.0, help="length the Python loop is timed on"
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each method")
    args = parser.parse_args(argv)
    exit_on_sigterm()

    rng = np.random.default_rng(0)
    frames = int(args.rate * args.seconds)
    tracks: Tracks = [
        rng.integers(-32768, 32767, frames, dtype=np.int16) for _ in range(args.channels)
    ]
    total_samples = frames * args.channels
    total_bytes = total_samples * 2
    loop_frames = int(args.rate * args.loop_seconds)
    loop_tracks = [t[:loop_frames] for t in tracks]
    same_size = np.concatenate(tracks)  # the bytes of the output, in one contiguous array
    copy_target = np.empty_like(same_size)

    # Correctness first: every method gives the same bytes.
    expected = np.stack(loop_tracks, axis=1)
    assert np.array_equal(interleave(loop_tracks), expected)
    assert np.array_equal(python_loop(loop_tracks), expected)
    assert np.array_equal(np.concatenate(in_blocks(loop_tracks, args.rate // 10)), expected)

    whole = best_time(lambda: interleave(tracks), args.runs)
    blocks = best_time(lambda: in_blocks(tracks, args.rate // 10), args.runs)
    copy = best_time(lambda: np.copyto(copy_target, same_size), args.runs)
    loop = best_time(lambda: python_loop(loop_tracks), max(1, args.runs // 2))
    loop_whole = loop * frames / loop_frames  # extrapolated

    def row(name: str, seconds: float, note: str = "") -> list[object]:
        return [
            name,
            f"{seconds * 1000:.1f}",
            f"{total_bytes / seconds / 1e6:,.0f}",
            f"{total_samples / seconds / 1e6:,.1f}",
            note,
        ]

    print(
        f"{args.channels} tracks × {args.seconds:g} s at {args.rate} Hz: "
        f"{total_samples / 1e6:.1f} M samples, {total_bytes / 1e6:.1f} MB interleaved; "
        f"best of {args.runs} runs. {load_note()}"
    )
    print(
        table(
            ["method", "ms", "MB/s", "M samples/s", ""],
            [
                row("interleave (whole)", whole),
                row("interleave (100 ms blocks)", blocks, f"{frames // (args.rate // 10)} calls"),
                row("numpy copy, same bytes", copy, "memory speed"),
                row(
                    "Python loop per sample",
                    loop_whole,
                    f"timed on {args.loop_seconds:g} s, extrapolated",
                ),
            ],
        )
    )
    print(f"interleave vs Python loop: {loop_whole / whole:,.0f}× faster")
    print(f"interleave vs memory speed: {copy / whole:.2f} of a plain copy's throughput")
    print(f"interleave in 100 ms blocks vs memory speed: {copy / blocks:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
