"""The outbox's delivery bookkeeping, with no socket: what a pong confirms, what comes again."""

from __future__ import annotations

from gladia_cli.server.live.outbox import PING_EVERY, Kind, Outbox, Outgoing


def _write_all(box: Outbox) -> list[str]:
    written = []
    while (message := box.next()) is not None:
        box.written(message)
        written.append(message.text)
    return written


def test_a_pong_confirms_what_was_written_before_its_ping() -> None:
    box = Outbox()
    box.put(Outgoing("a"))
    box.put(Outgoing("ack", Kind.ACK, ack_end=3200))
    _write_all(box)
    payload = box.ping()
    assert payload is not None and box.ping() is None  # one in flight at a time
    box.put(Outgoing("b"))
    _write_all(box)
    assert box.pong(payload) == [3200]
    box.connection_lost()
    box.release()  # no acknowledgment on the new connection to wait for
    assert _write_all(box) == ["b"]  # only what the pong did not cover


def test_unconfirmed_messages_come_first_in_order_partials_and_acks_do_not() -> None:
    box = Outbox()
    for message in [
        Outgoing("final-1"),
        Outgoing("partial", Kind.PARTIAL),
        Outgoing("ack", Kind.ACK, ack_end=10),
        Outgoing("final-2"),
    ]:
        box.put(message)
    assert box.next() == Outgoing("ack", Kind.ACK, ack_end=10)  # acknowledgments first
    for _ in range(3):
        box.written(box.next())  # type: ignore[arg-type]
    box.put(Outgoing("later"))
    box.connection_lost()
    box.release()
    assert _write_all(box) == ["final-1", "final-2", "later"]


def test_acknowledgments_overtake_a_re_delivery() -> None:
    """A re-delivery does not hold back the acknowledgments of the new connection's audio
    (its downstream cut every few kilobytes, the client would see none: no progress)."""
    box = Outbox()
    for i in range(100):
        box.put(Outgoing(f"final-{i}"))
    _write_all(box)
    box.connection_lost()  # none confirmed: all 100 due again…
    assert box.holding and box.next() is None  # …once the new connection's audio is acked
    box.put(Outgoing("ack", Kind.ACK, ack_end=32000))
    for expected in ("ack", "final-0"):
        message = box.next()
        assert message is not None and message.text == expected
        box.written(message)
    box.put(Outgoing("ack-2", Kind.ACK, ack_end=64000))
    assert box.next() == Outgoing("ack-2", Kind.ACK, ack_end=64000)  # ahead of final-1


def test_a_stale_or_unsolicited_pong_confirms_nothing() -> None:
    box = Outbox()
    box.put(Outgoing("a"))
    _write_all(box)
    old = box.ping()
    assert old is not None
    box.connection_lost()
    box.release()
    _write_all(box)
    assert box.pong(old) is None  # from the previous connection
    assert box.pong(b"hello") is None
    assert not box.delivered
    fresh = box.ping()
    assert fresh is not None and fresh != old
    assert box.pong(fresh) == []
    assert box.delivered


def test_pings_wait_for_the_writer_to_catch_up_unless_the_burst_is_long() -> None:
    box = Outbox()
    for i in range(PING_EVERY + 1):
        box.put(Outgoing(str(i)))
    box.written(box.next())  # type: ignore[arg-type]
    assert box.ping() is None  # more to write: one ping after the burst covers it all
    for _ in range(PING_EVERY - 1):
        box.written(box.next())  # type: ignore[arg-type]
    assert box.ping() is not None


def test_answering_the_close_confirms_everything() -> None:
    box = Outbox()
    box.put(Outgoing("a"))
    box.put(Outgoing("ack", Kind.ACK, ack_end=5))
    _write_all(box)
    assert box.confirm_all() == [5]
    assert box.delivered


def test_unconfirmed_messages_are_bounded() -> None:
    box = Outbox(max_unconfirmed=3)
    for i in range(5):
        box.put(Outgoing(str(i)))
    _write_all(box)
    box.connection_lost()
    box.release()
    assert _write_all(box) == ["2", "3", "4"]
    assert box.forgotten == 2
