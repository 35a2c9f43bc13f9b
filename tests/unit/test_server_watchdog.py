"""The session's deadlines (idle, maximum duration), driven by a manual clock."""

from __future__ import annotations

import asyncio

from gladia_cli.server.clock import ManualClock
from gladia_cli.server.live.watchdog import Watchdog, expiry


def test_the_rule_names_the_first_deadline_passed() -> None:
    rule = {"started": 0.0, "idle": 30.0, "longest": 100.0}
    assert expiry(29.9, last_audio=0.0, **rule) is None
    assert expiry(30.0, last_audio=0.0, **rule) == "no audio for 30 s"
    assert expiry(99.0, last_audio=80.0, **rule) is None
    assert expiry(100.0, last_audio=99.0, **rule) == "maximum duration reached"


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_audio_moves_the_idle_deadline_and_the_maximum_holds() -> None:
    async def main() -> list[str]:
        clock = ManualClock(start=0.0)
        reasons: list[str] = []
        dog = Watchdog(clock, idle_timeout=30.0, max_duration=100.0, on_expired=reasons.append)
        for _ in range(3):  # audio every 25 s keeps it alive past two idle periods
            clock.advance(25.0)
            await _settle()
            dog.audio_arrived()
        clock.advance(24.0)
        await _settle()
        assert reasons == []
        clock.advance(1.0)  # 100 s after the start, 25 s after the last audio
        await _settle()
        dog.cancel()
        return reasons

    assert asyncio.run(main()) == ["maximum duration reached"]


def test_silence_ends_it_once_and_a_cancelled_watchdog_says_nothing() -> None:
    async def main() -> tuple[list[str], list[str]]:
        clock = ManualClock(start=0.0)
        idle: list[str] = []
        cancelled: list[str] = []
        Watchdog(clock, idle_timeout=30.0, max_duration=100.0, on_expired=idle.append)
        other = Watchdog(clock, idle_timeout=30.0, max_duration=100.0, on_expired=cancelled.append)
        await _settle()
        other.cancel()
        clock.advance(31.0)
        await _settle()
        clock.advance(100.0)
        await _settle()
        return idle, cancelled

    assert asyncio.run(main()) == (["no audio for 30 s"], [])
