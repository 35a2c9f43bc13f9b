"""Attack: uploads that stall or are cut short. A client that stopped sending mid-body held
its connection and a folder on disk for ever; one that went away made aiohttp log a
traceback ("Error handling request") for what is only a client leaving."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gladia_cli.server import slow_clients
from gladia_cli.server.app import PRERECORDED
from gladia_cli.server.runner import LocalServer
from tests.support import KEY, local_server

HEAD = (
    b'--b\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n' + b"RIFF" * 250
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.setattr(slow_clients, "UPLOAD_WINDOW_SECONDS", 0.5)
    monkeypatch.setattr(slow_clients, "BODY_SECONDS", 0.5)
    with local_server() as running:
        yield running


def _start_upload(server: LocalServer, length: int = 100_000) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)))
    conn.sendall(
        f"POST /v2/upload HTTP/1.1\r\nHost: {host}:{port}\r\nx-gladia-key: {KEY}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\n".encode()
        + f"Content-Length: {length}\r\n\r\n".encode()
        + HEAD
    )
    return conn


def _stored(server: LocalServer) -> list[Path]:
    return list(server._runner.app[PRERECORDED].directory.iterdir())


def test_a_stalled_upload_is_answered_408_and_its_folder_removed(server: LocalServer) -> None:
    conn = _start_upload(server)
    conn.settimeout(10)
    started = time.monotonic()
    with conn:
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"the upload stalled" in answer
    assert time.monotonic() - started < 5
    assert _stored(server) == []


def test_a_client_leaving_mid_upload_logs_no_traceback(
    server: LocalServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    conn = _start_upload(server)
    time.sleep(0.1)  # the server is reading the part when the client goes
    conn.close()
    deadline = time.monotonic() + 5
    while "the client went away" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "the client went away" in caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert _stored(server) == []


def test_a_stalled_job_body_is_answered_408(server: LocalServer) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as conn:
        conn.sendall(
            f"POST /v2/pre-recorded HTTP/1.1\r\nHost: {host}:{port}\r\nx-gladia-key: {KEY}\r\n"
            'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"audio_url": '.encode()
        )
        conn.settimeout(10)
        started = time.monotonic()
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"the body stalled" in answer
    assert time.monotonic() - started < 5


def test_an_oversized_upload_that_stalls_while_drained_is_still_answered_413(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the limit the rest was drained with no bound: a client that stopped sending
    there held the connection for ever."""
    monkeypatch.setattr(slow_clients, "UPLOAD_WINDOW_SECONDS", 0.5)
    with local_server(max_upload_bytes=100_000) as server:
        conn = _start_upload(server, length=1_000_000)
        conn.sendall(b"\0" * 400_000)  # past the limit, then nothing more
        conn.settimeout(10)
        started = time.monotonic()
        with conn:
            answer = conn.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert time.monotonic() - started < 5
        assert _stored(server) == []


@pytest.mark.parametrize("sent", [0, 3])
def test_a_client_leaving_before_its_audio_part_logs_no_traceback(
    server: LocalServer, caplog: pytest.LogCaptureFixture, sent: int
) -> None:
    # Gone after the headers (and maybe the start of a boundary): the server meets the
    # end of the connection while it looks for the first part, not while it stores one.
    caplog.set_level(logging.INFO)
    host, port = server.url.removeprefix("http://").split(":")
    conn = socket.create_connection((host, int(port)))
    conn.sendall(
        f"POST /v2/upload HTTP/1.1\r\nHost: {host}:{port}\r\nx-gladia-key: {KEY}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n".encode()
        + HEAD[:sent]
    )
    conn.close()
    deadline = time.monotonic() + 5
    while "the client went away" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "the client went away" in caplog.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert _stored(server) == []
