"""Attack: a server's transcript whose `end` is NaN or Infinity (Python's JSON reader takes
both) or negative. round() raised ValueError/OverflowError in the receiver thread; a
negative end got a made-up lag. Now: no lag, nothing recorded."""

from __future__ import annotations

import pytest

from gladia_cli.jobs.session_figures import Billing
from gladia_cli.protocol.latency import LatencyTracker
from gladia_cli.protocol.messages import parse_server_message


@pytest.mark.parametrize("end", ["NaN", "Infinity", "-Infinity", "-5.0"])
def test_a_transcript_end_that_is_not_a_time_gets_no_lag(end: str) -> None:
    tracker = LatencyTracker(32000, clock=lambda: 1.0)
    tracker.sent(0, 32000, now=0.5)
    message = parse_server_message(
        '{"type": "transcript", "data": {"id": "u", "is_final": true, "utterance": '
        f'{{"text": "hi", "start": 0.0, "end": {end}, "channel": 0, "words": []}}}}}}'
    )
    assert message.utterance is not None  # the transcript itself is kept
    assert tracker.transcript(message.utterance.end, is_final=True) is None
    assert tracker.figures().finals == 0
    assert tracker.transcript(0.9, is_final=True) == pytest.approx(0.5)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_billing_figures_that_are_not_finite_are_ignored(value: float) -> None:
    """int(NaN) of number_of_distinct_channels raised at the summary, after the transcript."""
    container = {
        "metadata": {
            "billing_time": 6.0,
            "audio_duration": value,
            "number_of_distinct_channels": value,
        }
    }
    billing = Billing.from_container(container)
    assert billing is not None and billing.text() == "billed 6.0 s"
    assert Billing.from_container({"metadata": {"billing_time": value}}) is None
