"""Signals counted once per press (jobs/signals.py): `timeout -s INT` and supervisors signal
the process and its group at the same instant, which is one Ctrl-C, not two."""

from __future__ import annotations

import signal

import pytest

from gladia_cli.errors import Aborted
from gladia_cli.jobs.signals import BURST, JobSignals, Presses


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_two_deliveries_at_the_same_instant_are_one_press() -> None:
    clock = Clock()
    presses = Presses(clock)
    assert presses.delivered() is True
    clock.now += 0.00002  # the group's copy, microseconds later
    assert presses.delivered() is False
    assert presses.count == 1


def test_a_press_after_the_burst_is_a_second_press() -> None:
    clock = Clock()
    presses = Presses(clock)
    presses.delivered()
    clock.now += BURST + 1e-6
    assert presses.delivered() is True
    assert presses.count == 2


def test_the_burst_window_runs_from_the_end_of_a_slow_handler() -> None:
    """On a loaded machine the first press's work may take longer than the burst: the copy
    queued behind it is still the same press."""
    clock = Clock()
    presses = Presses(clock)
    presses.delivered()
    clock.now += 0.5  # the graceful stop took half a second
    presses.handled()
    clock.now += 0.001
    assert presses.delivered() is False
    assert presses.count == 1


def test_job_signals_stop_once_then_abort_on_a_later_press() -> None:
    clock = Clock()
    signals = JobSignals(Presses(clock))
    stops: list[float] = []
    signals.on_first = lambda: stops.append(clock.now)
    signals._handle(signal.SIGINT, None)
    signals._handle(signal.SIGINT, None)  # the process group's copy: same instant
    assert stops == [100.0] and signals.count == 1
    clock.now += 0.3  # a person pressing Ctrl-C again
    with pytest.raises(Aborted):
        signals._handle(signal.SIGINT, None)


def test_while_connecting_a_doubled_delivery_aborts_once() -> None:
    clock = Clock()
    signals = JobSignals(Presses(clock))
    with pytest.raises(Aborted, match="while connecting"):
        signals._handle(signal.SIGINT, None)
    signals._handle(signal.SIGINT, None)  # its twin: ignored, not a second exception
