"""Attack: clients that drip their requests (slowloris). 400 connections dripping headers
were held 100 s; a dripped init body or upload held its connection for as long as the
client kept sending a byte now and then. Each stage now has a deadline (slow_clients.py),
shortened here so the tests take a second or two."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from gladia_cli.server import slow_clients
from gladia_cli.server.runner import LocalServer
from tests.support import KEY, local_server


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.setattr(slow_clients, "HEADER_SECONDS", 1.0)
    monkeypatch.setattr(slow_clients, "BODY_SECONDS", 1.0)
    monkeypatch.setattr(slow_clients, "UPLOAD_WINDOW_SECONDS", 1.0)
    with local_server() as running:
        yield running


def _connect(server: LocalServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)), timeout=10)
    return conn


def _drip(conn: socket.socket, pieces: list[bytes], every: float = 0.1) -> tuple[bytes, float]:
    """Send `pieces` one by one; (what the server answered, seconds until it answered or
    closed). Stops at the first answer: a dripper never gets further."""
    started = time.monotonic()
    conn.setblocking(False)
    for piece in pieces:
        try:
            answer = conn.recv(4096)
            return answer, time.monotonic() - started  # an answer, or b"" (closed)
        except BlockingIOError:
            pass
        try:
            conn.sendall(piece)
        except OSError:  # reset: closed by the server
            return b"", time.monotonic() - started
        time.sleep(every)
    conn.settimeout(10)
    try:
        return conn.recv(4096), time.monotonic() - started
    except OSError:
        return b"", time.monotonic() - started


def _head(server: LocalServer, path: str, content_type: str, length: int) -> bytes:
    host = server.url.removeprefix("http://")
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nx-gladia-key: {KEY}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def test_a_client_dripping_its_headers_is_closed_within_seconds(server: LocalServer) -> None:
    with _connect(server) as conn:
        pieces = [b"POST /v2/live HTTP/1.1\r\n"] + [b"X-Drip: y\r\n"] * 60  # 6 s of drip
        answer, seconds = _drip(conn, pieces)
    assert answer == b"" and seconds < 3, (answer, seconds)


def test_a_dripped_init_body_gets_408(server: LocalServer) -> None:
    with _connect(server) as conn:
        body = b'{"sample_rate": 16000, "channels": 1}' + b" " * 22
        head = _head(server, "/v2/live", "application/json", len(body))
        answer, seconds = _drip(conn, [head] + [bytes([b]) for b in body])
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"the body stalled" in answer and seconds < 3


def test_a_dripped_upload_gets_408(server: LocalServer) -> None:
    part = b'--b\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n'
    with _connect(server) as conn:
        head = _head(server, "/v2/upload", "multipart/form-data; boundary=b", 1_000_000)
        answer, seconds = _drip(conn, [head, part] + [b"\0" * 100] * 60)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"less than 64 KB received in 1 s" in answer and seconds < 3


def test_a_slow_but_steady_upload_is_served(server: LocalServer) -> None:
    """A quarter of a second between pieces of 128 KB: far slower than a loopback, eight
    times the minimum pace (a loaded machine stretches the pauses); it gets through the
    windows to the end (and is answered 400 for its content, which is not audio)."""
    part = b'--b\r\nContent-Disposition: form-data; name="audio"; filename="a.raw"\r\n\r\n'
    pieces = [b"\1" * 131072] * 8
    tail = b"\r\n--b--\r\n"
    length = len(part) + sum(map(len, pieces)) + len(tail)
    with _connect(server) as conn:
        head = _head(server, "/v2/upload", "multipart/form-data; boundary=b", length)
        answer, _ = _drip(conn, [head + part, *pieces, tail], every=0.25)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert b"could not be decoded" in answer
