"""Scenes of real voices run the way users run them: `engines.py --scenes` (issue 17).

Each scene is the real CLI as a subprocess on a file of the real-voice corpus
(benchmarks/corpus.py, built on first use into benchmarks/.corpus/):

    gladia file X.wav        --local --pace realtime|max -f jsonl --events all
    gladia mix a.wav b.wav c.wav --local --pace realtime -f jsonl --events all
    (or --api-url URL against a separate `gladia serve --engine whisper`)

Its stdout is read as it comes, every line stamped with its arrival time; the figures
are computed from those lines by scene_figures.py (its docstring says how a latency is
measured and why). Per run: exit code, reconnects (the CLI's stderr notices), final
latency after the end of speech p50/p90 (and on the speech clock, real-time scenes),
the first vs the last minute (does it grow?), first-partial latency, finals after a
forced cut apart, WER per channel with Gladia's normaliser (gladia-normalization) and
with tests/wer.py's, whether the transcript is the same as the quiet `max` run's, CPU
seconds (the CLI's rusage, its children included, plus the separate server's from
/proc) and peak RSS (VmHWM of every process of the tree, sampled every 0.5 s, added up),
and the machine's load average (the highest 1-minute figure seen during the run).

| scene | what runs | compared with |
| --- | --- | --- |
| one-voice | `file one-voice.wav --local --pace realtime` (45 s, English) | |
| meeting-turns | `mix` of three voices taking turns, `--local --pace realtime` (5 min) | |
| meeting-overlap | `mix` of three voices talking at once, `--local --pace realtime` (5 min) | |
| french / spanish | `file … --local --pace realtime` (2 min 10 s / 70 s) | |
| max | `file long-en.wav --local --pace max` (4 min of English), quiet | |
| busy-max | the same beside `--hogs` busy processes (default 4) | max |
| busy-max-serve | `gladia serve` + `file long-en.wav --pace max`, beside 4 busy processes | max |
| dead-after-3 | `gladia serve` + `file long-en.wav --pace max --dead-after 3` | max |
| dead-after-3-local | `file long-en.wav --local --pace max --dead-after 3` | max |

`--hogs N` puts N `python3 -c 'while True: pass'` processes (normal priority, bounded by
`timeout`, ended by PID afterwards, also on Ctrl-C) beside every scene; the busy-*
scenes have 4 unless `--hogs` says otherwise. `--baseline CHECKOUT` runs every scene a
second time with another checkout's code (its `.venv/bin/python -m gladia_cli`, in its
directory), printed in the same table. `--minutes M` shortens every scene (cut at a
clip boundary).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from _support import (
    ROOT,
    gladia_server,
    load_note,
    mib,
    percentile,
    process_cpu_seconds,
    process_memory,
    table,
    temp_dir,
)
from corpus import SceneAudio, ensure, scene_audio
from scene_figures import (
    ErrorCount,
    Latencies,
    channel_texts,
    finals,
    gladia_words,
    latencies,
    parse_lines,
    project_words,
    total,
    transcript_difference,
    word_errors,
)

QUIET_REFERENCE = "max"
BUSY_HOGS = 4
# A last minute whose final p90 is more than this above the first minute's is "growing".
GROWTH_TOLERANCE = 0.25


@dataclass(frozen=True)
class Scene:
    name: str
    item: str  # the corpus item
    pace: str
    server: str = "local"  # or "serve": a separate `gladia serve`
    busy: bool = False  # BUSY_HOGS beside it unless --hogs says otherwise
    extra: tuple[str, ...] = ()
    compare_with: str | None = None

    @property
    def realtime(self) -> bool:
        return self.pace == "realtime"


SCENES = {
    s.name: s
    for s in (
        Scene("one-voice", "one-voice", "realtime"),
        Scene("meeting-turns", "meeting-turns", "realtime"),
        Scene("meeting-overlap", "meeting-overlap", "realtime"),
        Scene("french", "french", "realtime"),
        Scene("spanish", "spanish", "realtime"),
        Scene("max", "long-en", "max"),
        Scene("busy-max", "long-en", "max", busy=True, compare_with=QUIET_REFERENCE),
        Scene(
            "busy-max-serve",
            "long-en",
            "max",
            server="serve",
            busy=True,
            compare_with=QUIET_REFERENCE,
        ),
        Scene(
            "dead-after-3",
            "long-en",
            "max",
            server="serve",
            extra=("--dead-after", "3"),
            compare_with=QUIET_REFERENCE,
        ),
        Scene(
            "dead-after-3-local",
            "long-en",
            "max",
            extra=("--dead-after", "3"),
            compare_with=QUIET_REFERENCE,
        ),
    )
}


@dataclass(frozen=True)
class Checkout:
    """Whose code runs: this one, or a baseline checkout with its own venv."""

    label: str
    python: str
    cwd: Path

    @property
    def gladia(self) -> list[str]:
        return [self.python, "-m", "gladia_cli"]


@dataclass
class Run:
    scene: Scene
    code: str
    hogs: int
    exit_code: int | None = None  # None: killed at the time bound
    wall: float = 0.0
    stream_seconds: float = 0.0  # first to last message
    audio_seconds: float = 0.0
    references: dict[int, tuple[str, str]] = field(default_factory=dict)
    latency: Latencies = field(default_factory=Latencies)
    finals: int = 0
    texts: dict[int, str] = field(default_factory=dict)
    wer: dict[int, ErrorCount] = field(default_factory=dict)
    wer_project: dict[int, ErrorCount] = field(default_factory=dict)
    reconnects: int = 0
    resent_seconds: float = 0.0
    error_line: str = ""
    cpu: float = 0.0
    peak_rss: int = 0
    load_max: float = 0.0


# --- processes ----------------------------------------------------------------------------


@contextlib.contextmanager
def hogs(count: int, bound: float) -> Iterator[list[int]]:
    """`count` busy processes at normal priority, each bounded by `timeout`, ended by PID."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            processes.append(
                subprocess.Popen(
                    ["timeout", f"{bound:.0f}", "python3", "-c", "while True: pass"],
                    stdin=subprocess.DEVNULL,
                )
            )
        yield [p.pid for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()  # timeout passes SIGTERM on to its python
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def children(pid: int) -> list[int]:
    """Every live descendant of `pid`, from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        for child in parents.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def tree_cpu(pid: int) -> float:
    total_cpu = 0.0
    for member in [pid, *children(pid)]:
        with contextlib.suppress(OSError, IndexError, ValueError):
            total_cpu += process_cpu_seconds(member)
    return total_cpu


class Sampler(threading.Thread):
    """Every 0.5 s: the highest VmHWM of each process of the watched trees, and the
    machine's highest 1-minute load average."""

    def __init__(self, roots: Sequence[int]) -> None:
        super().__init__(daemon=True)
        self.roots = list(roots)
        self.peaks: dict[int, int] = {}
        self.load_max = 0.0
        self.stopped = threading.Event()

    def sample(self) -> None:
        for root in self.roots:
            for pid in [root, *children(root)]:
                memory = process_memory(pid)
                if memory is not None:
                    self.peaks[pid] = max(self.peaks.get(pid, 0), memory[1])
        load = float(Path("/proc/loadavg").read_text().split()[0])
        self.load_max = max(self.load_max, load)

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            self.sample()

    def stop(self) -> None:
        self.stopped.set()
        self.join()

    @property
    def peak_rss(self) -> int:
        return sum(self.peaks.values())


RECONNECTED = re.compile(r"reconnected; re-sending ([\d.]+) s of audio")


def read_stderr(text: str, run: Run) -> None:
    """Reconnects and their re-sent audio, and the error line, from the notices."""
    for match in RECONNECTED.finditer(text):
        run.reconnects += 1
        run.resent_seconds += float(match.group(1))
    errors = [line for line in text.splitlines() if line.startswith("gladia: error:")]
    run.error_line = errors[-1] if errors else ""


def run_cli(
    command: list[str], cwd: Path, env: dict[str, str], bound: float, watch: Sequence[int]
) -> tuple[int | None, list[tuple[float, str]], str, float, Sampler, float]:
    """The CLI until it exits (or `bound` seconds pass: killed, exit None): its stdout
    lines with their arrival times, its stderr, its CPU seconds (rusage, children
    included), the sampler that watched it (and `watch`), and the wall time."""
    lines: list[tuple[float, str]] = []
    with temp_dir() as scratch:
        err_path = scratch / "stderr"
        with err_path.open("wb") as err:
            started = time.monotonic()
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,  # its own group: ended as one on a time-out
            )
            assert process.stdout is not None
            stdout = process.stdout

            def read() -> None:
                pending = b""
                while chunk := os.read(stdout.fileno(), 65536):
                    now = time.monotonic()
                    pending += chunk
                    *complete, pending = pending.split(b"\n")
                    lines.extend((now, line.decode("utf-8", "replace")) for line in complete)

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            sampler = Sampler([process.pid, *watch])
            sampler.sample()
            sampler.start()
            exit_code: int | None = None
            cpu = 0.0
            try:
                while True:
                    pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                    if pid:
                        exit_code = os.waitstatus_to_exitcode(status)
                        process.returncode = exit_code  # reaped here, for rusage
                        cpu = usage.ru_utime + usage.ru_stime
                        break
                    if time.monotonic() - started > bound:
                        with contextlib.suppress(ProcessLookupError):
                            os.killpg(process.pid, signal.SIGKILL)
                        _, status, usage = os.wait4(process.pid, 0)
                        process.returncode = -9
                        cpu = usage.ru_utime + usage.ru_stime
                        break
                    time.sleep(0.05)
            finally:
                if process.returncode is None:  # Ctrl-C: end its group, then go on
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                sampler.stop()
                reader.join(timeout=10)
                stdout.close()
            wall = time.monotonic() - started
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
    return exit_code, lines, stderr, cpu, sampler, wall


