"""The lag of transcripts behind the audio sent (protocol/latency.py), on an injected clock."""

from __future__ import annotations

import json
import random

import pytest
from rich.console import Console

from gladia_cli.jobs.session_figures import Billing, SessionFigures
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.latency import LagHistogram, LatencyTracker, format_lag
from gladia_cli.protocol.messages import parse_server_message
from gladia_cli.render.base import StatusView
from gladia_cli.render.progress import bar_line
from gladia_cli.render.table import status_line

BPS = 32000  # 16 kHz, 16-bit, mono
CHUNK = 3200  # 100 ms


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _stream(tracker: LatencyTracker, clock: Clock, seconds: float, start: int = 0) -> int:
    """Send `seconds` of audio in 100 ms frames at real time; returns the next offset."""
    offset = start
    for _ in range(round(seconds * 10)):
        clock.now += 0.1
        tracker.sent(offset, CHUNK)
        offset += CHUNK
    return offset


def test_the_lag_is_arrival_minus_the_send_time_of_the_end_audio() -> None:
    clock = Clock()
    tracker = LatencyTracker(BPS, clock=clock)
    _stream(tracker, clock, 3.0)  # frame k (0-based) ends at (k+1)/10 s, sent at (k+1)/10
    clock.now = 3.5
    # The audio just before 1.2 s is in the frame [1.1, 1.2), sent at t=1.2.
    assert tracker.transcript(1.2, is_final=True) == pytest.approx(2.3)
    # 1.25 s: its last byte is in the frame [1.2, 1.3), sent at 1.3.
    assert tracker.transcript(1.25, is_final=False) == pytest.approx(2.2)
    figures = tracker.figures()
    assert figures.final_last == pytest.approx(2.3)
    assert figures.partial_last == pytest.approx(2.2)
    assert (figures.finals, figures.partials) == (1, 1)


