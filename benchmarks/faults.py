"""Faults: what `gladia file` delivers through a connection that keeps breaking.

The CLI streams through tests/faultproxy.py (a seeded asyncio TCP proxy on 127.0.0.1) to
`gladia serve --engine scripted` in its own process. Each run is compared with a fault-free
run of the same file: the text lines (every final utterance, `--format text`) and the audio
the server stored (`GET /v2/live/{id}/file`) against the source PCM.

Per run: the exit code; lines matched out of expected, missing and duplicated; missing and
duplicated bytes of the stored audio; the cuts made and the time to recover (from a cut to
the next acknowledgment that reaches the client: median and worst); the wall time.

`--soak-hours H` adds long sessions of H hours of audio at --pace max: one with no fault,
one with a cut every `--soak-cut-mb` MB, one with every acknowledgment withheld
(`--soak-only NAME` picks some). Client and server RSS are printed at each hour of audio
streamed (each half hour below 4 h; read from the WAV offset in /proc), then at the end:
the client's peak from its last audio read to its exit (the end messages, the result check,
the renderer's last word), and the server's once the session is done. Target (issue 18): both
within +10 MiB of the first mark, at the last mark and at the end; the client's backlog
spills to a temporary file past --resend-buffer (300 s) when acknowledgments are withheld.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import _support
from _support import (
    GLADIA,
    ROOT,
    HelpFormatter,
    gladia_server,
    load_note,
    median,
    mib,
    process_memory,
    table,
    temp_dir,
    write_speech_like_wav,
)

sys.path.insert(0, str(ROOT))
from tests.faultproxy import FaultProxy, Plan

KEY = "benchmark"
WAV_HEADER = 44
BYTES_PER_SECOND = 32000


@dataclass
class Scenario:
    name: str
    plan: Plan
    pace: str = "max"
    short: bool = False  # the first minute only (paced runs)


SCENARIOS = [
    Scenario("5 cuts", Plan(seed=5, cuts=5, cut_after=(300_000, 1_500_000))),
    Scenario("20 cuts", Plan(seed=20, cuts=20, cut_after=(40_000, 384_000), throttle=2_000_000)),
    Scenario("50 cuts", Plan(seed=50, cuts=50, cut_after=(40_000, 153_600), throttle=2_000_000)),
    Scenario(
        "50 cuts, downstream",
        Plan(
            seed=50,
            cuts=50,
            cut_after=(1_000, 5_000),
            cut_direction="down",
            throttle=2_000_000,
        ),
    ),
    Scenario(
        "20 cuts, 8x",
        Plan(seed=8, cuts=20, cut_after=(30_000, 60_000), cut_style="rst"),
        pace="8x",
        short=True,
    ),
    Scenario("7 s stall", Plan(stall_after=2_000_000, stall_seconds=7.0)),
    Scenario("black hole", Plan(black_hole_after=1_000_000)),
    Scenario("60 acks lost, cut", Plan(drop_acks=60)),
    Scenario("acks withheld", Plan(withhold_acks=True)),
]


@dataclass
class Outcome:
    code: int
    lines: list[str]
    stderr: str
    session_id: str | None
    wall: float
    rss: list[tuple[int, int, int | None]] = field(default_factory=list)  # pos, client, server
    client_end: int | None = None  # the client's peak RSS after its last audio read
    client_last: int | None = None  # its last sample before it exited
    server_peak: int | None = None  # the server's peak RSS in that time
    server_end: int | None = None  # the server's RSS once the session is done


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "GLADIA_API_KEY": KEY,
        "GLADIA_API_URL": url,
        "GLADIA_CONFIG": str(Path(os.devnull)),
        "NO_COLOR": "1",
    }


def _wav_position(pid: int, wav: Path) -> int | None:
    positions = []
    with contextlib.suppress(OSError):
        for entry in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if entry.readlink() == wav:
                    text = Path(f"/proc/{pid}/fdinfo/{entry.name}").read_text()
                    positions += [int(x.split()[1]) for x in text.splitlines() if x[:4] == "pos:"]
    return max(positions) if positions else None


def run_cli(
    url: str,
    wav: Path,
    pace: str,
    *,
    server_pid: int | None = None,
    sample_every: float = 0,
    mark_seconds: float = 1800,
) -> Outcome:
    """`gladia file WAV -f text`; with `sample_every`, RSS samples at each `mark_seconds` of
    audio read, then the client's peak from the end of the file to its exit."""
    argv = [GLADIA, "file", str(wav), "-f", "text", "--pace", pace]  # notices: the session id
    started = time.monotonic()
    out_file = wav.with_suffix(".out")
    audio_bytes = wav.stat().st_size - WAV_HEADER
    step = int(mark_seconds * BYTES_PER_SECOND)
    client_end = client_last = server_peak = None
    with out_file.open("w") as out, wav.with_suffix(".err").open("w+") as err:
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=_env(url))
        next_mark = step
        read_all = False
        rss: list[tuple[int, int, int | None]] = []
        while process.poll() is None:
            if sample_every:
                position = _wav_position(process.pid, wav)
                if position is not None and position - WAV_HEADER >= next_mark:
                    client = process_memory(process.pid)
                    server = process_memory(server_pid) if server_pid else None
                    if client is not None:
                        rss.append((next_mark, client[0], server[0] if server else None))
                    next_mark += step
                if (position is None and rss) or (
                    position is not None and position - WAV_HEADER >= audio_bytes
                ):
                    read_all = True  # the file is read (or closed): the end begins
                if read_all:
                    client = process_memory(process.pid)
                    if client is not None:
                        client_end = max(client_end or 0, client[0])
                        client_last = client[0]
                    server = process_memory(server_pid) if server_pid else None
                    if server is not None:
                        server_peak = max(server_peak or 0, server[0])
            time.sleep(sample_every or 0.05)
        err.seek(0)
        stderr = err.read()
    lines = out_file.read_text().splitlines()
    found = re.search(r"streaming .*session ([0-9a-f-]{36})", stderr)
    server_end = None
    if server_pid:
        time.sleep(1.0)  # the session's last writes and frees
        memory = process_memory(server_pid)
        server_end = memory[0] if memory else None
    return Outcome(
        process.returncode,
        lines,
        stderr,
        found.group(1) if found else None,
        time.monotonic() - started,
        rss,
        client_end,
        client_last,
        server_peak,
        server_end,
    )


