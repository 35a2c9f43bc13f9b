"""What hostile or long-running use costs `gladia serve`: memory, GET body, descriptors.

1. A flood of small unknown-type messages on one socket (default 200 000): the server's
   RSS before and after, how many messages went out, the close code the client saw, and
   the size of `GET /v2/live/{id}` once the session ended (before issue 8: 69 → 520 MB and
   a 450 MB body).
2. `--sessions` short sessions one after another (default 300): the server's open file
   descriptors before and after (before issue 8: one more per finished session).

    .venv/bin/python benchmarks/server_bounds.py
    .venv/bin/python benchmarks/server_bounds.py --messages 50000 --sessions 100
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import requests
import websocket

HEADERS = {"x-gladia-key": "bench"}


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def _read_to_close(ws: websocket.WebSocket) -> int | None:
    """The close code, reading frames without answering pings (the server may be gone)."""
    try:
        while (frame := ws.recv_frame()).opcode != websocket.ABNF.OPCODE_CLOSE:
            pass
    except (websocket.WebSocketException, OSError):
        return None
    return int.from_bytes(frame.data[:2], "big") if len(frame.data) >= 2 else 1005


def _session(url: str) -> dict[str, str]:
    created: dict[str, str] = requests.post(
        f"{url}/v2/live", json={}, headers=HEADERS, timeout=10
    ).json()
    return created


def flood(url: str, pid: int, messages: int) -> None:
    created = _session(url)
    before = _rss_mib(pid)
    ws = websocket.create_connection(created["url"], timeout=30)
    frame = json.dumps({"type": "unknown_thing"})
    sent = 0
    try:
        for _ in range(messages):
            ws.send(frame)
            sent += 1
    except (websocket.WebSocketException, OSError):
        pass
    code = _read_to_close(ws)
    after = _rss_mib(pid)
    ending = websocket.create_connection(created["url"], timeout=30)
    ending.send(json.dumps({"type": "stop_recording"}))
    while ending.recv_data(control_frame=True)[0] != websocket.ABNF.OPCODE_CLOSE:
        pass
    body = requests.get(f"{url}/v2/live/{created['id']}", headers=HEADERS, timeout=30).content
    print(
        f"flood: {sent} messages sent, closed with {code}; "
        f"server RSS {before:.1f} -> {after:.1f} MiB; GET body {len(body)} bytes"
    )


def sessions(url: str, pid: int, count: int) -> None:
    audio = b"\0\1" * 16000  # 1 s
    before = _fds(pid)
    for _ in range(count):
        created = _session(url)
        ws = websocket.create_connection(created["url"], timeout=30)
        for start in range(0, len(audio), 3200):
            ws.send_bytes(audio[start : start + 3200])
        ws.send(json.dumps({"type": "stop_recording"}))
        while ws.recv_data(control_frame=True)[0] != websocket.ABNF.OPCODE_CLOSE:
            pass
        ws.shutdown()
    print(f"sessions: {count} finished; server file descriptors {before} -> {_fds(pid)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--sessions", type=int, default=300)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "gladia_cli", "serve", "--port", "0", "--engine", "scripted"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        flood(url, server.pid, args.messages)
        sessions(url, server.pid, args.sessions)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
