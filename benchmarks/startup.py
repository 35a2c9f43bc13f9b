"""Start-up time of `gladia --help`, `gladia version` and `gladia file --help`, and what
they import.

Targets: each within 1.5x a bare `python -c 'import typer, rich'` (median against median:
what any Typer program pays before its own code; issue 20), and under 150 ms median
(design.md). The ratio is the target that holds on a loaded machine: both sides slow
down alike; the milliseconds are shown with the load beside them.

How: each command runs `--runs` times (default 21) as a subprocess with stdout to
/dev/null (stderr kept, to show a failure), the commands taking turns so that a burst of
background load hits them alike, after `--warmup` untimed runs of each (cold disk caches
are not what this is about). The time is the wall time from spawn to exit; the best run
is shown beside the median (the best is the least disturbed by other work). `python -c
pass` with the same interpreter is the floor: what any Python program costs here. Then
each help command runs once more under `python -X importtime`: the top-level imports that
cost the most (cumulative) are listed, then for each heavy package (numpy, requests,
pydantic, rich…) whether it was loaded, how many of its modules, their own import time,
and the chain of modules that first imported it, so that a regression can be traced to
its cause. (importtime inflates the times it reports; compare them with each other, not
with the medians.)

Exit status 1 when a command fails (a missed target is reported, not an exit status:
figures on a shared machine are for people to read).

    .venv/bin/python benchmarks/startup.py
    .venv/bin/python benchmarks/startup.py --runs 5 --top 10
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from _support import GLADIA, HelpFormatter, exit_on_sigterm, load_note, median, percentile, table

TARGET_MS = 150.0
TARGET_RATIO = 1.5
HEAVY = (
    "numpy",
    "requests",
    "urllib3",
    "websocket",
    "soundfile",
    "sounddevice",
    "soxr",
    "aiohttp",
    "pocketsphinx",
    "faster_whisper",
    "ctranslate2",
    "onnxruntime",
    "pydantic",
    "pydantic_core",
    "rich",
    "markdown_it",
    "pygments",
    "typer",
    "gladiaio_sdk",
)


@dataclass(frozen=True)
class Command:
    label: str
    argv: tuple[str, ...]
    has_target: bool


FLOOR = Command("python -c pass (floor)", (sys.executable, "-c", "pass"), False)
BASELINE = Command(
    "import typer, rich (baseline)", (sys.executable, "-c", "import typer, rich"), False
)
GLADIA_COMMANDS = (
    Command("gladia --help", (GLADIA, "--help"), True),
    Command("gladia version", (GLADIA, "version"), True),
    Command("gladia file --help", (GLADIA, "file", "--help"), True),
)
COMMANDS = (FLOOR, BASELINE, *GLADIA_COMMANDS)


def time_once(argv: Sequence[str]) -> float:
    """Milliseconds from spawn to exit; raises if the command fails."""
    start = time.perf_counter()
    completed = subprocess.run(
        argv,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    took = (time.perf_counter() - start) * 1000
    if completed.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv)} exited with {completed.returncode}: "
            f"{completed.stderr.decode(errors='replace')[-800:]}"
        )
    return took


@dataclass(frozen=True)
class Import:
    module: str
    self_us: int
    cumulative_us: int
    depth: int


def import_times(argv: Sequence[str]) -> list[Import]:
    """Every import of the command, from `python -X importtime` (the script run by the
    venv's interpreter, as its console script would)."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    completed = subprocess.run(
        [sys.executable, *argv],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} under -X importtime failed")
    imports = []
    for line in completed.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        imports.append(Import(name.strip(), int(self_us), int(cumulative_us), depth))
    return imports


def import_chain(imports: list[Import], index: int) -> list[str]:
    """Who imported `imports[index]`, outermost last. importtime prints a module after
    everything it imported, so its importer is the next line one level up."""
    chain = []
    depth = imports[index].depth
    for later in imports[index + 1 :]:
        if later.depth < depth:
            chain.append(later.module)
            depth = later.depth
    return chain