# --- one scene, one checkout --------------------------------------------------------------


def run_scene(
    scene: Scene, checkout: Checkout, audio: SceneAudio, hog_count: int, args: argparse.Namespace
) -> Run:
    run = Run(
        scene, checkout.label, hog_count, audio_seconds=audio.seconds, references=audio.references
    )
    verb = "mix" if len(audio.files) > 1 else "file"
    command = [
        *checkout.gladia,
        verb,
        *map(str, audio.files),
        "--pace",
        scene.pace,
        "-f",
        "jsonl",
        "--events",
        "all",
        *scene.extra,
        *shlex.split(args.cli_args),
    ]
    env = {**os.environ, "GLADIA_API_KEY": "bench", "NO_COLOR": "1"}
    env.pop("GLADIA_API_URL", None)
    # Real time takes the audio's length; give any run room for start-up and a slow stop.
    bound = audio.seconds * (1.0 if scene.realtime else 3.0) + args.grace
    with contextlib.ExitStack() as stack:
        watch: list[int] = []
        server_cpu_before = 0.0
        if scene.server == "serve":
            # Started before the busy processes: the run measures a session, not a start-up.
            server = stack.enter_context(
                gladia_server(
                    "whisper", command=checkout.gladia, cwd=checkout.cwd, start_timeout=300.0
                )
            )
            command += ["--api-url", server.url]
            watch.append(server.pid)
            server_cpu_before = tree_cpu(server.pid)
        else:
            command.append("--local")
        stack.enter_context(hogs(hog_count, bound + 120))
        code, lines, stderr, cpu, sampler, wall = run_cli(command, checkout.cwd, env, bound, watch)
        for pid in watch:  # the separate server's share of the work
            cpu += tree_cpu(pid) - server_cpu_before
    if args.keep is not None:
        stem = f"{scene.name}.{checkout.label}"
        args.keep.mkdir(parents=True, exist_ok=True)
        (args.keep / f"{stem}.jsonl").write_text("\n".join(line for _, line in lines) + "\n")
        (args.keep / f"{stem}.stderr").write_text(stderr)
    arrivals = parse_lines(lines)
    run.exit_code = code
    run.wall, run.cpu = wall, cpu
    run.peak_rss, run.load_max = sampler.peak_rss, sampler.load_max
    if arrivals:
        run.stream_seconds = arrivals[-1].at - arrivals[0].at
    heard = finals(arrivals)
    run.finals = len(heard)
    run.latency = latencies(arrivals)
    run.texts = channel_texts(heard)
    run.wer = word_errors(audio.references, run.texts, gladia_words)
    run.wer_project = word_errors(audio.references, run.texts, project_words)
    read_stderr(stderr, run)
    return run


