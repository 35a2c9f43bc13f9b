"""Writing the outbox to a connection, with a fake socket and a manual clock."""

from __future__ import annotations

import asyncio

from gladia_cli.protocol.closing import NORMAL
from gladia_cli.server.clock import ManualClock
from gladia_cli.server.live.delivery import MAX_BACKLOG, REDELIVERY_HOLD, Delivery
from gladia_cli.server.live.ingest import AudioIngest
from gladia_cli.server.live.outbox import Kind, Outgoing, StoredText


class FakeSocket:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.pings: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        self.texts.append(text)

    async def send_stored(self, stored: StoredText) -> None:
        self.texts.append(f"stored:{stored.offset}+{stored.length}")

    async def ping(self, payload: bytes) -> None:
        self.pings.append(payload)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    async def wait_closed(self) -> None:
        return None

    @property
    def answered_close(self) -> bool:
        return False


def _delivery(clock: ManualClock) -> tuple[Delivery, AudioIngest]:
    ingest = AudioIngest(lambda offset, n: b"", frame_bytes=2)
    return Delivery(session_id="s1", ingest=ingest, clock=clock, confirm_timeout=5.0), ingest


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_the_end_closes_once_a_pong_confirms_everything() -> None:
    async def main() -> None:
        clock = ManualClock()
        delivery, _ = _delivery(clock)
        socket = FakeSocket()
        delivery.attach(socket)
        writer = asyncio.create_task(delivery.deliver(socket))
        delivery.put(Outgoing("a"))
        delivery.put(Outgoing("b"))
        delivery.end()
        await _settle()
        assert socket.texts == ["a", "b"] and len(socket.pings) == 1
        assert socket.closed is None  # written, not yet confirmed
        delivery.pong(socket, socket.pings[0])
        await asyncio.wait_for(writer, 1.0)
        assert socket.closed == (NORMAL, "session ended")

    asyncio.run(main())


def test_an_unconfirmed_end_closes_after_confirm_timeout_on_the_clock() -> None:
    async def main() -> None:
        clock = ManualClock()
        delivery, _ = _delivery(clock)
        socket = FakeSocket()
        delivery.attach(socket)
        writer = asyncio.create_task(delivery.deliver(socket))
        delivery.put(Outgoing("end_session"))
        delivery.end()
        await _settle()
        clock.advance(4.9)
        await _settle()
        assert socket.closed is None
        clock.advance(0.1)
        await asyncio.wait_for(writer, 1.0)
        assert socket.closed == (NORMAL, "session ended")

    asyncio.run(main())


def test_a_new_connection_gets_what_the_old_one_did_not_confirm() -> None:
    async def main() -> None:
        clock = ManualClock()
        delivery, _ = _delivery(clock)
        first, second = FakeSocket(), FakeSocket()
        delivery.attach(first)
        writer = asyncio.create_task(delivery.deliver(first))
        delivery.put(Outgoing("final"))
        delivery.put(Outgoing("partial", Kind.PARTIAL))
        delivery.put(Outgoing("ack", Kind.ACK, ack_end=64))
        await _settle()
        assert first.texts == ["ack", "final", "partial"]  # acknowledgments first
        assert delivery.attach(second) is first
        await asyncio.wait_for(writer, 1.0)  # the old writer stops once replaced
        writer = asyncio.create_task(delivery.deliver(second))
        await _settle()
        assert second.texts == []  # the re-delivery waits for the connection's first ack…
        clock.advance(REDELIVERY_HOLD)  # …or, when none comes, for this long
        await _settle()
        assert second.texts == ["final"]  # partials and acks are not re-delivered
        writer.cancel()  # the socket handler's job, as it detaches
        delivery.detach(second)
        assert first.closed is None  # closing the superseded one is the session's job

    asyncio.run(main())


def test_a_re_delivery_follows_the_new_connections_first_acknowledgment() -> None:
    async def main() -> None:
        clock = ManualClock()
        delivery, _ = _delivery(clock)
        first, second = FakeSocket(), FakeSocket()
        delivery.attach(first)
        writer = asyncio.create_task(delivery.deliver(first))
        for n in range(3):
            delivery.put(Outgoing(f"final-{n}"))
        await _settle()
        delivery.attach(second)
        await asyncio.wait_for(writer, 1.0)
        writer = asyncio.create_task(delivery.deliver(second))
        await _settle()
        assert second.texts == []
        delivery.put(Outgoing("ack", Kind.ACK, ack_end=64))  # the re-sent audio's
        await _settle()
        assert second.texts == ["ack", "final-0", "final-1", "final-2"]
        writer.cancel()
        delivery.detach(second)

    asyncio.run(main())


def test_delayed_acks_go_out_on_the_clock_to_the_connection_they_belong_to() -> None:
    async def main() -> None:
        clock = ManualClock()
        delivery, _ = _delivery(clock)
        socket = FakeSocket()
        delivery.attach(socket)
        writer = asyncio.create_task(delivery.deliver(socket))
        delivery.put_later(clock.now() + 3.0, socket, Outgoing("ack1", Kind.ACK, ack_end=2))
        delivery.put_later(clock.now() + 3.0, FakeSocket(), Outgoing("stale", Kind.ACK, 4))
        await _settle()
        assert socket.texts == []
        clock.advance(3.0)
        await _settle()
        assert socket.texts == ["ack1"]
        writer.cancel()
        delivery.cancel()

    asyncio.run(main())


def test_a_reader_waits_for_room_at_the_backlog_bound() -> None:
    async def main() -> None:
        clock = ManualClock()
        delivery, _ = _delivery(clock)
        socket = FakeSocket()
        delivery.attach(socket)
        for i in range(MAX_BACKLOG):
            delivery.put(Outgoing(str(i)))
        assert delivery.backlogged(socket) and not delivery.room.is_set()
        assert not delivery.backlogged(FakeSocket())  # not the current connection
        writer = asyncio.create_task(delivery.deliver(socket))
        await asyncio.wait_for(delivery.room.wait(), 1.0)
        writer.cancel()

    asyncio.run(main())


def test_a_stored_message_is_sent_from_its_file_and_again_after_a_lost_connection() -> None:
    """A long session's end message is in the outbox as where it is on disk (issue 18): the
    delivery sends it from there, and again from there on the next connection."""

    async def main() -> None:
        from pathlib import Path

        clock = ManualClock()
        delivery, _ = _delivery(clock)
        first = FakeSocket()
        delivery.attach(first)
        writer = asyncio.create_task(delivery.deliver(first))
        end = Outgoing("", Kind.MESSAGE, stored=StoredText(Path("messages.jsonl"), 10, 6_000_000))
        delivery.put(Outgoing("a"))
        delivery.put(end)
        await _settle()
        assert first.texts == ["a", "stored:10+6000000"]
        second = FakeSocket()
        delivery.attach(second)  # the first is lost before a pong confirmed anything
        writer.cancel()
        writer = asyncio.create_task(delivery.deliver(second))
        delivery.release()
        await _settle()
        assert second.texts == ["a", "stored:10+6000000"]
        writer.cancel()

    asyncio.run(main())
