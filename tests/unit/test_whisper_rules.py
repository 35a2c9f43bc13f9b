"""The whisper engine's rules without a model: utterance segmentation over VAD frames, the
fair decode schedule, repetition trimming, recognition status, the test WER."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gladia_cli.server.recognition.decode_queue import DecodeQueue, DecodeRequest, FairSchedule
from gladia_cli.server.recognition.engines.base import ChannelSettings
from gladia_cli.server.recognition.engines.segmenter import (
    PartialDue,
    SegmenterSettings,
    UtteranceEnd,
    UtteranceSegmenter,
    UtteranceStart,
)
from gladia_cli.server.recognition.engines.whisper import segmenter_settings
from gladia_cli.server.recognition.engines.whisper_decoding import (
    Decoded,
    partial_token_cap,
    partial_window_seconds,
    trim_repetitions,
)
from gladia_cli.server.recognition.recognition_status import RecognitionStatus
from tests.wer import normalise, wer

RULES = SegmenterSettings(
    start_threshold=0.6,
    end_threshold=0.45,
    silence_frames=10,
    preroll_frames=6,
    max_frames=100,
    cut_window_frames=20,
    partial_every_samples=8000,
)


def segment(probabilities: list[float], energies: list[float] | None = None, rules=RULES):
    segmenter = UtteranceSegmenter(rules)
    actions = []
    for i, p in enumerate(probabilities):
        actions += segmenter.push(p, (energies or [1.0] * len(probabilities))[i])
    return actions + segmenter.finish()


def test_speech_starts_with_a_preroll_and_ends_after_the_silence() -> None:
    probs = [0.1] * 20 + [0.9] * 30 + [0.5] * 3 + [0.9] * 5 + [0.1] * 15
    actions = segment(probs)
    starts = [a for a in actions if isinstance(a, UtteranceStart)]
    ends = [a for a in actions if isinstance(a, UtteranceEnd)]
    assert starts == [UtteranceStart(14)]  # 6 frames before the first p ≥ 0.6
    # 0.5 stays above the lower threshold: one utterance; it ends with the last voiced frame
    assert ends == [UtteranceEnd(14, 58, audio_end=68, cut=False)]
    partials = [a.end for a in actions if isinstance(a, PartialDue)]
    # every 8000 samples (15.625 frames) of utterance audio
    assert partials == [30, 46]


def test_a_long_utterance_is_cut_at_its_quietest_point() -> None:
    probs = [0.9] * 250
    energies = [1.0] * 250
    energies[90] = 0.01  # a pause between two words, inside the last 20 frames before 100
    actions = segment(probs, energies)
    ends = [a for a in actions if isinstance(a, UtteranceEnd)]
    assert ends[0] == UtteranceEnd(0, 90, audio_end=90, cut=True)
    starts = [a.frame for a in actions if isinstance(a, UtteranceStart)]
    assert starts[:2] == [0, 90]  # the speech goes on: the next utterance starts at the cut
    assert all(e.end - e.start <= 100 for e in ends)


def test_a_pause_in_the_cut_window_cuts_as_soon_as_the_voice_comes_back() -> None:
    from dataclasses import replace

    pausing = replace(RULES, pause_cut_frames=3)
    probs = [0.9] * 250
    energies = [1.0] * 250
    probs[84:88] = [0.2] * 4  # a pause of 4 frames between words, in the cut window (80-100)
    energies[86] = 0.05
    energies[95] = 0.01  # quieter, but later: the limit's cut would take it
    actions = segment(probs, energies, rules=pausing)
    ends = [a for a in actions if isinstance(a, UtteranceEnd)]
    assert ends[0] == UtteranceEnd(0, 86, audio_end=86, cut=True)  # the pause's quietest
    assert UtteranceStart(86) in actions  # the speech goes on from the cut
    # Decided when the voice came back (frame 88), not at the limit (frame 100).
    segmenter = UtteranceSegmenter(pausing)
    decided = next(
        i
        for i in range(250)
        if any(isinstance(a, UtteranceEnd) for a in segmenter.push(probs[i], energies[i]))
    )
    assert decided == 88
    # The same pause before the window, or shorter than pause_cut_frames: cut at the limit.
    early = [0.9] * 250
    early[60:64] = [0.2] * 4
    short = list(probs)
    short[84:86] = [0.9, 0.9]  # 2 frames
    for other in (early, short):
        first = next(
            a for a in segment(other, energies, rules=pausing) if isinstance(a, UtteranceEnd)
        )
        assert first == UtteranceEnd(0, 95, audio_end=95, cut=True)
    # Off by default: the limit's quietest point.
    first = next(a for a in segment(probs, energies) if isinstance(a, UtteranceEnd))
    assert first == UtteranceEnd(0, 95, audio_end=95, cut=True)


def test_weak_speech_just_before_the_onset_starts_the_utterance_earlier() -> None:
    from dataclasses import replace

    # One-voice's first prompt: "Which" at p 0.55-0.57 (under the 0.6 start), a pause,
    # then "folder" at 0.70: the onset's 0.2 s pre-roll began inside "folder".
    probs = [0.0] * 19 + [0.55, 0.56, 0.57, 0.36, 0.40, 0.24, 0.18, 0.12, 0.07, 0.07, 0.06]
    probs += [0.7] * 20 + [0.0] * 15
    reaching = replace(RULES, reach_frames=12)
    starts = [a.frame for a in segment(probs, rules=reaching) if isinstance(a, UtteranceStart)]
    assert starts == [19 - 6]  # the pre-roll before "Which", not before "folder" (30 - 6)
    assert [a.frame for a in segment(probs) if isinstance(a, UtteranceStart)] == [24]
    # Weak speech further back than the reach, or none: the onset's pre-roll.
    far = [0.0] * 5 + [0.5] + [0.0] * 24 + [0.7] * 20 + [0.0] * 15
    assert [a.frame for a in segment(far, rules=reaching) if isinstance(a, UtteranceStart)] == [24]
    # Never before the previous utterance's end (weak speech 5 frames after it).
    two = [0.7] * 10 + [0.0] * 5 + [0.5] + [0.7] * 10 + [0.0] * 15
    actions = segment(two, rules=replace(reaching, silence_frames=4))
    first_end = next(a for a in actions if isinstance(a, UtteranceEnd))
    starts = [a.frame for a in actions if isinstance(a, UtteranceStart)]
    assert first_end.end == 10 and starts == [0, 10]  # not 15 - 6


def test_segmentation_ignores_low_probabilities_and_cannot_go_back_before_an_end() -> None:
    assert segment([0.59] * 100) == []
    probs = [0.9] * 5 + [0.1] * 11 + [0.9] * 5 + [0.1] * 11
    starts = [a.frame for a in segment(probs) if isinstance(a, UtteranceStart)]
    assert starts == [0, 10]  # speech again at 16: the preroll reaches back to 10
    probs = [0.9] * 2 + [0.1] * 10 + [0.9] * 5 + [0.1] * 11
    ends = [a for a in segment(probs) if isinstance(a, UtteranceEnd)]
    assert [(e.start, e.end) for e in ends] == [(0, 2), (6, 17)]
    rules = SegmenterSettings(**{**RULES.__dict__, "preroll_frames": 20})
    ends = [a for a in segment(probs, rules=rules) if isinstance(a, UtteranceEnd)]
    assert [(e.start, e.end) for e in ends] == [(0, 2), (2, 17)]  # not before the end


def test_settings_from_the_init_body() -> None:
    rules = segmenter_settings(ChannelSettings(0))  # Gladia's defaults
    assert (rules.start_threshold, rules.end_threshold) == (0.6, pytest.approx(0.45))
    assert rules.silence_frames == 10  # the 0.3 s floor, in 32 ms frames
    assert rules.max_frames == 156  # 5 s
    assert rules.partial_every_samples == 8000
    several = segmenter_settings(
        ChannelSettings(0, channel_count=3, endpointing=1.0, max_duration_without_endpointing=60)
    )
    assert several.partial_every_samples == 16000
    assert several.first_partial_samples == 6400  # the first one as early as with one channel
    spaced = SegmenterSettings(**{**several.__dict__, "max_frames": 1000})
    partials = [a.end for a in segment([0.9] * 100, rules=spaced) if isinstance(a, PartialDue)]
    assert partials == [13, 44, 75]  # 0.4 s, then every 1 s: 1.4 s, 2.4 s (in 32 ms frames)
    assert several.silence_frames == 32
    assert several.max_frames == 875  # capped at 28 s: Whisper hears 30 s at most


def request(session: str, channel: int, final: bool, name: str, log: list[str]) -> DecodeRequest:
    return DecodeRequest(session, channel, final, lambda: name, lambda r, e: log.append(r))


def test_sessions_take_turns_finals_first_and_stale_partials_are_replaced() -> None:
    schedule = FairSchedule()
    log: list[str] = []
    for i in range(3):
        schedule.add(request("fast", 0, True, f"fast-final-{i}", log))
    schedule.add(request("live", 0, False, "live-partial-old", log))
    stale = schedule.add(request("live", 0, False, "live-partial-new", log))
    assert stale is not None and stale.job() == "live-partial-old"
    schedule.add(request("live", 1, True, "live-final", log))
    order = []
    while (item := schedule.next()) is not None:
        order.append(item.job())
    assert order == [
        "fast-final-0",
        "live-final",  # the live session's turn: its final before its partial
        "fast-final-1",
        "live-partial-new",
        "fast-final-2",
    ]
    assert schedule.skipped == {"live": 1}


def test_pre_recorded_jobs_decode_only_when_no_live_session_waits() -> None:
    schedule = FairSchedule()
    log: list[str] = []

    def job(session: str, final: bool, name: str) -> DecodeRequest:
        return DecodeRequest(session, 0, final, lambda: name, lambda r, e: log.append(r), False)

    schedule.add(job("job-a", True, "a-1"))
    schedule.add(job("job-a", True, "a-2"))
    schedule.add(job("job-b", True, "b-1"))
    schedule.add(request("live", 0, True, "live-final", log))
    schedule.add(request("live", 0, False, "live-partial", log))
    schedule.add_background(request("live", 0, True, "translation", log))
    assert len(schedule) == 6
    assert schedule.next().job() == "live-final"  # type: ignore[union-attr]
    assert schedule.next().job() == "live-partial"  # type: ignore[union-attr]
    assert schedule.next().job() == "a-1"  # type: ignore[union-attr]
    schedule.add(request("live", 0, True, "live-final-2", log))  # comes in: goes first
    order = []
    while (item := schedule.next()) is not None:
        order.append(item.job())
    assert order == ["live-final-2", "b-1", "a-2", "translation"]  # jobs take turns
    schedule.add(job("job-c", False, "c-partial"))
    assert [r.job() for r in schedule.forget("job-c")] == ["c-partial"]
    assert len(schedule) == 0


def test_a_final_takes_back_its_channels_waiting_partial() -> None:
    schedule = FairSchedule()
    log: list[str] = []
    schedule.add(request("s", 0, False, "partial", log))
    schedule.add(request("s", 1, False, "other channel", log))
    schedule.add(request("s", 0, True, "final", log))
    assert [schedule.next().job() for _ in range(2)] == ["final", "other channel"]  # type: ignore[union-attr]
    assert schedule.next() is None


def test_the_queue_runs_finals_and_reports_errors() -> None:
    queue = DecodeQueue(workers=2)
    try:
        assert queue.run_final("s", 0, lambda: 42) == 42
        with pytest.raises(ZeroDivisionError):
            queue.run_final("s", 0, lambda: 1 / 0)
        got = threading.Event()
        queue.offer_partial("s", 0, lambda: "p", lambda r, e: got.set())
        assert got.wait(5) and queue.wait_idle(5)
    finally:
        queue.close()


def test_closing_the_queue_waits_for_a_running_decode_and_fails_the_waiting_ones() -> None:
    # CI: a decode left running in native code while the process exited aborted it (-6)
    # after the transcript was printed. close() lets the running decode end first.
    queue = DecodeQueue(1)
    started, release, ended = threading.Event(), threading.Event(), threading.Event()

    def running() -> str:
        started.set()
        release.wait(10)
        ended.set()
        return "final"

    results: list[Any] = []
    queue.offer_partial("s", 0, running, lambda r, e: results.append(r))
    assert started.wait(10)

    def failed(result: Any, error: BaseException | None) -> None:
        results.append(type(error).__name__)
        release.set()  # close() fails the waiting decode first, then waits for the running one

    queue.offer_partial("s", 1, lambda: "never", failed)
    assert queue.close(timeout=10) and ended.is_set()
    assert sorted(results) == ["QueueClosed", "final"]
    # A decode that never ends: close() gives up after its timeout and says so.
    stuck = DecodeQueue(1)
    hold = threading.Event()
    stuck.offer_partial("s", 0, lambda: hold.wait(10), lambda r, e: None)
    try:
        assert stuck.wait_idle(0.5) is False
        assert stuck.close(timeout=0.2) is False
    finally:
        hold.set()


def test_repetition_loops_are_trimmed() -> None:
    assert trim_repetitions([1, 2, 3]) == [1, 2, 3]
    assert trim_repetitions([5, 5, 5, 5, 5, 6]) == [5, 5, 6]
    assert trim_repetitions([1, 7, 8, 7, 8, 7, 8, 7, 8, 9]) == [1, 7, 8, 7, 8, 9]
    assert partial_window_seconds(2.0) == 10 and partial_window_seconds(12.5) == 14
    assert partial_window_seconds(40) == 30 and partial_token_cap(2.0) == 22


def test_recognition_status_logs_crossings_once() -> None:
    status = RecognitionStatus(limit=30)
    assert status.observe(1.0) == []
    assert len(status.observe(6.0)) == 1 and status.observe(7.0) == []
    assert "bound" in status.observe(30.0)[-1] and status.at_limit(30.0)
    assert status.observe(1.0) == ["recognition caught up (1.0 s behind)"]
    assert status.describe(0.5, 3)["max_recognition_lag"] == 30.0
    assert status.heard("fr") == "fr" and status.heard("en") == "en" and status.heard("fr")
    assert status.languages == ["fr", "en"]


def test_wer_normalisation() -> None:
    assert normalise("Mr. Dashwood, ill-disposed: 10 meters!") == [
        "mister",
        "dashwood",
        "ill",
        "disposed",
        "ten",
        "meters",
    ]
    assert wer("go forward ten meters", "Go forward 10 meters.") == 0.0
    assert wer("a b c d", "a x c") == 0.5


def test_a_channel_language_is_the_weight_of_its_detections_not_its_first_utterance() -> None:
    from gladia_cli.server.recognition.engines.whisper_decoding import choose_language

    # A given language wins outright.
    assert choose_language("fr", {"es": 1.0}, {"es": 50.0}, seconds=3.0) == "fr"
    # Alone, a short utterance decides by its own detection...
    assert choose_language(None, {"it": 0.55, "es": 0.45}, None, seconds=2.3) == "it"
    # ...but not against what the channel heard before, weighed by length.
    prior = {"es": 0.7 * 4.0, "it": 0.3 * 4.0}
    assert choose_language(None, {"it": 0.55, "es": 0.45}, prior, seconds=2.3) == "es"
    # A long clear utterance outweighs a short earlier one.
    assert choose_language(None, {"es": 0.9, "it": 0.1}, {"it": 0.6 * 1.5}, seconds=4.0) == "es"


def test_with_a_partial_worker_finals_and_partials_are_served_apart() -> None:
    schedule = FairSchedule()
    log: list[str] = []
    schedule.add(request("a", 0, False, "a-partial", log))
    schedule.add(request("b", 0, True, "b-final", log))
    schedule.add(request("a", 1, True, "a-final", log))
    job = request("job", 0, True, "job-final", log)
    schedule.add(DecodeRequest(job.session, 0, True, job.job, job.done, live=False))
    assert schedule.has_work("partials") and schedule.has_work("finals")
    partial = schedule.next("partials")
    assert partial is not None and partial.job() == "a-partial"
    assert schedule.next("partials") is None and not schedule.has_work("partials")
    finals = []
    while (item := schedule.next("finals")) is not None:
        finals.append(item.job())
    assert finals == ["b-final", "a-final", "job-final"]  # never a partial
    assert not schedule.has_work("finals") and len(schedule) == 0


def test_a_final_does_not_wait_for_a_running_partial() -> None:
    queue = DecodeQueue(1, partial_workers=1)
    started, release = threading.Event(), threading.Event()

    def slow_partial() -> str:
        started.set()
        release.wait(10)
        return "partial"

    try:
        queue.offer_partial("s", 0, slow_partial, lambda result, error: None)
        assert started.wait(10)
        # The partial is still running on its worker: the final is served meanwhile.
        assert queue.run_final("s", 1, lambda: "final") == "final"
    finally:
        release.set()
        queue.close()


def test_beside_a_sessions_final_only_its_utterances_first_partials_are_served() -> None:
    from dataclasses import replace

    schedule = FairSchedule()
    log: list[str] = []
    schedule.add(request("a", 0, False, "a-later-partial", log))
    schedule.add(replace(request("a", 1, False, "a-first-partial", log), first=True))
    schedule.add(request("a", 2, False, "a-other-later-partial", log))
    # A final of session a is being decoded: its first partial only (it shows the speech
    # was heard).
    holding = frozenset({"a"})
    assert schedule.has_work("partials", holding=holding)
    served = schedule.next("partials", holding=holding)
    assert served is not None and served.job() == "a-first-partial"
    assert not schedule.has_work("partials", holding=holding)
    assert schedule.next("partials", holding=holding) is None
    # Another session's partials are not held back for it.
    schedule.add(request("b", 0, False, "b-later-partial", log))
    served = schedule.next("partials", holding=holding)
    assert served is not None and served.job() == "b-later-partial"
    # Once the final is done, the others in their order.
    assert [schedule.next("partials").job() for _ in range(2)] == [  # type: ignore[union-attr]
        "a-later-partial",
        "a-other-later-partial",
    ]


def test_a_partial_waits_while_a_final_is_decoded_and_runs_after_it() -> None:
    queue = DecodeQueue(1, partial_workers=1)
    final_started, release = threading.Event(), threading.Event()
    order: list[str] = []
    partials_done = threading.Semaphore(0)

    def final() -> str:
        final_started.set()
        release.wait(10)
        order.append("final")
        return "final"

    def partial(name: str):  # type: ignore[no-untyped-def]
        def job() -> str:
            order.append(name)
            return name

        return job

    def done(result: Any, error: BaseException | None) -> None:
        partials_done.release()

    try:
        waiter = threading.Thread(target=queue.run_final, args=("s", 0, final))
        waiter.start()
        assert final_started.wait(10)
        queue.offer_partial("s", 1, partial("later"), done)
        queue.offer_partial("s", 2, partial("first"), done, first=True)
        assert partials_done.acquire(timeout=10)  # the first runs beside the final...
        queue.offer_partial("other", 0, partial("other session's"), done)
        assert partials_done.acquire(timeout=10)  # ...and another session's...
        assert order == ["first", "other session's"]
        release.set()
        waiter.join(10)
        assert partials_done.acquire(timeout=10)  # ...the session's other once it is done
        assert order == ["first", "other session's", "final", "later"]
    finally:
        release.set()
        queue.close()


@pytest.mark.parametrize("kind", ["pre-recorded", "add-on"])
def test_a_jobs_or_an_add_ons_decode_holds_no_live_partial_back(kind: str) -> None:
    queue = DecodeQueue(1, partial_workers=1)
    started, release = threading.Event(), threading.Event()
    partial_done = threading.Event()

    def job() -> str:
        started.set()
        release.wait(10)
        return "job"

    if kind == "pre-recorded":
        target: Any = lambda: queue.run_final("job", 0, job, live=False)  # noqa: E731
    else:
        target = lambda: queue.run_background("s", 0, job)  # noqa: E731
    try:
        waiter = threading.Thread(target=target)
        waiter.start()
        assert started.wait(10)
        queue.offer_partial("s", 0, lambda: "later", lambda r, e: partial_done.set())
        assert partial_done.wait(10)  # served while that decode runs
    finally:
        release.set()
        queue.close()


def test_an_utterance_in_silence_says_how_it_will_end_before_it_does() -> None:
    rules = SegmenterSettings(**{**RULES.__dict__, "tail_frames": 4})
    segmenter = UtteranceSegmenter(rules)
    for p in [0.9] * 30:
        segmenter.push(p, 1.0)
    assert segmenter.likely_end() is None  # speaking
    for _ in range(3):
        assert segmenter.push(0.1, 0.0) == [] and segmenter.likely_end() is None
    segmenter.push(0.1, 0.0)  # 4 unvoiced frames: the tail is heard
    likely = segmenter.likely_end()
    assert likely == UtteranceEnd(0, 30, audio_end=34, cut=False)
    # A voiced frame before the end voids it; the utterance goes on.
    segmenter.push(0.9, 1.0)
    assert segmenter.likely_end() is None
    ends = []
    for _ in range(10):
        ends += [a for a in segmenter.push(0.1, 0.0) if isinstance(a, UtteranceEnd)]
        if not ends:
            assert segmenter.likely_end() in (None, UtteranceEnd(0, 35, 39, cut=False))
    # The end, once the silence is confirmed, is the one foretold: same audio, its tail only.
    assert ends == [UtteranceEnd(0, 35, audio_end=39, cut=False)]
    assert segmenter.likely_end() is None


def test_a_speculative_final_runs_only_on_an_idle_queue_and_keeps_the_partial() -> None:
    queue = DecodeQueue(1, partial_workers=1)
    started, release = threading.Event(), threading.Event()

    def slow_final() -> str:
        started.set()
        release.wait(10)
        return "final"

    try:
        future = queue.speculate_final("s", 0, lambda: "guess")
        assert future is not None and future.result(10) == "guess"
        running = threading.Thread(target=queue.run_final, args=("t", 0, slow_final))
        running.start()
        assert started.wait(10)
        # Another session's final is being decoded: a guess would delay the next one.
        assert queue.speculate_final("s", 0, lambda: "guess") is None
        release.set()
        running.join(10)
        assert queue.wait_idle(10)
        # Another channel is speaking: its final could come while the guess runs.
        queue.speaking("s", 1, True)
        queue.speaking("s", 0, True)
        assert queue.speculate_final("s", 0, lambda: "guess") is None
        queue.speaking("s", 1, False)
        future = queue.speculate_final("s", 0, lambda: "guess")
        assert future is not None and future.result(10) == "guess"
        # A waiting partial of the channel stays (a real final would drop it).
        schedule = FairSchedule()
        log: list[str] = []
        schedule.add(request("s", 0, False, "partial", log))
        guess = request("s", 0, True, "guess", log)
        schedule.add(DecodeRequest("s", 0, True, guess.job, guess.done, speculative=True))
        assert schedule.skipped == {} and len(schedule) == 2 and schedule.has_work("partials")
    finally:
        release.set()
        queue.close()


def test_two_utterances_do_not_decide_a_channel_language() -> None:
    from gladia_cli.server.recognition.engines.whisper import kept_language

    # Spanish prompts: the first heard as Spanish (2.8 s), the second as Italian (4.1 s,
    # English names in it). A 2.6x lead after 6.9 s is not enough to keep Italian...
    votes = {"es": 0.9 * 2.8, "it": 0.8 * 4.1 + 0.1 * 2.8, "pt": 0.1 * 4.1}
    assert kept_language(votes, 6.9) is None
    # ...the later utterances outvote it, and the channel keeps the clear leader at 15 s.
    votes["es"] += 0.9 * 9.0
    votes["it"] += 0.05 * 9.0
    assert kept_language(votes, 15.9) == "es"
    # No clear leader: undecided until 30 s of speech, then the leader.
    close = {"es": 8.0, "it": 7.0}
    assert kept_language(close, 20.0) is None and kept_language(close, 30.0) == "es"


class _Decoder:
    """A decoder for the second-opinion rule: a fixed answer, and how often it was asked."""

    def __init__(
        self, text: str, confidence: float, language: str = "en", *, looped: bool = False
    ) -> None:
        self.answer = (text, confidence, language)
        self.looped = looped
        self.asked = 0

    def final(self, audio: object) -> Decoded:
        self.asked += 1
        text, confidence, language = self.answer
        return Decoded(text, (), confidence, language, 0.0, looped=self.looped)


def test_an_unsure_english_final_gets_a_second_opinion_and_the_surer_text_wins() -> None:
    from gladia_cli.server.recognition.engines.whisper import (
        SECOND_OPINION_BELOW,
        SECOND_OPINION_MARGIN,
        second_opinion,
    )

    def final(base: _Decoder, second: _Decoder | None) -> str:
        other = None if second is None else lambda: second.final(b"audio")
        return second_opinion(lambda: base.final(b"audio"), other).text

    # Whisper base lost most of a short prompt; tiny.en heard it: tiny.en's text.
    base, tiny = _Decoder("5", 0.20), _Decoder("5 to extend the conference.", 0.86)
    assert final(base, tiny) == "5 to extend the conference." and tiny.asked == 1
    # Asked, but less sure than base, or not clearly surer: base's text stays.
    base, tiny = _Decoder("Go forward 10 meters", 0.55), _Decoder("Go for what?", 0.40)
    assert final(base, tiny) == "Go forward 10 meters" and tiny.asked == 1
    base = _Decoder("Press 1 to accept this call", 0.70)
    tiny = _Decoder("Press one to accept this car", 0.70 + SECOND_OPINION_MARGIN)
    assert final(base, tiny) == "Press 1 to accept this call" and tiny.asked == 1
    # A sure final is not decoded twice, nor another language's, nor without a second model.
    sure = _Decoder("Press 1.", SECOND_OPINION_BELOW + 0.01)
    french = _Decoder("Composez le 1.", 0.3, language="fr")
    for decoder in (sure, french):
        tiny = _Decoder("anything", 0.99)
        assert final(decoder, tiny) == decoder.answer[0] and tiny.asked == 0
    assert final(_Decoder("5", 0.2), None) == "5"
    # A loop ("5 5 5 5…" cut back to "5 5") is sure of every token: asked all the same, and
    # a text that did not loop wins; two loops: the surer rule again.
    looped = _Decoder("5 5", 0.86, looped=True)
    tiny = _Decoder("5 to extend the conference.", 0.86)
    assert final(looped, tiny) == "5 to extend the conference." and tiny.asked == 1
    assert final(looped, _Decoder("5 5 5", 0.9, looped=True)) == "5 5"


def test_a_final_has_room_for_fast_speech_but_not_for_a_loop() -> None:
    from gladia_cli.server.recognition.engines.whisper_decoding import MAX_LENGTH, final_token_cap

    # The corpus's fastest real speech: 6.1 tokens/s (French); twice that fits.
    for seconds in (0.5, 2.0, 5.0, 10.0):
        assert final_token_cap(seconds) >= 2 * 6.1 * seconds
    # A 2 s utterance that loops stops at 44 tokens, not Whisper's 448 positions.
    assert final_token_cap(2.0) <= MAX_LENGTH // 8
