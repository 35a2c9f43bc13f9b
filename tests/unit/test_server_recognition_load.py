"""How a session's recognition gives way under load, and comes back (rules, no clock)."""

from __future__ import annotations

from gladia_cli.server.recognition.recognition_load import Level, LoadPolicy


def _live(policy: LoadPolicy, lag: float, at: float, step: float = 1.0) -> Level | None:
    # A live source: the audio received never runs ahead of the clock.
    return policy.observe(lag=lag, received=at, elapsed=at, recognised=step)


def test_a_live_session_gives_way_in_order_and_comes_back_a_level_at_a_time() -> None:
    policy = LoadPolicy(raise_at=(2.0, 5.0), calm_lag=0.5, calm_for=10.0)
    assert _live(policy, lag=1.0, at=10) is None and policy.level is Level.FULL
    assert _live(policy, lag=2.5, at=11) is Level.FEWER_PARTIALS
    assert _live(policy, lag=3.0, at=12) is None
    assert _live(policy, lag=6.0, at=13) is Level.FAST_FINALS
    # Calm for 10 s of audio recognised (a lag over calm_lag starts the count again).
    changes = [_live(policy, lag=0.2, at=14 + n) for n in range(9)]
    assert changes == [None] * 9
    assert _live(policy, lag=0.8, at=23) is None  # not calm: the count starts again
    changes = [_live(policy, lag=0.2, at=24 + n) for n in range(10)]
    assert changes[-1] is Level.FEWER_PARTIALS and changes[:-1] == [None] * 9
    changes = [_live(policy, lag=0.2, at=34 + n) for n in range(10)]
    assert changes[-1] is Level.FULL
    assert policy.max_level is Level.FAST_FINALS


def test_a_session_faster_than_the_clock_keeps_its_finals() -> None:
    # --pace max: 60 s of audio in 2 s. Behind by design (slowed by held acknowledgments):
    # only partials give way; its finals are what a quiet machine would give.
    policy = LoadPolicy()
    assert policy.observe(lag=30.0, received=60.0, elapsed=2.0, recognised=2.0) == (
        Level.FEWER_PARTIALS
    )
    assert not policy.live
    assert policy.observe(lag=40.0, received=200.0, elapsed=100.0, recognised=2.0) is None
    assert policy.level is Level.FEWER_PARTIALS


def test_a_session_found_faster_than_the_clock_drops_fast_finals() -> None:
    policy = LoadPolicy()
    assert _live(policy, lag=6.0, at=10) is Level.FAST_FINALS
    # Then the audio runs ahead of the clock (a file, not a microphone): finals back.
    assert policy.observe(lag=6.0, received=20.0, elapsed=11.0, recognised=1.0) is (
        Level.FEWER_PARTIALS
    )


def test_audio_ahead_of_the_clock_is_not_lateness_before_the_session_is_found_out() -> None:
    # CI: a short file at --pace max, its first batch recognised 2.1 s behind the audio
    # received, 0.1 s into the session: not yet 3 s ahead (still "live"), yet nobody waits.
    policy = LoadPolicy()
    assert policy.observe(lag=2.1, received=2.2, elapsed=0.1, recognised=0.1) is None
    assert policy.level is Level.FULL and policy.live
    # Then its speed shows: its partials give way, quietly (not live), its finals stay.
    assert policy.observe(lag=6.0, received=9.0, elapsed=0.3, recognised=0.5) is (
        Level.FEWER_PARTIALS
    )
    assert not policy.live
    # A live source 2.1 s behind the clock is late: it gives way.
    live = LoadPolicy()
    assert live.observe(lag=2.1, received=10.0, elapsed=10.0, recognised=0.5) is (
        Level.FEWER_PARTIALS
    )
    # Audio 2 s ahead of the clock (captured while the client connected), 2.5 s behind
    # the audio received: 0.5 s behind the clock, not late.
    burst = LoadPolicy()
    assert burst.observe(lag=2.5, received=12.0, elapsed=10.0, recognised=0.5) is None
