"""The finals ledger (protocol/reconcile.py): its bisection gives what a scan of every
live final gives, in any recording order, and it stays small."""

from __future__ import annotations

import random
import tracemalloc

from gladia_cli.protocol.messages import Utterance
from gladia_cli.protocol.reconcile import FinalsLedger

EPSILON = 1e-3


def _scan(spans: list[tuple[float, float]], u: Utterance) -> bool:
    """The definition: live spans overlap half the utterance (or contain its instant)."""
    if u.end - u.start <= EPSILON:
        return any(s - EPSILON <= u.start <= e + EPSILON for s, e in spans)
    overlap = sum(max(0.0, min(u.end, e) - max(u.start, s)) for s, e in spans)
    return overlap >= 0.5 * (u.end - u.start) - EPSILON


def _utterance(start: float, end: float, channel: int = 0) -> Utterance:
    return Utterance("x", start, end, channel)


def test_the_bisection_agrees_with_a_scan() -> None:
    rng = random.Random(18)
    ledger = FinalsLedger()
    spans: dict[int, list[tuple[float, float]]] = {0: [], 1: []}
    recorded = []
    for _ in range(400):
        start = rng.uniform(0, 600)
        span = (start, start + rng.choice([0.0, rng.uniform(0.1, 8.0)]))
        recorded.append((rng.randrange(2), span))
    for channel, (start, end) in recorded:  # out of order: the ledger sorts when it must
        ledger.record(_utterance(start, end, channel))
        spans[channel].append((start, end))
    for _ in range(2000):
        start = rng.uniform(-5, 610)
        query = _utterance(start, start + rng.choice([0.0, rng.uniform(0.05, 10.0)]))
        for channel in (0, 1):
            asked = _utterance(query.start, query.end, channel)
            assert ledger.covers(asked) == _scan(spans[channel], asked), (asked, channel)


def test_ten_hours_of_finals_hold_well_under_a_megabyte() -> None:
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    ledger = FinalsLedger()
    for n in range(15_000):  # 10 h of speech, one utterance every 2.4 s
        ledger.record(_utterance(n * 2.4, n * 2.4 + 1.6))
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert held < 600_000, held
    assert ledger.missing([_utterance(1.0, 1.5), _utterance(2.0, 2.3)]) == [_utterance(2.0, 2.3)]