def stored_audio(url: str, session_id: str | None) -> bytes | None:
    if session_id is None:
        return None
    request = urllib.request.Request(
        f"{url}/v2/live/{session_id}/file", headers={"x-gladia-key": KEY}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return bytes(response.read()[WAV_HEADER:])
    except OSError:
        return None


def pcm_of(wav: Path) -> bytes:
    return wav.read_bytes()[WAV_HEADER:]


def fault_runs(args: argparse.Namespace, folder: Path) -> bool:
    long_wav, short_wav = folder / "long.wav", folder / "short.wav"
    write_speech_like_wav(long_wav, args.minutes * 60, seed=8)
    write_speech_like_wav(short_wav, 60, seed=8)
    rows = []
    ok = True
    with gladia_server("scripted") as server:
        references = {str(path): run_cli(server.url, path, "max") for path in (long_wav, short_wav)}
        for scenario in SCENARIOS:
            if args.only and scenario.name not in args.only:
                continue
            wav = short_wav if scenario.short else long_wav
            expected = references[str(wav)]
            with FaultProxy(server.url, scenario.plan) as proxy:
                got = run_cli(proxy.url, wav, scenario.pace)
            want, have = Counter(expected.lines), Counter(got.lines)
            stored = stored_audio(server.url, got.session_id) or b""
            source = pcm_of(wav)
            same = stored == source
            recoveries = proxy.stats.recoveries
            rows.append(
                [
                    scenario.name,
                    scenario.pace,
                    got.code,
                    f"{sum((want & have).values())}/{len(expected.lines)}",
                    sum((want - have).values()),
                    sum((have - want).values()),
                    "yes" if same else "NO",
                    max(0, len(source) - len(stored)) if not same else 0,
                    max(0, len(stored) - len(source)) if not same else 0,
                    len(proxy.stats.cuts),
                    median(recoveries) if recoveries else float("nan"),
                    max(recoveries) if recoveries else float("nan"),
                    got.wall,
                ]
            )
            if got.code != 0 or want != have or not same:
                ok = False
                print(f"{scenario.name}: {got.stderr.strip().splitlines()[-3:]}", file=sys.stderr)
    print(f"\nFault runs: {args.minutes:g} min of audio (1 min for 8x), `gladia file -f text`")
    print(
        table(
            [
                "run",
                "pace",
                "exit",
                "lines",
                "missing",
                "dup",
                "audio ==",
                "missing B",
                "dup B",
                "cuts",
                "recover p50 s",
                "max s",
                "wall s",
            ],
            rows,
        )
    )
    return ok


def soak(args: argparse.Namespace, folder: Path) -> bool:
    wav = folder / "soak.wav"
    hours = args.soak_hours
    print(f"\nwriting {hours:g} h of audio …", file=sys.stderr)
    write_speech_like_wav(wav, hours * 3600, seed=3)
    size = wav.stat().st_size
    cuts = max(1, int(size / (args.soak_cut_mb * 1e6)))
    runs = [
        ("no fault", Plan(deadline=24 * 3600)),
        (f"{cuts} cuts", Plan(seed=1, cuts=cuts, cut_after=(int(0.5e6 * args.soak_cut_mb),
                                                              int(1.5e6 * args.soak_cut_mb)),
                              deadline=24 * 3600)),
        ("acks withheld", Plan(withhold_acks=True, deadline=24 * 3600)),
    ]  # fmt: skip
    mark = 3600.0 if hours >= 4 else 1800.0
    ok = True
    for name, plan in runs:
        if args.soak_only and not any(name.endswith(only) for only in args.soak_only):
            continue
        with gladia_server("scripted") as server, FaultProxy(server.url, plan) as proxy:
            got = run_cli(
                proxy.url, wav, "max", server_pid=server.pid, sample_every=0.2, mark_seconds=mark
            )
            stored = stored_audio(server.url, got.session_id)
            same = stored == pcm_of(wav) if stored is not None else False
        print(
            f"\nSoak, {name}: {hours:g} h of audio at --pace max, exit {got.code}, "
            f"{len(proxy.stats.cuts)} cuts, stored audio identical: {same}, "
            f"{len(got.lines)} lines, {got.wall:.0f} s wall"
        )
        rows = [
            [
                f"{position / BYTES_PER_SECOND / 3600:.1f} h",
                mib(client),
                mib(server) if server is not None else float("nan"),
            ]
            for position, client, server in got.rss
        ]
        streamed = len(rows)

        def shown(value: int | None) -> float:
            return mib(value) if value else float("nan")

        rows.append(["end, peak", shown(got.client_end), shown(got.server_peak)])
        rows.append(["end, last", shown(got.client_last), shown(got.server_end)])
        print(table(["audio read", "client RSS MiB", "server RSS MiB"], rows))
        if streamed >= 2:
            first, last = rows[0], rows[streamed - 1]
            growth = {
                f"to {last[0]}": (last[1] - first[1], last[2] - first[2]),
                "to the end's peak": (rows[-2][1] - first[1], rows[-2][2] - first[2]),
                "to the end": (rows[-1][1] - first[1], rows[-1][2] - first[2]),
            }
            print(
                f"from {first[0]}: "
                + "; ".join(
                    f"{where}: client {client:+.1f} MiB, server {server:+.1f} MiB"
                    for where, (client, server) in growth.items()
                )
                + " (target ≤ +10 MiB)"
            )
            ok = ok and max(max(pair) for pair in growth.values()) <= 10.0
        ok = ok and got.code == 0 and same
    return ok


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--minutes", type=float, default=4.0, help="audio for the fault runs")
    parser.add_argument("--only", action="append", help="run only this scenario (repeatable)")
    parser.add_argument("--soak-hours", type=float, default=0.0, help="0: no soak")
    parser.add_argument("--soak-cut-mb", type=float, default=20.0, help="MB between cuts")
    parser.add_argument(
        "--soak-only",
        action="append",
        help="soak only this run: 'no fault', 'cuts', 'acks withheld' (repeatable)",
    )
    parser.add_argument("--skip-faults", action="store_true", help="the soak only")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    _support.exit_on_sigterm()
    print(load_note())
    with temp_dir() as folder:
        ok = True if args.skip_faults else fault_runs(args, folder)
        if args.soak_hours:
            ok = soak(args, folder) and ok
    print(load_note())
    if not ok:
        print("FAILED: a run did not end with exit 0 and the whole result", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
