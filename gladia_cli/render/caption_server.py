"""The `--web` caption page's HTTP server: the standard library's, one thread per viewer.

`/` is the page (caption_page.py), `/events` the session as server-sent events
(caption_events.py). The renderer only appends to the event history and wakes the viewers'
threads: a slow or stalled viewer delays no one but itself (its writes time out), and never
the session. Each viewer's thread walks the shared, bounded history with its own cursor, so a
viewer costs no memory of its own.

Who may look: by default the server listens on 127.0.0.1 only, and answers only requests
addressed to a loopback name (a web page cannot reach it through DNS rebinding; another
origin cannot read the stream, which sends no CORS header). Beyond loopback (`--web-host`)
every request must carry the run's token (`?token=`), compared in constant time.
"""

from __future__ import annotations

import hmac
import http.server
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gladia_cli.errors import UsageError
from gladia_cli.render.caption_events import RETRY_MS, CaptionEvents
from gladia_cli.render.caption_page import caption_page

LOOPBACK = "127.0.0.1"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
MAX_VIEWERS = 32
HEARTBEAT_SECONDS = 15.0  # a comment line, so that proxies and OBS keep the stream open
SEND_TIMEOUT_SECONDS = 10.0  # a viewer that takes nothing for this long is dropped
CLOSE_GRACE_SECONDS = 2.0  # at the end, how long viewers get to receive the last captions


class CaptionServer:
    """Serves the page and `events` (a CaptionEvents that only `update` changes)."""

    def __init__(
        self,
        events: CaptionEvents,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        token: str | None = None,
        on_viewer: Callable[[int], None] = lambda count: None,
        max_viewers: int = MAX_VIEWERS,
        heartbeat: float = HEARTBEAT_SECONDS,
        send_timeout: float = SEND_TIMEOUT_SECONDS,
    ) -> None:
        self.events = events
        self.host = host
        self.token = token
        self._on_viewer = on_viewer
        self._max_viewers = max_viewers
        self._heartbeat = heartbeat
        self._send_timeout = send_timeout
        self._changed = threading.Condition()
        self._viewers = 0
        self._closing = False
        self._http = _bind(host, port, self)
        self.port: int = self._http.server_address[1]
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.1},  # how soon close() is obeyed
            name="gladia-captions",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """The page's address: on loopback, or (with a token) at this machine's name."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):
            host = socket.gethostname()
        elif ":" in host:
            host = f"[{host}]"
        query = f"?token={self.token}" if self.token else ""
        return f"http://{host}:{self.port}/{query}"

    @property
    def viewers(self) -> int:
        with self._changed:
            return self._viewers

    def update(self, change: Callable[[CaptionEvents], object]) -> None:
        """Change the history (under the lock) and wake every viewer."""
        with self._changed:
            change(self.events)
            self._changed.notify_all()

    def close(self, grace: float = CLOSE_GRACE_SECONDS) -> None:
        """Let the viewers take what is left (for `grace` at most), then stop serving."""
        deadline = time.monotonic() + grace
        with self._changed:
            if self._closing:
                return
            self._closing = True
            self._changed.notify_all()
            while self._viewers and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)
        self._http.shutdown()
        self._http.server_close()

    # --- called by the handler, on a viewer's thread ---------------------------------------

    def allowed(self, host_header: str | None, query: dict[str, list[str]]) -> str | None:
        """Why a request is refused, or None."""
        if self.token is not None:
            given = (query.get("token") or [""])[0]
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return "this page needs the token the CLI printed (?token=…)"
            return None
        name = (host_header or "").rsplit(":", 1)[0].lower() if host_header else ""
        if name not in LOOPBACK_NAMES:
            return "only loopback names are served (127.0.0.1, localhost)"
        return None

    def stream(self, write: Callable[[bytes], None], last_event_id: str | None) -> None:
        """Write the events a viewer has not seen, then each one as it comes, until the
        server closes (or the viewer goes: `write` raises OSError)."""
        with self._changed:
            if self._viewers >= self._max_viewers:
                raise TooManyViewers
            self._viewers += 1
            count = self._viewers
            seen = self.events.seq_of(last_event_id)
        try:
            self._on_viewer(count)
            write(f"retry: {RETRY_MS}\n\n".encode())
            while True:
                with self._changed:
                    pending = self.events.after(seen)
                    if not pending and not self._closing:
                        self._changed.wait(self._heartbeat)
                        pending = self.events.after(seen)
                    closing = self._closing
                if pending:
                    write(b"".join(event.frame(self.events.run) for event in pending))
                    seen = pending[-1].seq
                elif closing:
                    return
                else:
                    write(b": keep-alive\n\n")
        finally:
            with self._changed:
                self._viewers -= 1
                self._changed.notify_all()


class TooManyViewers(Exception):
    pass


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HttpServer
    server_version = "gladia-captions"
    sys_version = ""
    timeout = SEND_TIMEOUT_SECONDS  # a request that never comes does not hold a thread

    def do_GET(self) -> None:  # the name http.server calls
        captions = self.server.captions
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        refused = captions.allowed(self.headers.get("Host"), query)
        if refused is not None:
            self._plain(403, refused)
        elif parts.path == "/":
            page = caption_page()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page.body)))
            self.send_header("Content-Security-Policy", page.policy)
            self._common_headers()
            self.end_headers()
            self.wfile.write(page.body)
        elif parts.path == "/events":
            self._events(captions)
        else:
            self._plain(404, "not found: the caption page is /")

    def _events(self, captions: CaptionServer) -> None:
        self.connection.settimeout(captions._send_timeout)

        def write(data: bytes) -> None:
            self.wfile.write(data)
            self.wfile.flush()

        def begin() -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("X-Accel-Buffering", "no")
            self._common_headers()
            self.end_headers()

        started = False

        def first_write(data: bytes) -> None:
            nonlocal started
            if not started:
                begin()
                started = True
            write(data)

        try:
            captions.stream(first_write, self.headers.get("Last-Event-ID"))
        except TooManyViewers:
            self._plain(503, "too many viewers")
        except OSError:
            pass  # the viewer went away

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")

    def _plain(self, status: int, text: str) -> None:
        body = (text + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._common_headers()
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # stderr is the person's: the CLI says what matters (a viewer connected)


class _HttpServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    captions: CaptionServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a viewer's broken connection is its own business: no traceback on stderr


def _bind(host: str, port: int, captions: CaptionServer) -> _HttpServer:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise UsageError(
            f"cannot serve the caption page on {host!r}: {exc.strerror}",
            hint="give an address of this machine, e.g. --web-host 0.0.0.0 (every interface)",
        ) from None

    class Bound(_HttpServer):
        address_family = family

    try:
        server = Bound((host, port), _Handler)
    except OSError as exc:
        where = f"{host}:{port}" if port else host
        raise UsageError(
            f"cannot serve the caption page on {where}: {exc.strerror or exc}",
            hint="choose another --web-port (0: a free one)"
            if port
            else "give an address of this machine with --web-host",
        ) from None
    server.captions = captions
    return server
