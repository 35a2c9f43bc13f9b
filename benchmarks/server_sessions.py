"""How many concurrent real-time sessions the local server holds, and what sphinx costs.

Part 1, the ramp (target: p99 acknowledgment latency < 200 ms with at least 30 sessions, on
the scripted engine). For each N in `--levels`, a fresh `gladia serve --port 0 --engine
scripted` runs in its own process (its own GIL), and N sessions stream speech-like audio
(voiced bursts between pauses, so the engine's VAD opens utterances and sends partials and
finals) at real-time pace: 100 ms chunks on an absolute schedule, the N sessions' ticks
spread evenly over each 100 ms. The clients are asyncio + aiohttp in `--clients` separate
processes, so the client side has its own GILs. Each chunk's acknowledgment latency is the
time from just before `send_bytes` to the receipt of the `audio_chunk` acknowledgment whose
`byte_range` ends at that chunk. Also shown: how late the clients sent (if that grows, the
client side is the bottleneck, not the server), the server's CPU use, the clients' CPU use,
and how busy the whole machine was. The ramp stops at the first level that misses the
target (unless --keep-going) and reports the largest N that met it.

Part 2, the sphinx engine's real-time factor: one channel fed directly through
`create_engine("sphinx")` in 100 ms pieces, on English speech: `--speech FILE.wav`, else
the mono speech fixtures in tests/data (espeak-ng sentences), else sentences synthesised
here with espeak-ng + sox; repeated up to `--sphinx-seconds`. CPU seconds and
wall seconds per audio second, then two channels decoded at once on two threads to see
whether the decoder runs in parallel (pocketsphinx holds the GIL), and from that how many
real-time sphinx sessions this machine could sustain in theory (the server's own work not
counted).

A session that does not end with close code 1000, or a chunk never acknowledged, is a
functional failure: the figures are still printed, and the exit status is 1.

    .venv/bin/python benchmarks/server_sessions.py                  # full run, ~7 min
    .venv/bin/python benchmarks/server_sessions.py --seconds 5 --levels 10,30 --sphinx-seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from _support import (
    CHUNK_BYTES,
    CHUNK_SECONDS,
    RATE,
    ROOT,
    BenchmarkFailure,
    HelpFormatter,
    exit_on_sigterm,
    gladia_server,
    load_note,
    percentile,
    process_cpu_seconds,
    speech_like,
    table,
    temp_dir,
)

DEFAULT_LEVELS = "10,20,30,40,60,80,100,120,160,200,250,300,400,500"
INIT_BODY: dict[str, Any] = {
    "encoding": "wav/pcm",
    "sample_rate": RATE,
    "bit_depth": 16,
    "channels": 1,
    "messages_config": {"receive_partial_transcripts": True},
}


# --- part 1: the ramp, client side (runs in the client processes) -------------------------


@dataclass
class SessionFigures:
    latencies: list[float] = field(default_factory=list)  # seconds, one per acknowledged chunk
    send_lags: list[float] = field(default_factory=list)  # seconds behind schedule, per chunk
    unacknowledged: int = 0
    finals: int = 0
    close_code: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return (
            not self.error
            and self.close_code == 1000
            and self.unacknowledged == 0
            and self.finals > 0
        )


@dataclass
class ClientFigures:
    sessions: list[SessionFigures]
    cpu_seconds: float  # this client process, user + system, during the streaming phase


def client_process(
    pipe: Connection, url: str, count: int, phases: list[float], chunks: list[bytes]
) -> None:
    """One client process: open `count` sessions, say ready, wait for the start time,
    stream, and send back its figures. Ctrl-C is left to the parent, which ends this
    process with SIGTERM when it has to."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        figures = asyncio.run(_client_main(pipe, url, count, phases, chunks))
    except Exception as exc:
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    pipe.send(("done", figures))


async def _client_main(
    pipe: Connection, url: str, count: int, phases: list[float], chunks: list[bytes]
) -> ClientFigures:
    import aiohttp

    loop = asyncio.get_running_loop()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, connect=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        sockets = await asyncio.gather(*(_open_session(http, url) for _ in range(count)))
        pipe.send(("ready", None))
        start_at: float = await loop.run_in_executor(None, pipe.recv)
        before = resource.getrusage(resource.RUSAGE_SELF)
        sessions = await asyncio.gather(
            *(
                _stream(ws, chunks, start_at + phase, rotate=index * 37)
                for index, (ws, phase) in enumerate(zip(sockets, phases, strict=True))
            )
        )
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return ClientFigures(sessions=list(sessions), cpu_seconds=cpu)


