"""The manual clock that session timers run on in tests."""

from __future__ import annotations

import asyncio

from gladia_cli.server.clock import LoopClock, ManualClock


def test_sleepers_wake_in_deadline_order_when_time_is_advanced() -> None:
    clock = ManualClock(start=0.0)
    woke: list[str] = []

    async def sleeper(name: str, deadline: float) -> None:
        await clock.sleep_until(deadline)
        woke.append(name)

    async def main() -> None:
        tasks = [asyncio.create_task(sleeper(n, d)) for n, d in [("b", 20), ("a", 10)]]
        await asyncio.sleep(0)
        assert clock.sleepers == 2
        clock.advance(15)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert woke == ["a"]
        clock.advance(5)
        await asyncio.gather(*tasks)
        assert woke == ["a", "b"]
        await clock.sleep_until(5)  # in the past: at once

    asyncio.run(main())


def test_the_loop_clock_is_the_loops_time() -> None:
    async def main() -> None:
        clock = LoopClock()
        start = clock.now()
        await clock.sleep_until(start + 0.01)
        assert clock.now() >= start + 0.01

    asyncio.run(main())
