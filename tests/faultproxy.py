"""A TCP proxy on 127.0.0.1 that breaks connections on purpose: the faults real networks
have and a server cannot inject on itself.

It sits between the CLI (`--api-url` = the proxy) and a `gladia serve` process. The server
builds the WebSocket URL from the request's Host header, so the socket goes through the
proxy too. Each connection is classified by its request line: `POST /v2/live` (init),
`GET /v2/live?token=` (the WebSocket), `GET /v2/live/…` (REST).

Faults, all seeded (`Plan.seed`), bounded in count, and only within `Plan.deadline`
seconds of the start:

- cuts of WebSocket connections a few milliseconds after a random number of client→server
  bytes (mid-frame), as an RST (SO_LINGER 0) or a FIN, never a close frame; the connection
  after a cut can be cut early, during its re-send (`cut_after_resend`);
- a stall (nothing forwarded for S seconds, the connection kept), a black hole (nothing
  forwarded, never closed), throttling;
- acknowledgments lost: the server→client frames are parsed (they are unmasked), N
  `audio_chunk` acks dropped, then the connection cut (`drop_acks`), or every ack dropped
  (`withhold_acks`);
- a cut just before a given message type reaches the client (`cut_before`: post-processing);
- final transcripts dropped without a cut (`drop_finals`): what a server that does not
  re-deliver looks like to the client;
- `POST /v2/live` connections cut before their answer (`cut_init`); the reply to any
  request cut after the server acted, whole or inside its headers (`cut_reply`,
  `cut_reply_at`); REST GETs refused (`refuse_rest`); after each cut, new connections
  refused for a while (`outage`).

`ProxyStats` records what fired, and for each cut how long until the next acknowledgment
reached the client (the time to recover).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Plan:
    seed: int = 0
    deadline: float = 120.0  # seconds after start: no fault fires later
    cuts: int = 0  # WebSocket connections cut, in all
    cut_after: tuple[int, int] = (100_000, 400_000)  # client→server bytes before a cut
    cut_after_resend: tuple[int, int] | None = None  # the same, for a connection after a cut
    # Seconds forwarding goes on once the byte threshold is passed: a cut falls at a random
    # moment, not always before the server could answer (loopback moves megabytes per ms).
    cut_delay: tuple[float, float] = (0.002, 0.02)
    cut_style: str = "mixed"  # rst, fin, or mixed (seeded)
    # Whose bytes `cut_after` counts: "up" (client→server, the audio) or "down" (server→
    # client: acknowledgments, transcripts, re-deliveries), for cuts that fall while the
    # server writes rather than while the client does.
    cut_direction: str = "up"
    stall_after: int | None = None  # client→server bytes on the first WebSocket, then…
    stall_seconds: float = 0.0  # …nothing forwarded for this long
    black_hole_after: int | None = None  # client→server bytes on the first WebSocket
    throttle: int | None = None  # bytes per second, each way
    drop_acks: int = 0  # acknowledgments dropped on the first WebSocket, then a cut
    withhold_acks: bool = False  # every acknowledgment dropped, for the whole session
    cut_before: str | None = None  # cut once, just before a message of this type
    drop_finals: int = 0  # final transcripts dropped (no cut)
    cut_init: int = 0  # POST /v2/live connections cut before their answer
    # Replies cut after the server answered (it acted): one cut per entry, for requests whose
    # request line starts with it (e.g. "POST /v2/upload"), after `cut_reply_at` bytes of the
    # reply (0: none; 40: inside its headers).
    cut_reply: tuple[str, ...] = ()
    cut_reply_at: int = 0
    refuse_rest: bool = False  # GET /v2/live/{id} connections cut at once
    outage: float = 0.0  # seconds new connections are refused after each cut


@dataclass
class ProxyStats:
    cuts: list[float] = field(default_factory=list)  # when, monotonic
    recoveries: list[float] = field(default_factory=list)  # seconds, cut → next ack
    stalls: int = 0
    black_holes: int = 0
    acks_dropped: int = 0
    finals_dropped: int = 0
    init_cuts: int = 0
    reply_cuts: list[str] = field(default_factory=list)  # the request lines whose reply was cut
    refused: int = 0
    websockets: int = 0


_HEADER_END = b"\r\n\r\n"
_READ = 16384  # bytes per read: how finely a byte threshold can fall


class _Frames:
    """Splits an unmasked server→client WebSocket byte stream into whole frames."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.headers_done = False

    def feed(self, data: bytes) -> list[tuple[int, bytes, bytes]]:
        """(opcode, payload, raw bytes) of each frame completed; HTTP headers as opcode -1."""
        self.buffer += data
        out: list[tuple[int, bytes, bytes]] = []
        if not self.headers_done:
            end = self.buffer.find(_HEADER_END)
            if end < 0:
                return out
            raw = bytes(self.buffer[: end + 4])
            del self.buffer[: end + 4]
            self.headers_done = True
            out.append((-1, b"", raw))
        while len(self.buffer) >= 2:
            opcode = self.buffer[0] & 0x0F
            length = self.buffer[1] & 0x7F
            masked = self.buffer[1] & 0x80
            offset = 2
            if length == 126:
                if len(self.buffer) < 4:
                    break
                length = struct.unpack(">H", self.buffer[2:4])[0]
                offset = 4
            elif length == 127:
                if len(self.buffer) < 10:
                    break
                length = struct.unpack(">Q", self.buffer[2:10])[0]
                offset = 10
            if masked:
                offset += 4
            if len(self.buffer) < offset + length:
                break
            raw = bytes(self.buffer[: offset + length])
            payload = raw[offset:]
            del self.buffer[: offset + length]
            out.append((opcode, payload, raw))
        return out