async def _open_session(http: Any, url: str) -> Any:
    async with http.post(
        f"{url}/v2/live", json=INIT_BODY, headers={"x-gladia-key": "benchmark"}
    ) as response:
        if response.status != 201:
            raise BenchmarkFailure(f"POST /v2/live: {response.status} {await response.text()}")
        created = await response.json()
    return await http.ws_connect(created["url"], autoping=True, max_msg_size=0)


async def _stream(ws: Any, chunks: list[bytes], start_at: float, rotate: int) -> SessionFigures:
    """Send every chunk at its due time, then stop_recording; read until the server closes."""
    import aiohttp

    figures = SessionFigures()
    sent_at: dict[int, float] = {}  # chunk end offset → when it was sent

    async def receive() -> None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            now = time.monotonic()
            payload = json.loads(message.data)
            kind = payload.get("type")
            if kind == "audio_chunk" and payload.get("acknowledged"):
                sent = sent_at.pop(payload["data"]["byte_range"][1], None)
                if sent is not None:
                    figures.latencies.append(now - sent)
            elif kind == "transcript" and payload["data"]["is_final"]:
                figures.finals += 1

    receiver = asyncio.create_task(receive())
    try:
        offset = 0
        for index in range(len(chunks)):
            chunk = chunks[(index + rotate) % len(chunks)]
            due = start_at + index * CHUNK_SECONDS
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.monotonic()
            figures.send_lags.append(max(0.0, now - due))
            offset += len(chunk)
            sent_at[offset] = now
            await ws.send_bytes(chunk)
        await ws.send_str('{"type":"stop_recording"}')
        await asyncio.wait_for(receiver, timeout=120)
    except Exception as exc:
        figures.error = f"{type(exc).__name__}: {exc}"
        receiver.cancel()
    finally:
        await ws.close()
    figures.close_code = ws.close_code
    figures.unacknowledged = len(sent_at)
    return figures


# --- part 1: the ramp, parent side ---------------------------------------------------------


@dataclass
class LevelResult:
    sessions: int
    ok_sessions: int
    chunks: int
    latencies_ms: list[float]
    send_lag_p99_ms: float
    server_cpu: float  # fraction of one core
    clients_cpu: float  # fraction of one core, all client processes together
    machine_busy: float  # fraction of all cores
    others_cpu: float  # cores busy with anything but the server and the clients
    errors: list[str]

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)


def machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def run_level(
    sessions: int, chunks: list[bytes], clients: int, seconds: float, engine: str
) -> LevelResult:
    context = multiprocessing.get_context("fork")
    clients = max(1, min(clients, sessions))
    with gladia_server(engine) as server:
        processes: list[Any] = []
        pipes: list[Connection] = []
        try:
            for index in range(clients):
                mine = list(range(index, sessions, clients))
                phases = [j / sessions * CHUNK_SECONDS for j in mine]
                parent_end, child_end = context.Pipe()
                process = context.Process(
                    target=client_process,
                    args=(child_end, server.url, len(mine), phases, chunks),
                    daemon=True,
                )
                process.start()
                child_end.close()
                processes.append(process)
                pipes.append(parent_end)
            for pipe in pipes:
                if not pipe.poll(120):
                    raise BenchmarkFailure("a client process did not open its sessions in time")
                kind, detail = pipe.recv()
                if kind != "ready":
                    raise BenchmarkFailure(f"a client process failed to start: {detail}")
            start_at = time.monotonic() + 0.5
            for pipe in pipes:
                pipe.send(start_at)
            time.sleep(max(0.0, start_at - time.monotonic()))
            server_before = process_cpu_seconds(server.pid)
            machine_before = machine_busy_ticks()
            time.sleep(seconds)
            server_after = process_cpu_seconds(server.pid)
            machine_after = machine_busy_ticks()
            results: list[ClientFigures] = []
            errors: list[str] = []
            for pipe in pipes:
                if not pipe.poll(seconds + 180):
                    raise BenchmarkFailure("a client process did not report")
                kind, detail = pipe.recv()
                if kind == "done":
                    results.append(detail)
                else:
                    errors.append(str(detail))
        except BaseException:
            for process in processes:  # interrupted or failed: no waiting for stragglers
                process.terminate()
            raise
        finally:
            for process in processes:
                process.join(timeout=5)
                if process.is_alive():
                    process.terminate()
                    process.join()
            for pipe in pipes:
                pipe.close()
    all_sessions = [s for r in results for s in r.sessions]
    errors += [s.error for s in all_sessions if s.error]
    errors += [
        f"session closed with {s.close_code}, {s.unacknowledged} chunks unacknowledged, "
        f"{s.finals} finals"
        for s in all_sessions
        if not s.error and not s.ok
    ]
    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    machine_busy = busy / total if total else 0.0
    server_cpu = (server_after - server_before) / seconds
    clients_cpu = sum(r.cpu_seconds for r in results) / seconds
    return LevelResult(
        sessions=sessions,
        ok_sessions=sum(s.ok for s in all_sessions),
        chunks=sum(len(s.latencies) for s in all_sessions),
        latencies_ms=[1000 * v for s in all_sessions for v in s.latencies],
        send_lag_p99_ms=1000 * percentile([v for s in all_sessions for v in s.send_lags], 99),
        server_cpu=server_cpu,
        clients_cpu=clients_cpu,
        machine_busy=machine_busy,
        others_cpu=max(0.0, machine_busy * (os.cpu_count() or 1) - server_cpu - clients_cpu),
        errors=errors,
    )


