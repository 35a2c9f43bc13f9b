"""A loopback API that redirects every request, and the server it redirects to on a second
loopback address (127.0.0.2: another host as far as any client can tell), which records
every request and the headers that came with it.

`Redirector(status)`: every request to 127.0.0.1 is answered `status` (302, 307…) with a
Location on 127.0.0.2 (same path and query), except paths under `/moved/`, which it answers
itself as a terse Gladia would (its own same-origin redirect: `same_origin=True`).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

FAR_HOST = "127.0.0.2"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Recorder:
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Received) -> None:
        with self.lock:
            self.requests.append(item)

    def header_names(self) -> set[str]:
        with self.lock:
            return {name for r in self.requests for name in r.headers}


def _answer_as_gladia(handler: BaseHTTPRequestHandler, host: str, keyed: bool) -> None:
    """What a terse Gladia answers: 401 without a key; with one, a list or a creation."""
    if not keyed:
        _json(handler, 401, {"statusCode": 401, "message": "gladia key not found"})
    elif handler.command == "POST" and handler.path.split("?")[0].endswith("/v2/live"):
        _json(
            handler,
            201,
            {"id": "s1", "created_at": "2026-01-01T00:00:00Z", "url": f"ws://{host}/v2/live?t=1"},
        )
    else:
        _json(handler, 200, {"items": [], "first": "", "current": "", "next": None})


def _json(handler: BaseHTTPRequestHandler, status: int, body: Any) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _read(handler: BaseHTTPRequestHandler) -> Received:
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else b""
    headers = {k.lower(): v for k, v in handler.headers.items()}
    return Received(handler.command, handler.path, headers, body)


class _Server:
    def __init__(self, host: str, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer((host, 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(10)


class Redirector:
    def __init__(self, status: int = 302, *, far_answers_with_key: bool = False) -> None:
        self.status = status
        self.far = Recorder()  # what reached 127.0.0.2
        self.near = Recorder()  # what reached 127.0.0.1 under /moved/ (same origin)
        outer = self

        class Far(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                received = _read(self)
                outer.far.add(received)
                keyed = far_answers_with_key or "x-gladia-key" in received.headers
                _answer_as_gladia(self, self.headers.get("Host", ""), keyed)

            do_GET = do_POST = do_DELETE = _any

        class Near(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                received = _read(self)
                if self.path.startswith("/moved/"):
                    outer.near.add(received)
                    keyed = "x-gladia-key" in received.headers
                    _answer_as_gladia(self, self.headers.get("Host", ""), keyed)
                    return
                if outer.same_origin:
                    target = f"{outer.near_server.url}/moved{self.path}"
                else:
                    target = f"{outer.far_server.url}{self.path}"
                self.send_response(outer.status)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_DELETE = _any

        self.same_origin = False
        self.far_server = _Server(FAR_HOST, Far)
        self.near_server = _Server("127.0.0.1", Near)
        self.url = self.near_server.url

    def __enter__(self) -> Redirector:
        self.far_server.start()
        self.near_server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.near_server.stop()
        self.far_server.stop()
