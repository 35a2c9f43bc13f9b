"""Client CPU and memory to stream an hour of audio: our CLI beside the official SDK.

Target (design.md): less CPU than the SDK for the same audio against the same local server,
and resident memory flat as the session grows.

How: one 16 kHz mono 16-bit WAV of speech-like audio per length (`--short-minutes`,
default 10, and `--minutes`, default 60; the long one is ~115 MB) is written to a temp
directory. Each client streams it as fast as it can to a fresh `gladia serve --port 0
--engine scripted` (its own process, same configuration every run), and waits for the
end of the session:

- CLI: `gladia file WAV --api-url URL --pace max --format jsonl -q > /dev/null`, the key
  in GLADIA_API_KEY. 100 ms chunks (3200 bytes), one WebSocket frame each; every message
  written to stdout as a JSON line.
- SDK: `benchmarks/sdk_stream.py WAV --api-url URL` (gladiaio-sdk 2.x): the same init body,
  the WAV read in 3200-byte chunks, `send_audio` for each with no pause, `stop_recording`,
  then wait for the `ended` event. Messages are counted, not written anywhere.

Both are child processes measured the same way: CPU = user + system from the child's own
rusage (`os.wait4`). Memory comes from /proc/PID/status, sampled every 50 ms with the file
offset of the WAV in /proc/PID/fdinfo: peak RSS is the last VmHWM seen (not `ru_maxrss`,
which on Linux also counts this benchmark's own RSS, inherited through fork until exec),
and VmRSS at each 10-minute mark of audio read shows whether memory grows. CPU includes
each client's start-up (interpreter and imports, a few tenths of a second), which is why
short files cost more per audio hour. The server's CPU for each run is shown too. Each
session is then checked on the server (GET /v2/live): done, with the whole file's
duration; and the two clients' init bodies are compared.

Exit status 1 when the CLI's session fails (the SDK's failures are reported, not fatal).

    .venv/bin/python benchmarks/client_stream.py                        # ~3 min
    .venv/bin/python benchmarks/client_stream.py --minutes 20 --short-minutes 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _support import (
    BIN,
    GLADIA,
    RATE,
    SAMPLE_BYTES,
    BenchmarkFailure,
    HelpFormatter,
    exit_on_sigterm,
    gladia_server,
    load_note,
    mib,
    process_cpu_seconds,
    process_memory,
    table,
    temp_dir,
    write_speech_like_wav,
)

SDK_DRIVER = Path(__file__).resolve().parent / "sdk_stream.py"
WAV_HEADER = 44
SAMPLE_EVERY = 0.05  # seconds between /proc samples
MARK_MINUTES = 10  # RSS reported at every such mark of audio read


@dataclass
class Sample:
    at: float  # seconds since the start
    rss: int  # bytes
    position: int | None  # bytes of the WAV read so far


@dataclass
class Run:
    client: str
    minutes: float
    wall: float = 0.0
    user: float = 0.0
    system: float = 0.0
    peak_rss: int = 0  # bytes: VmHWM, sampled
    server_cpu: float = 0.0
    exit_code: int | None = None
    timed_out: bool = False
    samples: list[Sample] = field(default_factory=list)
    stderr: str = ""
    session: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return self.user + self.system

    @property
    def ok(self) -> bool:
        return not self.problems

    def rss_at(self, minute: float) -> int | None:
        """RSS when the client had read `minute` minutes of the WAV (None: never seen).
        Within 1 %: samples are 50 ms apart, and a reader closes the file at its end."""
        target = WAV_HEADER + int(0.99 * minute * 60 * RATE) * SAMPLE_BYTES
        for sample in self.samples:
            if sample.position is not None and sample.position >= target:
                return sample.rss
        return None


def wav_position(pid: int, path: Path, known_fds: list[str]) -> int | None:
    """How far the process has read `path`: the largest offset among the fds that have it
    open (a reader may hold several, e.g. one to check the file and one to decode it)."""
    if not known_fds:
        try:
            names = [entry.name for entry in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            return None
        for fd in names:
            with contextlib.suppress(OSError):
                if Path(f"/proc/{pid}/fd/{fd}").readlink() == path:
                    known_fds.append(fd)
    positions = []
    for fd in known_fds:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines():
                if line.startswith("pos:"):
                    positions.append(int(line.split()[1]))
    if not positions:
        known_fds.clear()  # closed (or not open yet): look again next time
        return None
    return max(positions)


def measure(
    client: str,
    argv: Sequence[str],
    wav: Path,
    minutes: float,
    url: str,
    server_pid: int,
    timeout: float,
) -> Run:
    """Run one client to the end (or the timeout), sampling it; then check its session."""
    run = Run(client=client, minutes=minutes)
    env = {**os.environ, "GLADIA_API_KEY": "benchmark"}
    server_before = process_cpu_seconds(server_pid)
    start = time.monotonic()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=errors, stdin=subprocess.DEVNULL, env=env
        )
        known_fds: list[str] = []
        status, usage = 0, None
        signalled = 0.0
        try:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid == process.pid:
                    break
                memory = process_memory(process.pid)
                if memory is not None:
                    position = wav_position(process.pid, wav, known_fds)
                    run.samples.append(Sample(time.monotonic() - start, memory[0], position))
                    run.peak_rss = max(run.peak_rss, memory[1])
                now = time.monotonic()
                if now - start > timeout and not signalled:
                    run.timed_out = True
                    process.send_signal(signal.SIGINT)  # both clients stop cleanly on it
                    signalled = now
                elif signalled and now - signalled > 15:
                    process.kill()
                time.sleep(SAMPLE_EVERY)
        except BaseException:
            process.kill()
            process.wait()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        run.stderr = errors.read().decode(errors="replace").strip()
    run.wall = time.monotonic() - start
    run.server_cpu = process_cpu_seconds(server_pid) - server_before
    run.exit_code = process.returncode
    assert usage is not None
    run.user, run.system = usage.ru_utime, usage.ru_stime
    run.session = latest_session(url)
    check(run)
    return run


def latest_session(url: str) -> dict[str, Any] | None:
    request = urllib.request.Request(
        f"{url}/v2/live?limit=1", headers={"x-gladia-key": "benchmark"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        items: list[dict[str, Any]] = json.load(response)["items"]
    return items[0] if items else None


def check(run: Run) -> None:
    if run.timed_out:
        run.problems.append("did not finish in time (stopped with SIGINT)")
    if run.exit_code != 0:
        run.problems.append(f"exit status {run.exit_code}")
    session = run.session
    if session is None:
        run.problems.append("no session on the server")
        return
    duration = session["file"]["audio_duration"] or 0.0
    if session["status"] != "done":
        run.problems.append(f"server session status {session['status']!r}")
    if abs(duration - run.minutes * 60) > 0.01:
        run.problems.append(f"server received {duration:.1f} s of {run.minutes * 60:.0f} s")


def run_client(client: str, wav: Path, minutes: float, timeout: float) -> Run:
    with gladia_server("scripted") as server:
        if client == "CLI":
            argv = [GLADIA, "file", str(wav), "--api-url", server.url]
            argv += ["--pace", "max", "--format", "jsonl", "-q"]
        else:
            argv = [str(BIN / "python"), str(SDK_DRIVER), str(wav), "--api-url", server.url]
            argv += ["--end-timeout", str(timeout)]
        print(f"  {client}, {minutes:g} min …", end="", flush=True)
        run = measure(client, argv, wav, minutes, server.url, server.pid, timeout)
        print(f" {run.wall:.1f} s wall, {run.cpu:.2f} s CPU" + ("" if run.ok else " (FAILED)"))
        return run


def report(runs: list[Run], long_minutes: float) -> None:
    rows = []
    for run in runs:
        audio_hours = run.minutes / 60
        rows.append(
            [
                run.client,
                run.minutes,
                run.wall,
                run.user,
                run.system,
                run.cpu,
                run.cpu / audio_hours,
                mib(run.peak_rss),
                run.server_cpu,
                "ok" if run.ok else "; ".join(run.problems),
            ]
        )
    print(
        table(
            [
                "client",
                "audio min",
                "wall s",
                "user s",
                "sys s",
                "CPU s",
                "CPU s per audio h",
                "peak RSS MiB",
                "server CPU s",
                "session",
            ],
            rows,
        )
    )
    marks = [m for m in range(MARK_MINUTES, int(long_minutes) + 1, MARK_MINUTES)]
    long_runs = [r for r in runs if r.minutes == long_minutes]
    if marks and long_runs:
        print()
        print(f"RSS (MiB) when the client had read N minutes of the {long_minutes:g}-minute file:")
        print(
            table(
                ["client", *[f"{m} min" for m in marks], "peak"],
                [
                    [
                        r.client,
                        *[mib(v) if (v := r.rss_at(m)) is not None else "-" for m in marks],
                        mib(r.peak_rss),
                    ]
                    for r in long_runs
                ],
            )
        )


def compare(runs: list[Run], short: float, long: float) -> None:
    by = {(r.client, r.minutes): r for r in runs}
    print()
    cli, sdk = by.get(("CLI", long)), by.get(("SDK", long))
    if cli and sdk:
        if sdk.ok and cli.ok:
            ratio = sdk.cpu / cli.cpu if cli.cpu else float("inf")
            verdict = "met" if cli.cpu < sdk.cpu else "MISSED"
            print(
                f"CPU for {long:g} min of audio: CLI {cli.cpu:.2f} s, SDK {sdk.cpu:.2f} s "
                f"(the SDK uses {ratio:.1f}x the CLI's) — target 'less CPU than the SDK': {verdict}"
            )
        else:
            print(f"The SDK did not complete the {long:g}-minute run: {'; '.join(sdk.problems)}")
        if cli.session and sdk.session:
            same = cli.session["request_params"] == sdk.session["request_params"]
            print(f"Init bodies as the server saw them: {'identical' if same else 'DIFFERENT'}")
    for name in ("CLI", "SDK"):
        a, b = by.get((name, short)), by.get((name, long))
        if a and b and a.ok and b.ok:
            print(
                f"{name} CPU per audio hour: {a.cpu / (short / 60):.2f} s at {short:g} min, "
                f"{b.cpu / (long / 60):.2f} s at {long:g} min"
            )
    if cli:
        at_mark, at_end = cli.rss_at(min(MARK_MINUTES, long)), cli.rss_at(long)
        short_run = by.get(("CLI", short))
        if at_mark is not None and at_end is not None:
            growth = mib(at_end - at_mark)
            print(
                f"CLI RSS at {min(MARK_MINUTES, long):g} min: {mib(at_mark):.1f} MiB, "
                f"at {long:g} min: {mib(at_end):.1f} MiB ({growth:+.1f} MiB, "
                f"{(at_end - at_mark) / at_mark:+.0%}; target: flat)"
                + (
                    f"; peak {mib(short_run.peak_rss):.1f} MiB for {short:g} min vs "
                    f"{mib(cli.peak_rss):.1f} MiB for {long:g} min"
                    if short_run
                    else ""
                )
            )
    for run in runs:
        if run.stderr and (run.client == "SDK" or not run.ok):
            print(f"{run.client} {run.minutes:g} min stderr: {run.stderr[-600:]}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="the long file")
    parser.add_argument("--short-minutes", type=float, default=10.0, help="the short file")
    parser.add_argument("--skip-sdk", action="store_true", help="measure only the CLI")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds one client run may take"
    )
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    exit_on_sigterm()
    clients = ["CLI"] if args.skip_sdk else ["CLI", "SDK"]
    lengths = sorted({args.short_minutes, args.minutes})
    runs: list[Run] = []
    try:
        with temp_dir() as directory:
            files = {}
            for minutes in lengths:
                files[minutes] = directory / f"speech-like-{minutes:g}min.wav"
                write_speech_like_wav(files[minutes], minutes * 60, seed=7)
            print(
                f"== Streaming {', '.join(f'{m:g}' for m in lengths)} min of 16 kHz mono audio "
                f"at max pace to a local scripted server (fresh per run; {load_note()})",
                flush=True,
            )
            for minutes in lengths:
                for client in clients:
                    runs.append(run_client(client, files[minutes], minutes, args.timeout))
    except BenchmarkFailure as exc:
        print(f"failure: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    print()
    report(runs, args.minutes)
    compare(runs, args.short_minutes, args.minutes)
    return 0 if all(r.ok for r in runs if r.client == "CLI") else 1


if __name__ == "__main__":
    sys.exit(main())