# --- the report ---------------------------------------------------------------------------


def p(values: Sequence[float], q: float) -> str:
    return f"{percentile(values, q):.2f}" if values else "-"


def pair(values: Sequence[float]) -> str:
    return f"{p(values, 50)} / {p(values, 90)}" if values else "-"


def wer_cell(counts: dict[int, ErrorCount]) -> str:
    if not counts:
        return "-"
    whole = total(counts.values()).rate
    if len(counts) == 1:
        return f"{whole:.3f}"
    return f"{whole:.3f} ({' '.join(f'{c.rate:.3f}' for c in counts.values())})"


def minute_windows(run: Run) -> str:
    """Final p90 in the first and the last minute of audio (real time, ≥ 2 minutes)."""
    if not run.scene.realtime or run.audio_seconds < 120:
        return "-"
    first = run.latency.final_delays(until=60.0)
    last = run.latency.final_delays(since=run.audio_seconds - 60.0)
    return f"{p(first, 90)} → {p(last, 90)}"


def exit_cell(run: Run) -> str:
    return "killed" if run.exit_code is None else str(run.exit_code)


def latency_table(runs: Sequence[Run]) -> str:
    rows = []
    for run in runs:
        lat = run.latency
        clock = [d for _, d in lat.speech_clock] if run.scene.realtime else []
        rows.append(
            [
                run.scene.name,
                run.code,
                run.hogs,
                exit_cell(run),
                f"{run.reconnects} ({run.resent_seconds:.0f} s)" if run.reconnects else "0",
                f"{run.finals} ({len(lat.finals)}+{len(lat.after_cut)} cut"
                + (f", {lat.unmatched} unacknowledged)" if lat.unmatched else ")"),
                pair([d for _, d in lat.finals]),
                pair(clock),
                minute_windows(run),
                # How many utterances had a partial at all: a server behind may send none.
                f"{pair(lat.first_partials)} ({len(lat.first_partials)})"
                if lat.first_partials
                else "- (0)",
                pair(lat.after_cut),
            ]
        )
    headers = [
        "scene",
        "code",
        "hogs",
        "exit",
        "reconnects (re-sent)",
        "finals (end+cut)",
        "final p50/p90 s",
        "speech clock p50/p90",
        "p90 1st → last min",
        "1st partial p50/p90 (n)",
        "after cut p50/p90",
    ]
    return table(headers, rows)


