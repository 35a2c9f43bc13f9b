"""One key flooding `gladia serve`'s pre-recorded API, beside another key's job and a live
session (issue 18, item 4).

The flood (key `flood`): two 200 KB WAVs declaring 1 Hz × 100 000 s, each uploaded and
given a job; then jobs on a `--flood-minutes` file, created until the server answers 429
(at most 1000). Meanwhile a live session (key `live`) streams `--live-seconds` at the pace
of speech, and, once the flood is queued, another key (`other`) uploads a 13 s file and
creates a job. `--alone`: the live session only, the baseline on a loaded machine.

Reported: what the flood got (jobs accepted, refusals), the live session's acknowledgment
latency (send of a 100 ms chunk → its ack; p50, p99, max), how long the other key's job
took (create → done, or `>` the timeout), and the server's RSS (start, peak, end). The
scripted engine: the figures are the server's, not a recogniser's.

    .venv/bin/python benchmarks/flood_fairness.py                    # this checkout
    .venv/bin/python benchmarks/flood_fairness.py --repo /path/to/main   # another one

`--repo` runs that checkout's `gladia_cli` (python -m, from that folder) as the server.
"""

from __future__ import annotations

import argparse
import io
import json
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import _support
import requests
import soundfile
import websocket
from _support import CHUNK_BYTES, CHUNK_SECONDS, HelpFormatter, percentile, table

TIMEOUT = 120.0  # seconds the other key's job is waited for


def one_hz_wav() -> bytes:
    samples = b"\x01\x00" * 100_000
    header = b"RIFF" + struct.pack("<I", 36 + len(samples)) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 1, 2, 2, 16) + b"data"
    return header + struct.pack("<I", len(samples)) + samples


def wav(seconds: float, seed: int) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, _support.speech_like(seconds, seed=seed), 16000, format="WAV")
    return buffer.getvalue()


@contextmanager
def server(repo: Path) -> Iterator[tuple[str, int]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "gladia_cli", "serve", "--port", "0", "--engine", "scripted"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        if not url.startswith("http://"):
            raise _support.BenchmarkFailure("gladia serve did not start")
        yield url, process.pid
    finally:
        _support.stop_process(process, timeout=20)


def rss_mib(pid: int) -> float:
    memory = _support.process_memory(pid)
    return float("nan") if memory is None else _support.mib(memory[0])


def live_session(url: str, seconds: float, latencies: list[float]) -> None:
    """Stream at the pace of speech; each ack's latency from its chunk's send."""
    created = requests.post(f"{url}/v2/live", json={}, headers={"x-gladia-key": "live"}).json()
    ws = websocket.create_connection(created["url"], timeout=30)
    sent_at: dict[int, float] = {}
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                message = json.loads(ws.recv())
            except (websocket.WebSocketException, OSError, ValueError):
                return
            if message.get("type") == "audio_chunk" and message.get("acknowledged"):
                end = message["data"]["byte_range"][1]
                if end in sent_at:
                    latencies.append(time.monotonic() - sent_at.pop(end))
            if message.get("type") == "end_session":
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    audio = _support.speech_like(seconds, seed=9).tobytes()
    start = time.monotonic()
    for n, offset in enumerate(range(0, len(audio), CHUNK_BYTES)):
        time.sleep(max(0.0, start + n * CHUNK_SECONDS - time.monotonic()))
        piece = audio[offset : offset + CHUNK_BYTES]
        sent_at[offset + len(piece)] = time.monotonic()
        ws.send_binary(piece)
    ws.send(json.dumps({"type": "stop_recording"}))
    reader.join(60)
    done.set()
    ws.close()


def upload(url: str, key: str, data: bytes) -> requests.Response:
    return requests.post(
        f"{url}/v2/upload",
        files={"audio": ("a.wav", data)},
        headers={"x-gladia-key": key},
        timeout=120,
    )


def create(url: str, key: str, audio_url: str) -> requests.Response:
    return requests.post(
        f"{url}/v2/pre-recorded",
        json={"audio_url": audio_url},
        headers={"x-gladia-key": key},
        timeout=60,
    )


def flood(url: str, minutes: float, counts: dict[str, int]) -> None:
    for _ in range(2):
        uploaded = upload(url, "flood", one_hz_wav())
        counts[f"1 Hz upload {uploaded.status_code}"] = (
            counts.get(f"1 Hz upload {uploaded.status_code}", 0) + 1
        )
        if uploaded.ok:
            job = create(url, "flood", uploaded.json()["audio_url"])
            counts[f"1 Hz job {job.status_code}"] = counts.get(f"1 Hz job {job.status_code}", 0) + 1
    long = upload(url, "flood", wav(minutes * 60, seed=1))
    if not long.ok:
        counts[f"long upload {long.status_code}"] = 1
        return
    for _ in range(1000):
        job = create(url, "flood", long.json()["audio_url"])
        counts[f"jobs {job.status_code}"] = counts.get(f"jobs {job.status_code}", 0) + 1
        if job.status_code == 429:
            return


def other_job(url: str) -> tuple[str, float | None]:
    uploaded = upload(url, "other", wav(13.0, seed=2))
    if not uploaded.ok:
        return f"upload {uploaded.status_code}", None
    started = time.monotonic()
    job = create(url, "other", uploaded.json()["audio_url"])
    if job.status_code != 201:
        return f"create {job.status_code}", None
    while time.monotonic() - started < TIMEOUT:
        view = requests.get(
            f"{url}/v2/pre-recorded/{job.json()['id']}", headers={"x-gladia-key": "other"}
        ).json()
        if view["status"] in ("done", "error"):
            return view["status"], time.monotonic() - started
        time.sleep(0.2)
    return "still " + view["status"], None


def waited(took: float | None, alone: bool) -> object:
    if took is not None:
        return round(took, 2)
    return "-" if alone else f"> {TIMEOUT:g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--repo", type=Path, default=_support.ROOT, help="checkout to serve")
    parser.add_argument("--live-seconds", type=float, default=30.0)
    parser.add_argument("--flood-minutes", type=float, default=10.0)
    parser.add_argument("--alone", action="store_true", help="the live session only (baseline)")
    args = parser.parse_args()
    _support.exit_on_sigterm()
    print(_support.load_note())
    with server(args.repo.resolve()) as (url, pid):
        rss = [rss_mib(pid)]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.5):
                rss.append(rss_mib(pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        latencies: list[float] = []
        counts: Counter[str] = Counter()
        live = threading.Thread(target=live_session, args=(url, args.live_seconds, latencies))
        live.start()
        outcome, took = "-", None
        if not args.alone:
            flood(url, args.flood_minutes, counts)
            outcome, took = other_job(url)
        live.join()
        stop.set()
        sampler.join()
        end = rss_mib(pid)
    ms = [1000 * x for x in latencies]
    print(
        table(
            [
                "flood got",
                "live acks",
                "ack p50 ms",
                "ack p99 ms",
                "ack max ms",
                "other key's job",
                "its wall s",
                "RSS start MiB",
                "peak",
                "end",
            ],
            [
                [
                    ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
                    len(ms),
                    round(percentile(ms, 50), 1) if ms else "-",
                    round(percentile(ms, 99), 1) if ms else "-",
                    round(max(ms), 1) if ms else "-",
                    outcome,
                    round(took, 2)
                    if took is not None
                    else ("-" if args.alone else f"> {TIMEOUT:g}"),
                    round(rss[0], 1),
                    round(max(rss), 1),
                    round(end, 1),
                ]
            ],
        )
    )


if __name__ == "__main__":
    main()
