"""The server's limits on slow clients and on connections (slow_clients.py,
connection_limit.py): rules without sockets."""

from __future__ import annotations

import asyncio
import errno
import json
import logging

import pytest

from gladia_cli.server.connection_limit import (
    ACCEPT_FAILURE,
    AcceptFailureLog,
    accept_backlog,
    connection_cap,
    refusal_response,
)
from gladia_cli.server.slow_clients import Progress


def test_an_upload_must_keep_a_minimum_pace_window_after_window() -> None:
    progress = Progress(100.0, window=10.0, min_bytes=1000)
    assert progress.remaining(100.0) == 10.0
    progress.received(600, 104.0)
    assert progress.remaining(104.0) == 6.0  # not enough yet: the window keeps running
    progress.received(600, 107.0)
    assert progress.remaining(107.0) == 10.0  # 1200 bytes: a new window from now
    progress.received(999, 116.0)
    assert progress.remaining(117.0) == 0.0  # 999 bytes in 10 s: too slow
    assert progress.describe() == "less than 0 KB received in 10 s"


def test_a_burst_buys_one_window_not_an_idle_hour() -> None:
    progress = Progress(0.0, window=10.0, min_bytes=1000)
    progress.received(1_000_000, 1.0)
    assert progress.remaining(1.0) == 10.0
    assert progress.remaining(11.5) == 0.0


def test_connections_take_half_the_free_descriptors_and_bursts_fit_the_rest() -> None:
    assert connection_cap(1024, 24) == 500
    assert connection_cap(64, 60) == 8  # never below a few
    assert connection_cap(None, 24) is None  # no limit known: none imposed
    assert accept_backlog(1024, 24, 500) == 100  # asyncio's default where it fits
    assert accept_backlog(64, 8, 28) == 14
    assert accept_backlog(None, 8, None) == 100


def test_the_refusal_is_a_whole_503_in_gladias_shape() -> None:
    response = refusal_response("busy")
    head, body = response.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 503 ")
    assert f"Content-Length: {len(body)}".encode() in head
    assert b"Connection: close" in head
    parsed = json.loads(body)
    assert parsed["statusCode"] == 503 and parsed["message"] == "busy"
    assert set(parsed) == {"timestamp", "path", "request_id", "statusCode", "message"}


def test_failing_accepts_are_one_line_a_minute_with_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gladia.server")
    now = [0.0]
    handler = AcceptFailureLog(lambda: now[0])
    loop = asyncio.new_event_loop()
    try:
        failure = OSError(errno.EMFILE, "Too many open files")
        context = {"message": ACCEPT_FAILURE, "exception": failure}
        for _ in range(300):  # asyncio reports each of up to 100 accepts per attempt
            handler(loop, context)
        now[0] = 61.0
        handler(loop, context)
    finally:
        loop.close()
    lines = [r for r in caplog.records if r.name == "gladia.server"]
    assert len(lines) == 2
    assert "cannot accept connections: too many open files" in lines[0].getMessage()
    assert "(299 more since the last line)" in lines[1].getMessage()
    assert not [r for r in caplog.records if r.exc_info]
