"""Attack: a server's transcript whose `end` is NaN or Infinity (Python's JSON reader takes
both) or negative. round() raised ValueError/OverflowError in the receiver thread; a
negative end got a made-up lag. Now: no lag, nothing recorded."""

from __future__ import annotations

import pytest

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