def cost_table(runs: Sequence[Run], reference: dict[tuple[str, str], Run]) -> str:
    rows = []
    for run in runs:
        same = "-"
        quiet = reference.get((run.scene.compare_with or "", run.code))
        if quiet is not None:
            differ = transcript_difference(quiet.texts, run.texts)
            same = "same" if differ == 0 else f"{differ} words differ"
            if quiet.exit_code != 0:
                same += f" (quiet: exit {exit_cell(quiet)})"
        project = wer_cell(run.wer_project)
        rows.append(
            [
                run.scene.name,
                run.code,
                wer_cell(run.wer),
                "=" if project == wer_cell(run.wer) else project,
                same,
                f"{run.wall:.0f}",
                f"{run.stream_seconds / run.audio_seconds:.2f}" if run.audio_seconds else "-",
                f"{run.cpu:.0f}",
                f"{mib(run.peak_rss):.0f}",
                f"{run.load_max:.1f}",
            ]
        )
    headers = [
        "scene",
        "code",
        "WER gladia (per channel)",
        "WER tests/wer.py",
        "vs quiet max",
        "wall s",
        "stream/audio",
        "CPU s",
        "peak RSS MiB",
        "load max",
    ]
    return table(headers, rows)


TARGETS = {  # scene → (figure, limit) of issue 17, for "this" code on a quiet machine
    "meeting-turns": ("final p90", 1.0),
    "meeting-overlap": ("final p90", 1.5),
    "one-voice": ("final p90", 0.8),
}


def verdicts(runs: Sequence[Run], reference: dict[tuple[str, str], Run]) -> list[str]:
    """Issue 17's targets, met or MISSED, for each run they apply to."""
    out = []
    for run in runs:
        name, tag = run.scene.name, f"{run.scene.name} [{run.code}, {run.hogs} hogs]"
        finals_p90 = percentile([d for _, d in run.latency.finals], 90)
        if name in TARGETS and run.hogs == 0:
            figure, limit = TARGETS[name]
            out.append(verdict(f"{tag} {figure}", finals_p90, limit))
        if name == "one-voice":
            limit = 0.7 if run.hogs == 0 else 1.5
            first = percentile(run.latency.first_partials, 90)
            out.append(verdict(f"{tag} first partial p90", first, limit))
        if name == "meeting-overlap" and run.audio_seconds >= 120:
            first = percentile(run.latency.final_delays(until=60.0), 90)
            last = percentile(run.latency.final_delays(since=run.audio_seconds - 60.0), 90)
            # No final in the last minute (a run killed, a session given up) is no sign of
            # keeping up.
            ok = not math.isnan(last) and last <= first + GROWTH_TOLERANCE
            out.append(f"  {tag} not growing: p90 {first:.2f} → {last:.2f} s {met(ok)}")
        if run.scene.item in ("one-voice", "long-en"):
            out.append(verdict(f"{tag} WER English", total(run.wer.values()).rate, 0.035))
        if name == "french":
            out.append(verdict(f"{tag} WER French", total(run.wer.values()).rate, 0.20))
        if run.scene.compare_with:
            quiet = reference.get((run.scene.compare_with, run.code))
            same = quiet is not None and transcript_difference(quiet.texts, run.texts) == 0
            ok = run.exit_code == 0 and run.reconnects == 0 and same
            if quiet is None:
                compared = f"no {run.scene.compare_with} run to compare with"
            else:
                compared = "same transcript" if same else "transcript differs"
                if quiet.exit_code != 0:
                    compared += f" (the quiet run: exit {exit_cell(quiet)})"
            detail = f"exit {exit_cell(run)}, {run.reconnects} reconnects, {compared}"
            out.append(f"  {tag}: {detail} {met(ok)}")
        if run.scene.server == "local" and run.hogs == 0:
            out.append(verdict(f"{tag} peak RSS MiB", mib(run.peak_rss), 670))
    return out


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def verdict(name: str, value: float, limit: float) -> str:
    return f"  {name}: {value:.3f} (target ≤ {limit:g}) {met(value <= limit)}"


