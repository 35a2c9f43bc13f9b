"""Slow and numerous clients against `gladia serve` (issue 18, item 4).

1. `--drippers` connections (400) that drip a request's headers, a byte every second: how
   long the server holds them (connect → closed by the server; p50, max; at most
   `--patience` seconds are waited). Before: 100 s and more.
2. More connections than the server has file descriptors: a server limited to `--nofile`
   (1024) descriptors, `--connections` (1100) idle connections opened to it, kept
   `--hold` seconds: how many got a 503, how many lines the server logged meanwhile,
   whether a request is answered during (503) and right after they close (200). Before:
   39 022 "Too many open files" lines in 12 s and a server that stopped answering.

    .venv/bin/python benchmarks/slow_clients.py
    .venv/bin/python benchmarks/slow_clients.py --repo /path/to/main   # another checkout
"""

from __future__ import annotations

import argparse
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import _support
import requests
from _support import HelpFormatter, percentile, table

HEADERS = {"x-gladia-key": "bench"}


@contextmanager
def server(repo: Path, nofile: int | None = None) -> Iterator[tuple[str, Path]]:
    """`gladia serve` from `repo` (its stderr in a file), limited to `nofile` descriptors."""
    command = [sys.executable, "-m", "gladia_cli", "serve", "--port", "0", "--engine", "scripted"]
    if nofile is not None:
        limit = (
            "import os, resource, sys; "
            f"resource.setrlimit(resource.RLIMIT_NOFILE, ({nofile}, {nofile})); "
            "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
        )
        command = [sys.executable, "-c", limit, *command[1:]]
    with tempfile.NamedTemporaryFile(prefix="gladia-bench-", suffix=".log") as log:
        process = subprocess.Popen(
            command, cwd=repo, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL
        )
        try:
            assert process.stdout is not None
            url = process.stdout.readline().decode().strip()
            if not url.startswith("http://"):
                raise _support.BenchmarkFailure("gladia serve did not start")
            yield url, Path(log.name)
        finally:
            _support.stop_process(process, timeout=20)


def drip(url: str, count: int, patience: float) -> list[float]:
    """Seconds each dripping connection was held (`patience` for those never closed)."""
    host, port = url.removeprefix("http://").split(":")
    selector = selectors.DefaultSelector()
    opened: dict[socket.socket, float] = {}
    for _ in range(count):
        conn = socket.create_connection((host, int(port)))
        conn.setblocking(False)
        conn.send(b"POST /v2/live HTTP/1.1\r\nHost: x\r\n")
        opened[conn] = time.monotonic()
        selector.register(conn, selectors.EVENT_READ)
    held: list[float] = []
    start = time.monotonic()
    next_drip = start + 1.0
    while opened and time.monotonic() - start < patience:
        for key, _ in selector.select(timeout=max(0.0, next_drip - time.monotonic())):
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            if not data:
                held.append(time.monotonic() - opened.pop(conn))
                selector.unregister(conn)
                conn.close()
        if time.monotonic() >= next_drip:
            next_drip += 1.0
            for conn in list(opened):
                with suppress(OSError):
                    conn.send(b"X")  # one more byte of a header that never ends
    for conn, since in opened.items():
        held.append(time.monotonic() - since)
        conn.close()
    selector.close()
    return held


def swamp(url: str, log: Path, connections: int, hold: float) -> list[object]:
    host, port = url.removeprefix("http://").split(":")
    lines_before = len(log.read_text(errors="replace").splitlines())
    held = []
    refused = 0
    started = time.monotonic()
    for _ in range(connections):
        try:
            held.append(socket.create_connection((host, int(port)), timeout=5))
        except OSError:
            refused += 1
    answered_503 = 0
    with selectors.DefaultSelector() as selector:
        for conn in held:
            selector.register(conn, selectors.EVENT_READ)
        for key, _ in selector.select(timeout=1.0):  # the refused are answered at once
            conn = key.fileobj
            assert isinstance(conn, socket.socket)
            with suppress(OSError):
                answered_503 += conn.recv(12).startswith(b"HTTP/1.1 503")
    try:
        during: object = requests.get(f"{url}/v2/live", headers=HEADERS, timeout=5).status_code
    except requests.RequestException as exc:
        during = type(exc).__name__
    time.sleep(max(0.0, hold - (time.monotonic() - started)))
    for conn in held:
        conn.close()
    closed = time.monotonic()
    after: object = "no answer"
    while time.monotonic() - closed < 10:
        try:
            after = requests.get(f"{url}/v2/live", headers=HEADERS, timeout=2).status_code
        except requests.RequestException as exc:
            after = type(exc).__name__
        if after == 200:
            break
        time.sleep(0.1)
    took = time.monotonic() - closed
    lines = len(log.read_text(errors="replace").splitlines()) - lines_before
    return [connections, refused, answered_503, lines, during, after, round(took, 2)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--repo", type=Path, default=_support.ROOT, help="checkout to serve")
    parser.add_argument("--drippers", type=int, default=400)
    parser.add_argument("--patience", type=float, default=120.0)
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--connections", type=int, default=1100)
    parser.add_argument("--hold", type=float, default=12.0)
    args = parser.parse_args()
    _support.exit_on_sigterm()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.drippers + args.connections + 64
    if soft < wanted <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    print(_support.load_note())
    repo = args.repo.resolve()
    with server(repo) as (url, _):
        held = drip(url, args.drippers, args.patience)
    print(
        table(
            [
                "dripping connections",
                "held p50 s",
                "held max s",
                f"still open at {args.patience:g} s",
            ],
            [
                [
                    args.drippers,
                    round(percentile(held, 50), 1),
                    round(max(held), 1),
                    sum(h >= args.patience for h in held),
                ]
            ],
        )
    )
    with server(repo, args.nofile) as (url, log):
        row = swamp(url, log, args.connections, args.hold)
    print(
        table(
            [
                "connections",
                "connect failed",
                "got 503",
                "server log lines",
                "a request during",
                "after they closed",
                "answered after s",
            ],
            [row],
        )
    )


if __name__ == "__main__":
    main()
