"""The real WebSocket connection (websocket-client) reading frames from a loopback peer.

The peer is a plain TCP server on 127.0.0.1 that answers the handshake and writes frames
exactly as given (websocket-client's own framing), so what a long frame costs the client
can be measured: a 10 h session's end messages are 6 MB text frames (issue 18).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import websocket

from gladia_cli.client.connection import (
    LONG_FRAME_BYTES,
    Activity,
    Frame,
    TextFrame,
    WebSocketClientConnection,
    WebSocketClientConnector,
)

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(opcode: int, payload: bytes, *, fin: int = 1) -> bytes:
    return bytes(websocket.ABNF(fin, 0, 0, 0, opcode, 0, payload).format())


def text_frame(text: str) -> bytes:
    return _frame(websocket.ABNF.OPCODE_TEXT, text.encode("utf-8"))


@contextmanager
def peer(script: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback WebSocket peer: answers one handshake, then runs `script` on the socket."""
    server = socket.create_server(("127.0.0.1", 0))
    failures: list[BaseException] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            accept = base64.b64encode(hashlib.sha1(key + _GUID.encode()).digest())
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            try:
                script(conn)
            except OSError as exc:
                failures.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{server.getsockname()[1]}/"
    finally:
        thread.join(10)
        server.close()
    assert not failures


def connect(url: str) -> WebSocketClientConnection:
    conn = WebSocketClientConnector(send_timeout=5.0)(url)
    assert isinstance(conn, WebSocketClientConnection)
    return conn


def frames_until_text(conn: WebSocketClientConnection, limit: int = 1000) -> list[Frame | None]:
    got: list[Frame | None] = []
    while len(got) < limit:
        got.append(conn.receive(5.0))
        if isinstance(got[-1], TextFrame):
            return got
    raise AssertionError(f"no text frame in {limit} receives")


def long_text(size: int) -> str:
    """JSON-ish ASCII text with a few non-ASCII letters, `size` bytes once encoded."""
    unit = '{"text":" golf hotel","start":1.5},'
    text = (unit * (size // len(unit) + 1))[: size - 4] + "é ü"  # 2-byte letters
    assert len(text.encode()) == size - 4 + len("é ü".encode())
    return text


def test_a_long_text_frame_costs_its_text_and_a_piece() -> None:
    text = long_text(3_000_000)
    wire = text_frame(text) + text_frame("after")
    with peer(lambda sock: sock.sendall(wire)) as url:
        conn = connect(url)
        tracemalloc.start()
        try:
            got = frames_until_text(conn)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        following = frames_until_text(conn)
        conn.abort()
    frame = got[-1]
    assert isinstance(frame, TextFrame) and frame.text == text
    # A str of 3 M characters (UCS-2 here, for the é): the text itself, then pieces. Read
    # by websocket-client it was the joined bytes, its pieces, and the decoded str at once.
    text_bytes = len(text) * 2
    assert peak < text_bytes + 1_000_000, (peak, text_bytes)
    # The receiver ticked while the frame arrived: at most LONG_STEP bytes per receive.
    assert sum(isinstance(f, Activity) for f in got) >= 2
    assert following[-1] == TextFrame("after")


def test_a_long_frame_cut_by_a_timeout_goes_on_where_it_stopped() -> None:
    text = long_text(LONG_FRAME_BYTES + 300_000)
    wire = text_frame(text)
    half = threading.Event()

    def script(sock: socket.socket) -> None:
        sock.sendall(wire[: len(wire) // 2])
        half.wait(10)
        sock.sendall(wire[len(wire) // 2 :] + text_frame("next"))

    with peer(script) as url:
        conn = connect(url)
        conn._ws.settimeout(0.05)  # a stalled peer: websocket-client's recv times out
        got: list[Frame | None] = []
        while None not in got:  # half the frame read, then nothing comes in time
            got.append(conn.receive(0.05))
        half.set()
        rest = frames_until_text(conn)
        after = frames_until_text(conn)
        conn.abort()
    assert not any(isinstance(f, TextFrame) for f in got)
    assert rest[-1] == TextFrame(text)
    assert after[-1] == TextFrame("next")


def test_short_frames_pings_and_fragments_still_go_through_websocket_client() -> None:
    opcode = websocket.ABNF
    long_part = "x" * (LONG_FRAME_BYTES + 10)
    wire = (
        text_frame('{"type":"a"}')
        + _frame(opcode.OPCODE_PING, b"p")
        # A long message in fragments: websocket-client reassembles it.
        + _frame(opcode.OPCODE_TEXT, long_part.encode(), fin=0)
        + _frame(opcode.OPCODE_CONT, b"-end", fin=1)
        + _frame(opcode.OPCODE_CLOSE, (1000).to_bytes(2, "big") + b"bye")
    )

    def script(sock: socket.socket) -> None:
        sock.sendall(wire)
        with contextlib.suppress(OSError):
            while sock.recv(65536):
                pass

    with peer(script) as url:
        conn = connect(url)
        got = [conn.receive(5.0) for _ in range(5)]
    texts = [f.text for f in got if isinstance(f, TextFrame)]
    assert texts == ['{"type":"a"}', long_part + "-end"]
    assert got[-1] is not None and getattr(got[-1], "code", None) == 1000


def _resident() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in bytes."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) * 1024
    return values["VmRSS"], values["VmHWM"]


_GROWTH_PROBE = """
import gc, sys
from pathlib import Path
from gladia_cli.server.recognition.malloc_tuning import pin_mmap_threshold
from tests.unit.test_client_connection import (
    TextFrame, _resident, connect, frames_until_text, long_text, peer, text_frame,
)
pin_mmap_threshold()  # as `gladia file` does (cli/streaming.py)
text = long_text(4_000_000).replace("é ü", "e u")  # ASCII: one byte a character
wire = text_frame(text)
with peer(lambda sock: sock.sendall(wire)) as url:
    conn = connect(url)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # the peak starts again from here
    before, _ = _resident()
    got = frames_until_text(conn)
    _, peak = _resident()
    conn.abort()
assert got[-1] == TextFrame(text)
print((peak - before) / len(text))
"""


@pytest.mark.skipif(
    not Path("/proc/self/clear_refs").exists(), reason="needs Linux's peak-RSS reset"
)
def test_a_long_frame_grows_one_str_in_place_not_copied_at_each_piece() -> None:
    """tracemalloc cannot see it (a realloc that copies is one allocation to it), the peak
    RSS can: the str must be extended in place. In a `while` loop it was not (CPython 3.11,
    a fresh interpreter as the CLI's): copied at each piece, twice the text at peak."""
    import subprocess
    import sys

    probe = subprocess.run(
        [sys.executable, "-c", _GROWTH_PROBE],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert float(probe.stdout) < 1.4, probe.stdout