def test_channels_share_the_stream_time() -> None:
    # Three interleaved channels: `end` is per-channel time, the same byte offset for all.
    fmt = AudioFormat(sample_rate=16000, channels=3)
    clock = Clock()
    tracker = LatencyTracker(fmt.bytes_per_second, clock=clock)
    frame = int(fmt.bytes_per_second // 10)
    for k in range(20):
        clock.now = (k + 1) / 10
        tracker.sent(k * frame, frame)
    clock.now = 2.5
    assert tracker.transcript(1.0, is_final=True) == pytest.approx(1.5)


def test_audio_not_sent_yet_or_unknown_gives_no_lag() -> None:
    clock = Clock()
    tracker = LatencyTracker(BPS, clock=clock)
    assert tracker.transcript(0.5, is_final=True) is None  # nothing sent
    _stream(tracker, clock, 1.0)
    assert tracker.transcript(5.0, is_final=True) is None  # beyond what was sent
    # A few ms past the last byte (the server rounds): the last frame.
    assert tracker.transcript(1.004, is_final=True) == pytest.approx(0.0)
    assert tracker.figures().finals == 1


def test_a_re_send_after_a_reconnect_keeps_the_first_send_time() -> None:
    clock = Clock()
    tracker = LatencyTracker(BPS, clock=clock)
    end = _stream(tracker, clock, 2.0)  # sent up to 2.0 s at t=2.0
    # The connection dropped; the backlog from 1.0 s is re-sent at t=5, in large pieces
    # (one straddles the end of what was sent before), then new audio.
    clock.now = 5.0
    tracker.sent(BPS, 16000)
    tracker.sent(BPS + 16000, 32000)  # [1.5 s, 2.5 s): only [2.0, 2.5) is new
    clock.now = 6.0
    assert tracker.transcript(1.5, is_final=True) == pytest.approx(4.5)  # sent at 1.5
    assert tracker.transcript(2.0, is_final=True) == pytest.approx(4.0)  # sent at 2.0
    assert tracker.transcript(2.2, is_final=True) == pytest.approx(1.0)  # new at t=5
    assert end == 2 * BPS


def test_marks_are_bounded_by_the_horizon_and_the_count() -> None:
    clock = Clock()
    tracker = LatencyTracker(BPS, clock=clock, horizon_seconds=10.0, max_marks=50)
    _stream(tracker, clock, 3.0)
    assert tracker.marks == 30
    _stream(tracker, clock, 120.0, start=30 * CHUNK)
    assert tracker.marks <= 50
    clock.now += 1.0
    assert tracker.transcript(1.0, is_final=True) is None  # forgotten, not a wrong figure
    assert tracker.transcript(123.0, is_final=True) == pytest.approx(1.0)

    long = LatencyTracker(BPS, clock=clock, horizon_seconds=10.0)
    _stream(long, clock, 60.0)
    assert long.marks <= 101  # 10 s of 100 ms marks, plus the one straddling the horizon


def test_percentiles_nearest_rank_within_the_resolution() -> None:
    histogram = LagHistogram()
    assert histogram.percentile(50) is None
    values = [i / 100 for i in range(1, 101)]  # 0.01 … 1.00
    random.Random(7).shuffle(values)
    for value in values:
        histogram.add(value)
    p50, p95 = histogram.percentile(50), histogram.percentile(95)
    assert p50 == pytest.approx(0.50, rel=0.01)
    assert p95 == pytest.approx(0.95, rel=0.01)
    assert histogram.percentile(100) == 1.0  # exact at the extremes
    assert histogram.percentile(0) == 0.01
    single = LagHistogram()
    single.add(0.4321)
    assert single.percentile(50) == single.percentile(95) == 0.4321


def test_the_histogram_stays_small_whatever_the_count() -> None:
    histogram = LagHistogram()
    rng = random.Random(3)
    for _ in range(200_000):
        histogram.add(rng.uniform(0.0, 30.0))
    assert histogram.count == 200_000
    assert len(histogram._buckets) < 1200  # log-spaced: 1e-4 s … 30 s at 1 %
    assert histogram.percentile(50) == pytest.approx(15.0, rel=0.03)


def _message(kind: str, **data: object) -> str:
    return json.dumps({"type": kind, "session_id": "s", "created_at": "", "data": data})


def _transcript(uid: str, end: float, final: bool, **extra: object) -> str:
    utterance = {"text": "hi", "start": 0.0, "end": end, "confidence": 1, "channel": 0}
    return json.dumps(
        {
            "type": "transcript",
            "session_id": "s",
            "created_at": "",
            "data": {"id": uid, "is_final": final, "utterance": utterance},
            **extra,
        }
    )


def test_session_figures_skip_recovered_finals_and_read_the_billed_time() -> None:
    clock = Clock()
    figures = SessionFigures(AudioFormat(sample_rate=16000, channels=2), clock=clock)
    for k in range(10):
        clock.now = (k + 1) / 10
        figures.sent(k * 6400, 6400, clock.now)
    assert figures.summary_parts() == []  # nothing known yet: nothing printed
    clock.now = 1.5
    figures.message(parse_server_message(_transcript("a", 0.5, False)))
    figures.message(parse_server_message(_transcript("a", 0.8, True)))
    figures.message(parse_server_message(_transcript("b", 0.9, True, recovered_from="x")))
    metadata = {"audio_duration": 1.0, "number_of_distinct_channels": 2, "billing_time": 2.0}
    figures.message(parse_server_message(_message("post_final_transcript", metadata=metadata)))
    lags = figures.lags()
    assert (lags.finals, lags.partials) == (1, 1)
    assert figures.summary_parts() == [
        "final lag p50 700 ms p95 700 ms",
        "partial lag p50 1.00 s p95 1.00 s",
        "billed 2.0 s (1.00 s × 2 channels)",
    ]
    assert Billing.from_container({"metadata": {"billing_time": None}}) is None
    assert Billing.from_container({"metadata": {"billing_time": True}}) is None
    figures.result({"result": {"metadata": {"billing_time": 4.0}}})
    assert figures.billing == Billing(4.0)
    assert figures.billing.text() == "billed 4.0 s"
    figures.result({"result": None})
    assert figures.billing == Billing(4.0)


def test_lags_read_well_at_every_scale() -> None:
    assert format_lag(0.0008) == "0.8 ms"
    assert format_lag(0.042) == "42 ms"
    assert format_lag(1.254) == "1.25 s"


def test_the_status_lines_show_the_lag() -> None:
    console = Console(width=200, record=True, color_system=None)
    view = StatusView(state="streaming", sent_seconds=3.0, final_lag=0.42, partial_lag=0.18)
    console.print(status_line(view))
    console.print(bar_line("talk.wav", view, 10.0))
    console.print(status_line(StatusView(state="streaming", partial_lag=0.2)))
    console.print(status_line(StatusView(state="streaming")))
    lines = console.export_text().splitlines()
    assert "lag 420 ms (partial 180 ms)" in lines[0]
    assert "lag 420 ms (partial 180 ms)" in lines[1]
    assert "lag partial 200 ms" in lines[2]
    assert "lag" not in lines[3]


def test_the_partial_lag_is_shown_only_while_the_newest_transcript_is_a_partial() -> None:
    """After a final (then minutes of silence) the last partial's lag is history: the status
    line kept showing it."""
    clock = Clock()
    figures = SessionFigures(AudioFormat(sample_rate=16000, channels=1), clock=clock)
    for k in range(10):
        clock.now = (k + 1) / 10
        figures.sent(k * 3200, 3200, clock.now)
    clock.now = 1.2
    figures.message(parse_server_message(_transcript("a", 0.5, False)))
    assert figures.lags().partial_last == pytest.approx(0.7)
    figures.message(parse_server_message(_transcript("a", 0.8, True)))
    clock.now = 300.0  # five minutes of silence
    lags = figures.lags()
    assert lags.partial_last is None and lags.final_last == pytest.approx(0.4)
    assert lags.partials == 1 and lags.partial_p50 == pytest.approx(0.7, rel=0.01)