# --- the command line ---------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("scenes of real voices, run as users run them (issue 17)")
    group.add_argument(
        "--scenes",
        metavar="LIST",
        help=f"comma-separated, or `all`: {', '.join(SCENES)}. Runs these instead of the "
        "engine comparison",
    )
    group.add_argument(
        "--minutes", type=float, help="shorten every scene to about this many minutes"
    )
    group.add_argument(
        "--hogs",
        type=int,
        help=f"busy processes beside every scene (default: 0, {BUSY_HOGS} for busy-*)",
    )
    group.add_argument(
        "--baseline",
        type=Path,
        metavar="CHECKOUT",
        help="also run every scene with this checkout's code (CHECKOUT/.venv/bin/python)",
    )
    group.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep each run's jsonl and stderr in DIR"
    )
    group.add_argument(
        "--cli-args", default="", help="more options for every CLI run, e.g. '--max-utterance 30'"
    )
    group.add_argument(
        "--grace",
        type=float,
        default=300.0,
        help="seconds a run may take beyond its audio (real time) or 3x it (max) before "
        "it is killed",
    )


def checkouts(baseline: Path | None) -> list[Checkout]:
    found = [Checkout("this", sys.executable, ROOT)]
    if baseline is not None:
        python = baseline.resolve() / ".venv" / "bin" / "python"
        if not python.exists():
            raise SystemExit(f"--baseline: no {python} (make a venv there: pip install -e .)")
        found.append(Checkout("baseline", str(python), baseline.resolve()))
    return found


def run_all(args: argparse.Namespace) -> int:
    names = list(SCENES) if args.scenes == "all" else args.scenes.split(",")
    unknown = [n for n in names if n not in SCENES]
    if unknown:
        raise SystemExit(f"--scenes: unknown {', '.join(unknown)}; known: {', '.join(SCENES)}")
    codes = checkouts(args.baseline)
    corpus = ensure()
    runs: list[Run] = []
    done: dict[tuple[str, str], Run] = {}
    print(f"scenes: {', '.join(names)}; code: {', '.join(c.label for c in codes)}", flush=True)
    with temp_dir() as scratch:
        for name in names:
            scene = SCENES[name]
            audio = scene_audio(corpus, scene.item, args.minutes, scratch)
            hog_count = args.hogs if args.hogs is not None else (BUSY_HOGS if scene.busy else 0)
            for checkout in codes:
                print(
                    f"  {name} [{checkout.label}]: {audio.seconds:.0f} s of audio, "
                    f"{hog_count} hogs…",
                    flush=True,
                )
                run = run_scene(scene, checkout, audio, hog_count, args)
                runs.append(run)
                done[(name, checkout.label)] = run
                final_p90 = p([d for _, d in run.latency.finals], 90)
                print(
                    f"    exit {exit_cell(run)}, {run.reconnects} reconnects, final p90 "
                    f"{final_p90} s, WER {wer_cell(run.wer)}, {run.wall:.0f} s, "
                    f"load max {run.load_max:.1f}"
                    + (f"; {run.error_line}" if run.error_line else ""),
                    flush=True,
                )
    print()
    print(latency_table(runs))
    print()
    print(cost_table(runs, done))
    print(
        f"\n{load_note()} at the end; {os.cpu_count()} cores shared with whatever else runs. "
        "Latencies in seconds (scene_figures.py); WER with Gladia's normaliser, '=' when "
        "tests/wer.py's gives the same."
    )
    lines = verdicts(runs, done)
    if lines:
        print("Targets of issue 17:")
        print("\n".join(lines))
    return 0 if all(r.exit_code == 0 for r in runs) else 1