def collapse(chain: Iterable[str]) -> list[str]:
    """One module per package along an import chain: the one through which it was entered
    (`pydantic.version <- pydantic <- typer._adapters` becomes `pydantic <- typer._adapters`)."""
    out: list[str] = []
    for module in chain:
        if out and out[-1].split(".")[0] == module.split(".")[0]:
            out[-1] = module
        else:
            out.append(module)
    return out


def report_imports(label: str, imports: list[Import], top: int) -> None:
    total_ms = sum(i.self_us for i in imports) / 1000
    print(f"{label}: {len(imports)} modules imported, {total_ms:.0f} ms of import time in all")
    # Depth 0: what the program imported itself; their cumulative times include the rest.
    roots = sorted((i for i in imports if i.depth == 0), key=lambda i: -i.cumulative_us)
    print(
        table(
            ["top-level import", "cumulative ms", "self ms"],
            [[i.module, i.cumulative_us / 1000, i.self_us / 1000] for i in roots[:top]],
        )
    )
    rows = []
    for name in HEAVY:
        mine = [i for i in imports if i.module.split(".")[0] == name]
        index = next((k for k, i in enumerate(imports) if i.module == name), None)
        if not mine or index is None:
            rows.append([name, "no", "", ""])
            continue
        chain = collapse(c for c in import_chain(imports, index) if c.split(".")[0] != name)
        rows.append(
            [
                name,
                len(mine),
                sum(i.self_us for i in mine) / 1000,
                " <- ".join(chain[:3]) or "(the program)",
            ]
        )
    print()
    print(table(["heavy package", "modules", "self ms, all modules", "first imported by"], rows))
    print()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--runs", type=int, default=21, help="timed runs per command")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs per command first")
    parser.add_argument("--top", type=int, default=15, help="imports listed per command")
    parser.add_argument("--skip-imports", action="store_true", help="skip the importtime part")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    exit_on_sigterm()
    times: dict[str, list[float]] = {c.label: [] for c in COMMANDS}
    load = load_note()
    try:
        for _ in range(args.warmup):
            for command in COMMANDS:
                time_once(command.argv)
        for _ in range(args.runs):
            for command in COMMANDS:
                times[command.label].append(time_once(command.argv))
    except RuntimeError as exc:
        print(f"failure: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    floor = median(times[FLOOR.label])
    baseline = median(times[BASELINE.label])
    best_baseline = min(times[BASELINE.label])
    rows = []
    for command in COMMANDS:
        values = times[command.label]
        middle = median(values)
        ratio = middle / baseline
        ratio_verdict = ms_verdict = ""
        if command.has_target:
            ratio_verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
            ms_verdict = "met" if middle < TARGET_MS else "MISSED"
        rows.append(
            [
                command.label,
                middle,
                min(values),
                percentile(values, 90),
                max(values),
                middle - floor,
                f"{ratio:.2f}x",
                f"{min(values) / best_baseline:.2f}x",
                ratio_verdict,
                ms_verdict,
            ]
        )
    print(
        f"== Start-up, {args.runs} runs each ({args.warmup} warm-up runs first), wall ms "
        f"({load}; at the end: {load_note()})"
    )
    print(
        table(
            [
                "command",
                "median",
                "best",
                "p90",
                "max",
                "median - floor",
                "median / baseline",
                "best / best",
                f"<= {TARGET_RATIO:g}x",
                f"< {TARGET_MS:g} ms",
            ],
            rows,
        )
    )
    print()
    if args.skip_imports:
        return 0
    print("== What --help imports (python -X importtime; its own overhead inflates the times)")
    try:
        for command in GLADIA_COMMANDS:
            report_imports(command.label, import_times(command.argv), args.top)
    except RuntimeError as exc:
        print(f"failure: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
