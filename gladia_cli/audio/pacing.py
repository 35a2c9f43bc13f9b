"""Sending a recording at the pace of speech (or a multiple of it), as the live API expects."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from gladia_cli.audio.source import Int16Block
from gladia_cli.errors import UsageError

PACE_HINT = "use realtime, max, or a speed such as 2x (up to 1000x)"


def parse_pace(text: str, *, option: str = "--pace", hint: str = PACE_HINT) -> float | None:
    """`realtime` → 1.0, `max` → None (no pacing), `2x` / `2` → 2.0; `option` and `hint`
    for the error, since `gladia replay --speed` takes the same values."""
    value = text.strip().lower()
    if value == "realtime":
        return 1.0
    if value == "max":
        return None
    try:
        speed = float(value.removesuffix("x"))
    except ValueError:
        speed = 0.0
    if not 0 < speed <= 1000:
        raise UsageError(f"invalid {option} {text!r}", hint=hint)
    return speed


def paced(
    blocks: Iterator[Int16Block],
    sample_rate: int,
    speed: float | None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Int16Block]:
    """Yield each block no earlier than its place on the timeline allows (no drift: the
    schedule is from the start, not from the previous block)."""
    if speed is None:
        yield from blocks
        return
    start = clock()
    played = 0
    for block in blocks:
        due = start + played / sample_rate / speed
        delay = due - clock()
        if delay > 0:
            sleep(delay)
        yield block
        played += len(block)
