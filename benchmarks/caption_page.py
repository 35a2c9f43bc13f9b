"""`--web`: how long a caption takes from the renderer to the pages, and what viewers cost.

The caption server (render/caption_server.py) in this process, on loopback; VIEWERS plain
HTTP clients read `/events` as a page's EventSource does, each on its own thread. The
renderer's side adds a final transcript every 100 ms (ten captions a second, a busy
meeting) for SECONDS; each client notes when each event arrived. Printed: the delay from
`update` (the renderer handing the message over) to its arrival, p50 / p95 / max over
every viewer and event; how long `update` itself took (what the session's receiver thread
pays); and the threads. One more viewer never reads (a frozen browser tab, its receive
buffer tiny): it must not slow the others nor `update`.

    python benchmarks/caption_page.py [VIEWERS] [SECONDS]
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import sys
import threading
import time

from gladia_cli.protocol.messages import parse_server_message
from gladia_cli.render.caption_events import CaptionEvents
from gladia_cli.render.caption_server import CaptionServer


def _transcript(index: int, sent: float) -> str:
    utterance = {
        "text": f" caption number {index}, with a few words to make it a line",
        "start": index * 0.1,
        "end": index * 0.1 + 0.1,
        "confidence": 0.9,
        "channel": index % 2,
        "language": "en",
        "words": [],
    }
    data = {"id": f"{index % 2:02d}_{index}", "is_final": True, "utterance": utterance}
    return json.dumps({"type": "transcript", "sent": sent, "data": data})


def _viewer(port: int, arrivals: list[float], delays: list[float], ready: threading.Event) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/events")
    response = connection.getresponse()
    ready.set()
    while raw := response.readline():
        line = raw.decode()
        if line.startswith('data: {"type"'):
            now = time.monotonic()
            delays.append(now - json.loads(line[6:])["sent"])
            arrivals.append(now)


def _frozen(port: int) -> socket.socket:
    """A viewer that asks for the stream and never reads it, with a receive buffer so small
    that the server's writes to it soon block."""
    frozen = socket.socket()
    frozen.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    frozen.connect(("127.0.0.1", port))
    frozen.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return frozen


def main() -> None:
    viewers = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    server = CaptionServer(CaptionEvents("bench"))
    server.update(lambda events: events.session("bench", ["a", "b"], 2, True))
    delays: list[list[float]] = [[] for _ in range(viewers)]
    readers = []
    for index in range(viewers):
        ready = threading.Event()
        reader = threading.Thread(
            target=_viewer, args=(server.port, [], delays[index], ready), daemon=True
        )
        reader.start()
        ready.wait(10)
        readers.append(reader)
    frozen = _frozen(server.port)
    threads_before = threading.active_count()
    costs = []
    count = int(seconds * 10)
    began = time.monotonic()
    for index in range(count):
        due = began + index * 0.1
        time.sleep(max(0.0, due - time.monotonic()))
        message = parse_server_message(_transcript(index, time.monotonic()))
        start = time.perf_counter()
        server.update(lambda events, m=message: events.message(m))  # type: ignore[misc]
        costs.append(time.perf_counter() - start)
    time.sleep(0.5)
    closing = time.monotonic()
    server.close()
    closed = time.monotonic() - closing
    frozen.close()
    every = sorted(d for per in delays for d in per)
    got = [len(per) for per in delays]
    ms = 1000.0
    print(f"{viewers} viewers + 1 frozen, {count} captions at 10/s over {seconds:g} s")
    print(f"received per viewer: min {min(got)}, max {max(got)} (of {count})")
    print(
        f"renderer → page: p50 {statistics.median(every) * ms:.2f} ms, "
        f"p95 {every[int(0.95 * (len(every) - 1))] * ms:.2f} ms, max {every[-1] * ms:.2f} ms"
    )
    costs.sort()
    print(
        f"update() on the receiver thread: p50 {statistics.median(costs) * 1e6:.0f} µs, "
        f"max {costs[-1] * 1e6:.0f} µs"
    )
    print(
        f"threads while serving: {threads_before} (per viewer: one reading here, one "
        f"serving it); close took {closed:.2f} s"
    )
    if min(got) != count:
        sys.exit("a viewer missed captions")


if __name__ == "__main__":
    main()