class FaultProxy:
    def __init__(self, upstream: str, plan: Plan | None = None) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.plan = plan or Plan()
        self.stats = ProxyStats()
        self.url = ""
        self._rng = random.Random(self.plan.seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._ready = threading.Event()
        self._started = 0.0
        self._refuse_until = 0.0
        self._after_cut = False  # the next WebSocket follows a cut
        self._pending_recovery: float | None = None
        self._first_websocket_done = False
        self._cut_before_done = False
        self._acks_to_drop = self.plan.drop_acks
        self._finals_to_drop = self.plan.drop_finals
        self._replies_to_cut = list(self.plan.cut_reply)
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    # --- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0)
        )
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._started = time.monotonic()
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    # --- connections ---------------------------------------------------------------------

    def _active(self) -> bool:
        return time.monotonic() - self._started < self.plan.deadline

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        # Cancelled at shutdown: end quietly (asyncio would log the cancellation).
        with contextlib.suppress(asyncio.CancelledError):
            await self._proxy(client_r, client_w)

    async def _proxy(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter):
        self._writers.add(client_w)
        try:
            if time.monotonic() < self._refuse_until:
                self.stats.refused += 1
                _reset(client_w)
                return
            try:
                first = await client_r.readuntil(b"\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            try:
                server_r, server_w = await asyncio.open_connection(*self._upstream)
            except OSError:
                _reset(client_w)
                return
            self._writers.add(server_w)
            kind = _kind(first)
            try:
                if kind == "rest" and self.plan.refuse_rest:
                    self.stats.refused += 1
                    _reset(client_w)
                    return
                link = _Link(self, kind, client_r, client_w, server_r, server_w, first)
                server_w.write(first)
                await link.run()
            finally:
                self._writers.discard(server_w)
                server_w.transport.abort()
        finally:
            self._writers.discard(client_w)
            client_w.transport.abort()

    def _cut_threshold(self) -> int | None:
        if not self._active() or len(self.stats.cuts) >= self.plan.cuts:
            return None
        bounds = self.plan.cut_after
        if self._after_cut and self.plan.cut_after_resend is not None:
            bounds = self.plan.cut_after_resend
        return self._rng.randint(*bounds)

    def _cut_rst(self) -> bool:
        if self.plan.cut_style == "rst":
            return True
        if self.plan.cut_style == "fin":
            return False
        return self._rng.random() < 0.5

    def _record_cut(self) -> None:
        now = time.monotonic()
        self.stats.cuts.append(now)
        self._after_cut = True
        if self._pending_recovery is None:
            self._pending_recovery = now
        if self.plan.outage:
            self._refuse_until = now + self.plan.outage

    def _ack_reached_client(self) -> None:
        if self._pending_recovery is not None:
            self.stats.recoveries.append(time.monotonic() - self._pending_recovery)
            self._pending_recovery = None


class _Link:
    """One proxied connection: two pumps and the faults this connection is due."""

    def __init__(
        self,
        proxy: FaultProxy,
        kind: str,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        server_r: asyncio.StreamReader,
        server_w: asyncio.StreamWriter,
        request_line: bytes = b"",
    ) -> None:
        self.proxy = proxy
        self.request_line = request_line.decode("latin-1").strip()
        self.plan = proxy.plan
        self.kind = kind
        self.client_r, self.client_w = client_r, client_w
        self.server_r, self.server_w = server_r, server_w
        self.flowing = asyncio.Event()
        self.flowing.set()
        self.done = asyncio.Event()
        self.sent = 0  # client→server bytes
        self.received = 0  # server→client bytes
        self.cut_at: int | None = None
        self.stall_at: int | None = None
        self.hole_at: int | None = None
        self.cut_on_acks = False
        self.reply_started = False
        if kind == "websocket":
            proxy.stats.websockets += 1
            first = not proxy._first_websocket_done
            proxy._first_websocket_done = True
            self.cut_at = proxy._cut_threshold()
            proxy._after_cut = False
            if first and proxy._active():
                self.stall_at = self.plan.stall_after
                self.hole_at = self.plan.black_hole_after
                self.cut_on_acks = self.plan.drop_acks > 0

    async def run(self) -> None:
        up = asyncio.ensure_future(self._client_to_server())
        down = asyncio.ensure_future(self._server_to_client())
        await self.done.wait()
        for task in (up, down):
            task.cancel()
        await asyncio.gather(up, down, return_exceptions=True)

    def cut(self, *, counted: bool = True) -> None:
        if self.done.is_set():
            return  # the connection ended meanwhile
        rst = self.proxy._cut_rst()
        for writer in (self.client_w, self.server_w):
            if rst:
                _reset(writer)
            else:
                writer.transport.abort()
        if counted:
            self.proxy._record_cut()
        self.done.set()

    async def _pause(self, seconds: float) -> None:
        self.flowing.clear()
        await asyncio.sleep(seconds)
        self.flowing.set()

    async def _throttle(self, size: int) -> None:
        if self.plan.throttle:
            await asyncio.sleep(size / self.plan.throttle)

    async def _client_to_server(self) -> None:
        try:
            while True:
                data = await self.client_r.read(_READ)
                if not data:
                    break
                await self.flowing.wait()
                before = self.sent
                self.sent += len(data)
                if self.hole_at is not None and self.sent > self.hole_at:
                    self.proxy.stats.black_holes += 1
                    self.proxy._pending_recovery = time.monotonic()
                    self.server_w.write(data[: max(0, self.hole_at - before)])
                    self.flowing.clear()  # never set again: nothing forwarded, nothing closed
                    await asyncio.Event().wait()
                if (
                    self.plan.cut_direction == "up"
                    and self.cut_at is not None
                    and (self.sent > self.cut_at)
                ):
                    self.cut_at = None
                    delay = self.proxy._rng.uniform(*self.plan.cut_delay)
                    asyncio.get_running_loop().call_later(delay, self.cut)
                if self.done.is_set() or self.server_w.is_closing():
                    break
                self.server_w.write(data)
                await self.server_w.drain()
                if self.stall_at is not None and self.sent > self.stall_at:
                    self.stall_at = None
                    self.proxy.stats.stalls += 1
                    await self._pause(self.plan.stall_seconds)
                await self._throttle(len(data))
        except (ConnectionError, OSError):
            pass
        self.done.set()

    async def _server_to_client(self) -> None:
        frames = _Frames() if self.kind == "websocket" else None
        # Plain HTTP: one request per connection (`Connection: close` added to the answer),
        # so that every request is classified by its own request line.
        headers: bytearray | None = None if frames is not None else bytearray()
        try:
            while True:
                data = await self.server_r.read(_READ)
                if not data:
                    break
                await self.flowing.wait()
                if self._reply_cut_due():
                    self.client_w.write(data[: self.plan.cut_reply_at])
                    await self.client_w.drain()
                    self.cut(counted=False)
                    return
                init_cut_due = self.proxy.stats.init_cuts < self.plan.cut_init
                if self.kind == "init" and init_cut_due and self.proxy._active():
                    self.proxy.stats.init_cuts += 1
                    self.cut(counted=False)
                    return
                if self.done.is_set() or self.client_w.is_closing():
                    break
                self.received += len(data)
                if (
                    self.plan.cut_direction == "down"
                    and self.cut_at is not None
                    and (self.received > self.cut_at)
                ):
                    self.cut_at = None
                    delay = self.proxy._rng.uniform(*self.plan.cut_delay)
                    asyncio.get_running_loop().call_later(delay, self.cut)
                if headers is not None:
                    headers += data
                    end = headers.find(_HEADER_END)
                    if end < 0:
                        continue
                    data = bytes(headers[:end]) + b"\r\nConnection: close" + bytes(headers[end:])
                    headers = None
                if frames is None:
                    self.client_w.write(data)
                else:
                    for opcode, payload, raw in frames.feed(data):
                        if not self._forward(opcode, payload):
                            if self.done.is_set():
                                return
                            continue
                        self.client_w.write(raw)
                await self.client_w.drain()
                await self._throttle(len(data))
        except (ConnectionError, OSError):
            pass
        self.done.set()

    def _reply_cut_due(self) -> bool:
        """Whether this reply is cut now (once per matching `cut_reply` entry)."""
        proxy = self.proxy
        if self.reply_started or not proxy._active():
            return False
        self.reply_started = True
        for prefix in proxy._replies_to_cut:
            if self.request_line.startswith(prefix):
                proxy._replies_to_cut.remove(prefix)
                proxy.stats.reply_cuts.append(self.request_line)
                return True
        return False

    def _forward(self, opcode: int, payload: bytes) -> bool:
        """Whether a server→client frame goes through (it may also cut the connection)."""
        if opcode != 1:  # headers, binary, control frames
            return True
        try:
            message = json.loads(payload)
        except ValueError:
            return True
        kind = message.get("type")
        proxy, active = self.proxy, self.proxy._active()
        if kind == "audio_chunk":
            if self.plan.withhold_acks:
                proxy.stats.acks_dropped += 1
                return False
            if self.cut_on_acks and active:
                if proxy._acks_to_drop > 0:
                    proxy._acks_to_drop -= 1
                    proxy.stats.acks_dropped += 1
                    return False
                self.cut_on_acks = False
                self.cut()
                return False
            proxy._ack_reached_client()
            return True
        if kind == self.plan.cut_before and not proxy._cut_before_done and active:
            proxy._cut_before_done = True
            self.cut()
            return False
        data = message.get("data")
        is_final = isinstance(data, dict) and data.get("is_final")
        if kind == "transcript" and is_final and proxy._finals_to_drop > 0 and active:
            proxy._finals_to_drop -= 1
            proxy.stats.finals_dropped += 1
            return False
        return True


def _kind(request_line: bytes) -> str:
    if request_line.startswith(b"POST /v2/live"):
        return "init"
    if request_line.startswith(b"GET /v2/live?") and b"token=" in request_line:
        return "websocket"
    if request_line.startswith(b"GET /v2/live/"):
        return "rest"
    return "other"


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST: SO_LINGER on, zero seconds."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