def ramp(args: argparse.Namespace) -> bool:
    """Part 1. Returns whether every session worked."""
    levels = [int(v) for v in args.levels.split(",") if v.strip()]
    audio = speech_like(args.seconds, seed=1).tobytes()
    chunks = [audio[i : i + CHUNK_BYTES] for i in range(0, len(audio), CHUNK_BYTES)]
    print(
        f"== Part 1: concurrent real-time sessions ({args.engine} engine, server in its own "
        f"process, {args.clients} client processes, {args.seconds:g} s of speech-like audio "
        f"per session in {CHUNK_SECONDS * 1000:.0f} ms chunks, partials on; {load_note()})",
        flush=True,
    )
    rows: list[list[object]] = []
    best: int | None = None
    functional_ok = True
    for sessions in levels:
        result = run_level(sessions, chunks, args.clients, args.seconds, args.engine)
        met = (
            result.ok_sessions == sessions
            and bool(result.latencies_ms)
            and result.p(99) < args.target_ms
        )
        if met:
            best = sessions
        row: list[object] = [
            sessions,
            f"{result.ok_sessions}/{sessions}",
            result.chunks,
            result.p(50),
            result.p(99),
            max(result.latencies_ms, default=float("nan")),
            result.send_lag_p99_ms,
            f"{result.server_cpu:.0%}",
            f"{result.clients_cpu:.0%}",
            f"{result.machine_busy:.0%}",
            f"{result.others_cpu:.0%}",
            "yes" if met else "NO",
        ]
        rows.append(row)
        print(
            f"  N={sessions}: p50 {result.p(50):.1f} ms, p99 {result.p(99):.1f} ms, "
            f"{result.ok_sessions}/{sessions} sessions ok",
            flush=True,
        )
        for error in result.errors[:5]:
            print(f"    failure: {error}", flush=True)
        if result.errors:
            functional_ok = False
        if not met and not args.keep_going:
            break
    print()
    print(
        table(
            [
                "N",
                "sessions ok",
                "acks",
                "ack p50 ms",
                "ack p99 ms",
                "ack max ms",
                "send lag p99 ms",
                "server CPU",
                "clients CPU",
                "machine busy",
                "others CPU",
                f"p99<{args.target_ms:g}",
            ],
            rows,
        )
    )
    print()
    print(
        "CPU columns: share of one core (server; all client processes together; anything "
        "else running on the machine); machine busy: share of all cores. Send lag: how late "
        "the clients sent against the real-time schedule (large values would mean the "
        "client side is the bottleneck)."
    )
    shown = best if best is not None else "none"
    target = ""
    if args.engine == "scripted":
        verdict = "met" if best is not None and best >= 30 else "MISSED"
        target = f" (target >= 30 on the scripted engine: {verdict})"
    else:
        target = " (sphinx decodes in the server's worker processes: see 'others CPU')"
    print(f"Largest N with p99 < {args.target_ms:g} ms: {shown}{target}")
    return functional_ok


