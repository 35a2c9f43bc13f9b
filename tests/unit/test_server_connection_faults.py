"""Connection faults on request (server/live/connection_faults.py): the socket driver is
handed a `FaultyConnection` for a session's first connections, a plain one otherwise; the
faults act through the connection's hooks (opened, admit, ended), on a manual clock."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from gladia_cli.server.clock import ManualClock
from gladia_cli.server.config import Faults
from gladia_cli.server.live.connection_faults import FaultyConnection, connections
from gladia_cli.server.live.websocket import WebSocketConnection, plain_connection


class FakeTransport:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _request(transport: FakeTransport) -> Any:
    return cast(Any, type("Request", (), {"transport": transport})())


def _connect(faults: Faults, before: int = 0) -> tuple[WebSocketConnection, FakeTransport]:
    transport = FakeTransport()
    conn = connections(faults, ManualClock())(cast(Any, None), _request(transport), before)
    return conn, transport


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_without_connection_faults_every_connection_is_plain() -> None:
    assert connections(Faults(), ManualClock()) is plain_connection
    assert connections(Faults(ack_delay=1.0, slow_finish=2.0), ManualClock()) is plain_connection


def test_only_the_first_fault_connections_of_a_session_are_faulty() -> None:
    faults = Faults(drop_after_bytes=100, fault_connections=2)
    kinds = [type(_connect(faults, before)[0]) for before in range(3)]
    assert kinds == [FaultyConnection, FaultyConnection, WebSocketConnection]


def test_the_chunk_crossing_the_byte_limit_is_lost_and_the_connection_dropped() -> None:
    async def main() -> None:
        conn, transport = _connect(Faults(drop_after_bytes=100))
        assert await conn.admit(b"\0" * 60)
        assert not conn.dropped
        assert not await conn.admit(b"\0" * 60)  # neither kept nor acknowledged
        assert conn.dropped and transport.closed
        plain, plain_transport = _connect(Faults())
        assert await plain.admit(b"\0" * 60) and await plain.admit(b"\0" * 60)
        assert plain.received == 120 and not plain_transport.closed

    asyncio.run(main())


def test_a_close_code_acts_at_its_byte_count_or_at_once() -> None:
    async def main() -> None:
        conn, _ = _connect(Faults(close_code=4000, close_after_bytes=100))
        await conn.opened()
        assert conn.close_request is None
        assert await conn.admit(b"\0" * 98)
        assert not await conn.admit(b"\0" * 2)  # reaches the limit: not kept
        assert conn.close_request == (4000, "fault injection")
        at_once, _ = _connect(Faults(close_code=4001))
        await at_once.opened()
        assert at_once.close_request == (4001, "fault injection")

    asyncio.run(main())


def test_a_drop_after_seconds_runs_on_the_clock_and_stops_with_the_connection() -> None:
    async def main() -> None:
        clock = ManualClock()
        connect = connections(Faults(drop_after_seconds=5.0, fault_connections=2), clock)
        transport, other = FakeTransport(), FakeTransport()
        conn = connect(cast(Any, None), _request(transport), 0)
        ended = connect(cast(Any, None), _request(other), 1)
        await conn.opened()
        await ended.opened()
        ended.ended()  # its reader is done: the timer goes with it
        clock.advance(4.9)
        await _settle()
        assert not transport.closed
        clock.advance(0.1)
        await _settle()
        assert conn.dropped and transport.closed
        assert not ended.dropped and not other.closed

    asyncio.run(main())