# --- part 2: the sphinx engine's real-time factor -------------------------------------------

SENTENCES = (
    "The quick brown fox jumps over the lazy dog near the river bank.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet at the station at half past nine tomorrow morning.",
    "The weather forecast says it will rain for most of the afternoon.",
    "Six spoons of fresh snow peas, five thick slabs of blue cheese, and maybe a snack.",
    "Our team finished the project two weeks ahead of the schedule.",
    "Could you tell me how to get to the nearest library from here?",
    "The children played in the garden until the sun went down.",
    "A large number of people attended the concert in the park last night.",
    "He opened the window because the room was getting far too warm.",
)


def synthesize_speech(directory: Path) -> npt.NDArray[np.int16]:
    """The sentences spoken by espeak-ng, 16 kHz mono, with 0.5 s pauses between them."""
    env = {**os.environ, "HOME": str(directory), "XDG_RUNTIME_DIR": str(directory)}
    pause = np.zeros(RATE // 2, dtype=np.int16)
    pieces: list[npt.NDArray[np.int16]] = []
    for index, sentence in enumerate(SENTENCES):
        out = directory / f"sentence{index}.wav"
        speak = subprocess.Popen(
            ["espeak-ng", "-v", "en-us+f2", "-s", "140", "--stdout", sentence],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        sox = ["sox", "-t", "wav", "-", "-r", str(RATE), "-c", "1", "-b", "16"]
        convert = subprocess.run(
            [*sox, "-e", "signed-integer", str(out)],
            stdin=speak.stdout,
            stderr=subprocess.PIPE,
            env=env,
            check=False,
        )
        if speak.stdout is not None:
            speak.stdout.close()
        if speak.wait() != 0 or convert.returncode != 0:
            raise BenchmarkFailure(f"espeak-ng | sox failed: {convert.stderr.decode()[-500:]}")
        pieces += [read_wav(out), pause]
    return np.concatenate(pieces)


def is_mono_16k_pcm16(path: Path) -> bool:
    import soundfile

    info = soundfile.info(str(path))
    return (info.samplerate, info.channels, info.subtype) == (RATE, 1, "PCM_16")


def read_wav(path: Path) -> npt.NDArray[np.int16]:
    import soundfile

    if not is_mono_16k_pcm16(path):
        raise BenchmarkFailure(f"{path}: need 16 kHz mono 16-bit PCM")
    samples: npt.NDArray[np.int16] = soundfile.read(str(path), dtype="int16")[0]
    return samples


def speech_audio(args: argparse.Namespace, directory: Path) -> tuple[npt.NDArray[np.int16], str]:
    """At least `--sphinx-seconds` of speech (the source repeated), and where it came from:
    `--speech`, else the mono speech fixtures in tests/data, else espeak-ng + sox."""
    fixtures = [
        path for path in sorted((ROOT / "tests" / "data").glob("*.wav")) if is_mono_16k_pcm16(path)
    ]
    if args.speech:
        base, origin = read_wav(Path(args.speech)), args.speech
    elif fixtures:
        base = np.concatenate([read_wav(path) for path in fixtures])
        origin = f"tests/data: {', '.join(path.name for path in fixtures)}"
    elif shutil.which("espeak-ng") and shutil.which("sox"):
        base, origin = synthesize_speech(directory), "espeak-ng en-us+f2, 10 sentences"
    else:
        raise BenchmarkFailure(
            "no speech: add tests/data fixtures, install espeak-ng and sox, or pass --speech"
        )
    repeats = max(1, int(np.ceil(args.sphinx_seconds * RATE / len(base))))
    audio = np.tile(base, repeats)[: max(len(base), int(args.sphinx_seconds * RATE))]
    if repeats > 1:
        origin += f" ({len(base) / RATE:.1f} s, repeated)"
    return audio, origin


@dataclass
class DecodeRun:
    wall: float
    cpu: float
    finals: int
    words: int


def decode_channels(audio: npt.NDArray[np.int16], threads: int) -> DecodeRun:
    """Decode `audio` on `threads` channels at once (one thread each), 100 ms per feed."""
    from gladia_cli.server.recognition.engines import create_engine
    from gladia_cli.server.recognition.engines.base import ChannelSettings, Hypothesis

    engine = create_engine("sphinx")
    channels = [engine.open_channel(ChannelSettings(channel=i)) for i in range(threads)]
    step = int(RATE * CHUNK_SECONDS)
    barrier = threading.Barrier(threads + 1)
    counts = [(0, 0)] * threads

    def work(index: int) -> None:
        barrier.wait()
        events = []
        for start in range(0, len(audio), step):
            events += channels[index].feed(audio[start : start + step])
        events += channels[index].finish()
        finals = [e for e in events if isinstance(e, Hypothesis) and e.is_final]
        counts[index] = (len(finals), sum(len(f.words) for f in finals))

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    barrier.wait()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return DecodeRun(wall, cpu, sum(c[0] for c in counts), sum(c[1] for c in counts))


def sphinx_rtf(args: argparse.Namespace) -> bool:
    """Part 2. Returns whether the engine recognised anything."""
    with temp_dir() as directory:
        audio, origin = speech_audio(args, directory)
    seconds = len(audio) / RATE
    print(
        f"== Part 2: sphinx engine real-time factor ({seconds:.1f} s of speech from {origin}, "
        f"fed in {CHUNK_SECONDS * 1000:.0f} ms pieces straight to the recogniser; "
        f"{load_note()})",
        flush=True,
    )
    from gladia_cli.server.recognition.engines import create_engine
    from gladia_cli.server.recognition.engines.base import ChannelSettings

    t0 = time.perf_counter()
    create_engine("sphinx").open_channel(ChannelSettings(channel=0))
    decoder_startup = time.perf_counter() - t0
    one = decode_channels(audio, 1)
    two = decode_channels(audio, 2)
    cores = os.cpu_count() or 1
    rows: list[list[object]] = []
    for label, run, channels in (("1 channel", one, 1), ("2 channels, 2 threads", two, 2)):
        audio_seconds = seconds * channels
        rows.append(
            [
                label,
                audio_seconds,
                run.wall,
                run.cpu,
                run.cpu / audio_seconds,
                run.wall / audio_seconds,
                run.cpu / run.wall,
                audio_seconds / run.wall,
                f"{run.finals} / {run.words}",
            ]
        )
    print(
        table(
            [
                "run",
                "audio s",
                "wall s",
                "CPU s",
                "CPU s per audio s",
                "wall s per audio s",
                "cores used",
                "audio s per wall s",
                "finals / words",
            ],
            rows,
        )
    )
    cpu_rtf = one.cpu / seconds
    measured = 2 * seconds / two.wall
    print()
    print(f"Decoder start-up (first channel, a new pocketsphinx Decoder): {decoder_startup:.2f} s")
    print(
        f"Real-time sphinx sessions this machine could sustain in theory: "
        f"{cores / cpu_rtf:.1f} if the decoder used all {cores} cores "
        f"({cores} / {cpu_rtf:.3f} CPU s per audio s); "
        f"{measured:.1f} with 2 decoding threads in one process "
        f"({two.cpu / two.wall:.2f} cores used: pocketsphinx holds the GIL, which is why "
        f"the server decodes in --workers processes and can use every core). "
        f"The server's own work is not counted."
    )
    if one.finals == 0:
        print("failure: the sphinx engine recognised no utterance in speech")
        return False
    return True


# --- main -----------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument(
        "--levels", default=DEFAULT_LEVELS, help="session counts to try, comma-separated"
    )
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per session")
    parser.add_argument("--clients", type=int, default=4, help="client processes")
    parser.add_argument("--target-ms", type=float, default=200.0, help="p99 latency target")
    parser.add_argument(
        "--engine", default="scripted", choices=("scripted", "sphinx"), help="server engine"
    )
    parser.add_argument(
        "--keep-going", action="store_true", help="try every level, even past a miss"
    )
    parser.add_argument("--skip-ramp", action="store_true", help="skip part 1")
    parser.add_argument("--skip-sphinx", action="store_true", help="skip part 2")
    parser.add_argument(
        "--sphinx-seconds", type=float, default=60.0, help="speech decoded in part 2"
    )
    parser.add_argument("--speech", help="a 16 kHz mono 16-bit WAV of speech for part 2")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    exit_on_sigterm()
    ok = True
    try:
        if not args.skip_ramp:
            ok = ramp(args) and ok
            print()
        if not args.skip_sphinx:
            ok = sphinx_rtf(args) and ok
    except BenchmarkFailure as exc:
        print(f"failure: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
