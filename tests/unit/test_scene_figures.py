"""The figures of `engines.py --scenes` (benchmarks/scene_figures.py) and the corpus's
scene layouts (benchmarks/corpus.py): latencies matched to acknowledgments, WER per
channel, the meeting's timelines. No engine, no sockets."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from benchmarks.corpus import (
    RATE,
    Recording,
    Timeline,
    Voice,
    all_at_once,
    scene_audio,
    taking_turns,
    write_item,
)
from benchmarks.scene_figures import (
    Arrival,
    ErrorCount,
    channel_texts,
    finals,
    gladia_words,
    latencies,
    parse_lines,
    project_words,
    total,
    transcript_difference,
    word_errors,
)


def ack(at: float, start: float, end: float) -> Arrival:
    data = {"byte_range": [0, 0], "time_range": [start, end]}
    return Arrival(at, {"type": "audio_chunk", "acknowledged": True, "data": data})


def transcript(
    at: float, uid: str, start: float, end: float, *, final: bool, channel: int = 0, text: str = ""
) -> Arrival:
    utterance = {"start": start, "end": end, "channel": channel, "text": text, "words": []}
    data = {"id": uid, "is_final": final, "utterance": utterance}
    return Arrival(at, {"type": "transcript", "data": data})


def real_time_acks(seconds: float, t0: float = 100.0, lag: float = 0.01) -> list[Arrival]:
    """One acknowledgment per 100 ms chunk, arriving `lag` after the chunk was spoken."""
    return [ack(t0 + (i + 1) / 10 + lag, i / 10, (i + 1) / 10) for i in range(round(seconds * 10))]


def test_a_final_is_timed_from_the_first_acknowledgment_reaching_its_end() -> None:
    arrivals = [
        *real_time_acks(5.0),
        transcript(102.0, "a", 0.5, 1.5, final=False),
        transcript(103.2, "a", 0.5, 2.25, final=True),
    ]
    result = latencies(arrivals)
    # The end 2.25 s is first covered by the chunk ending at 2.3, acknowledged at 102.31.
    ((end, delay),) = result.finals
    assert end == 2.25
    assert delay == pytest.approx(103.2 - 102.31)
    # The first partial: from the acknowledgment reaching the start (0.5 → 100.51).
    assert result.first_partials == [pytest.approx(102.0 - 100.51)]
    assert result.unmatched == 0


def test_the_speech_clock_starts_at_the_earliest_acknowledgment_less_its_audio_time() -> None:
    # The server lags its acknowledgments by 0.8 s once the audio passes 2 s (it stopped
    # reading its socket): the acknowledgment figure hides it, the speech clock does not.
    acks = [
        ack(100.0 + (i + 1) / 10 + (0.8 if i >= 20 else 0.01), i / 10, (i + 1) / 10)
        for i in range(40)
    ]
    arrivals = [*acks, transcript(103.5, "a", 2.0, 3.0, final=True)]
    result = latencies(arrivals)
    ((_, by_ack),) = result.finals
    ((_, by_speech),) = result.speech_clock
    assert by_ack == pytest.approx(103.5 - (103.0 + 0.8))
    assert by_speech == pytest.approx(103.5 - (100.01 + 3.0))


def test_finals_cut_at_the_maximum_duration_are_counted_apart() -> None:
    arrivals = [
        *real_time_acks(12.0),
        transcript(101.0, "a", 0.2, 0.9, final=False),
        transcript(106.6, "a", 0.2, 5.2, final=True),  # cut: "b" starts where it ends
        transcript(106.8, "b", 5.2, 6.0, final=False),
        transcript(109.0, "b", 5.2, 8.0, final=True),
        transcript(109.5, "c", 8.0, 9.0, final=True, channel=1),  # another channel: not a cut
    ]
    result = latencies(arrivals)
    assert [round(end, 3) for end, _ in result.finals] == [8.0, 9.0]
    assert result.after_cut == [pytest.approx(106.6 - 105.21)]
    # Only "a" had a first partial that started with speech ("b" starts at the cut).
    assert result.first_partials == [pytest.approx(101.0 - 100.21)]


def test_a_final_beyond_every_acknowledgment_is_unmatched_and_a_repeat_counts_once() -> None:
    arrivals = [
        *real_time_acks(2.0),
        transcript(101.5, "a", 0.1, 1.0, final=True),
        transcript(101.6, "a", 0.1, 1.0, final=True),  # re-delivered after a reconnect
        transcript(103.0, "b", 1.5, 2.5, final=True),  # its end was never acknowledged
    ]
    result = latencies(arrivals)
    assert len(result.finals) == 1
    assert result.unmatched == 1
    assert len(finals(arrivals)) == 2


def test_final_delays_by_minute_window() -> None:
    arrivals = [*real_time_acks(130.0)]
    arrivals += [transcript(100 + e + 0.5, f"u{e}", e - 1, e, final=True) for e in (10, 50)]
    arrivals += [transcript(100 + e + 2.0, f"u{e}", e - 1, e, final=True) for e in (100, 125)]
    result = latencies(arrivals)
    assert result.final_delays(until=60.0) == [pytest.approx(0.49)] * 2
    assert result.final_delays(since=70.0) == [pytest.approx(1.99)] * 2


def test_parse_lines_keeps_messages_and_skips_anything_else() -> None:
    lines = [(1.0, json.dumps({"type": "start_recording"})), (1.1, "not json"), (1.2, "[1]")]
    assert [a.message["type"] for a in parse_lines(lines)] == ["start_recording"]


def test_channel_texts_follow_audio_order_per_channel() -> None:
    arrivals = [
        transcript(3.0, "b", 4.0, 5.0, final=True, text=" second"),
        transcript(2.0, "a", 1.0, 2.0, final=True, text=" first"),
        transcript(2.5, "c", 1.5, 2.5, final=True, channel=2, text="autre"),
    ]
    assert channel_texts(finals(arrivals)) == {0: "first second", 2: "autre"}


def test_word_errors_per_channel_and_a_silent_channel_misses_every_word() -> None:
    references = {0: ("en", "he was not an ill disposed young man"), 1: ("en", "go forward")}
    heard = {0: "He was not an ill-disposed young man."}
    counts = word_errors(references, heard, project_words)
    assert counts[0] == ErrorCount(0, 8)
    assert counts[1] == ErrorCount(2, 2)
    assert total(counts.values()).rate == pytest.approx(2 / 10)


def test_gladia_normaliser_forgives_what_tests_wer_does_not() -> None:
    reference = {0: ("en", "Mister Smith paid 50 dollars, didn't he?")}
    heard = {0: "Mr. Smith paid fifty dollars, did not he"}
    assert word_errors(reference, heard, gladia_words)[0].errors == 0
    assert word_errors(reference, heard, project_words)[0].errors > 0
    # Spanish transcripts of the corpus are written without accents; Whisper writes them.
    spanish = {0: ("es", "Por favor ingrese su contrasena")}
    assert word_errors(spanish, {0: "Por favor, ingrese su contraseña."}, gladia_words)[0] == (
        ErrorCount(0, 5)
    )


def test_transcript_difference_counts_words_over_all_channels() -> None:
    assert transcript_difference({0: "a b c", 1: "d"}, {0: "a b c", 1: "d"}) == 0
    assert transcript_difference({0: "a b c"}, {0: "a x c", 1: "d e"}) == 3


# --- the corpus's scene layouts -----------------------------------------------------------


def voice(name: str, seconds: Any) -> Voice:
    recordings = tuple(
        Recording(f"{name}/{i}", f"{name} {i} words here", np.ones(round(s * 16000), np.int16))
        for i, s in enumerate(seconds)
    )
    return Voice(name, "en", "test", recordings)


VOICES = [voice("a", [2.0, 3.5, 1.2, 4.0]), voice("b", [3.0, 5.0]), voice("c", [1.5, 2.5, 6.0])]


def spans(timeline: Timeline, channel: int | None = None) -> list[tuple[float, float]]:
    return sorted((c.start, c.end) for c in timeline.clips if channel in (None, c.channel))


def test_taking_turns_has_one_voice_at_a_time_with_gaps_and_every_voice_speaks() -> None:
    timeline = taking_turns(VOICES, 120.0, random.Random(1))
    ordered = spans(timeline)
    for (_, end), (start, _) in itertools.pairwise(ordered):
        assert start - end >= 0.3 - 1e-6  # nobody talks over anybody
    assert {c.channel for c in timeline.clips} == {0, 1, 2}
    assert 115.0 < timeline.duration <= 120.0
    # Speaker changes happen (a meeting, not three monologues).
    changes = sum(a.channel != b.channel for a, b in itertools.pairwise(timeline.clips))
    assert changes >= 10


def test_all_at_once_keeps_every_channel_talking_over_the_others() -> None:
    timeline = all_at_once(VOICES, 60.0, random.Random(1))
    for channel in range(3):
        own = spans(timeline, channel)
        pauses = [b[0] - a[1] for a, b in itertools.pairwise(own)]
        assert pauses and all(0.3 - 1e-6 <= p <= 0.9 + 1e-6 for p in pauses)
        assert own[-1][1] > 50.0
    # At 30 s every channel is mid-sentence or in a pause under a second.
    for channel in range(3):
        assert any(start - 0.9 <= 30.0 <= end + 0.9 for start, end in spans(timeline, channel))


def test_layouts_are_the_same_for_the_same_seed() -> None:
    first = taking_turns(VOICES, 60.0, random.Random(17)).clips
    assert first == taking_turns(VOICES, 60.0, random.Random(17)).clips
    assert first != taking_turns(VOICES, 60.0, random.Random(18)).clips


def test_a_scene_cut_short_ends_after_its_last_whole_clip_and_silences_the_rest(
    tmp_path: Path,
) -> None:
    timeline = Timeline(2)
    a, b = VOICES[0].recordings, VOICES[1].recordings
    timeline.place(0, 0.5, a[0])  # 0.5–2.5
    timeline.place(1, 1.0, b[0])  # 1.0–4.0
    timeline.place(0, 3.0, a[1])  # 3.0–6.5: past the cut at 6 s
    timeline.place(1, 4.5, b[1])  # 4.5–9.5: past it too, but starts before the end
    write_item(tmp_path, "two", timeline, [VOICES[0], VOICES[1]])
    whole = scene_audio(tmp_path, "two", None, tmp_path)
    assert whole.seconds == pytest.approx(9.5 + 1.5)
    assert whole.references[0] == ("en", "a 0 words here a 1 words here")
    short = scene_audio(tmp_path, "two", 0.1, tmp_path)  # 6 s
    assert short.seconds == pytest.approx(4.0 + 1.5)
    assert short.references == {0: ("en", "a 0 words here"), 1: ("en", "b 0 words here")}
    tracks = [sf.read(f, dtype="int16")[0] for f in short.files]
    assert [len(t) for t in tracks] == [round(5.5 * RATE)] * 2
    # Channel 0's left-out clip started at 3.0 and channel 1's at 4.5: silent from there.
    assert not tracks[0][3 * RATE :].any() and tracks[0][round(2.4 * RATE)]
    assert not tracks[1][round(4.5 * RATE) :].any() and tracks[1][round(3.9 * RATE)]


def test_a_transcript_correction_changes_spelling_only_and_must_apply() -> None:
    from benchmarks.corpus import CORRECTIONS, CorpusError, corrected

    shipped = "Veuillez essayez de nouveau."
    assert corrected("fr/vm-pls-try-again", shipped) == "Veuillez essayer de nouveau."
    assert corrected("fr/other", shipped) == shipped  # no correction for that prompt
    with pytest.raises(CorpusError, match="no 'Veuillez essayez'"):
        corrected("fr/vm-pls-try-again", "Veuillez recommencer.")  # the package changed
    # Spelling only: the same number of words, each pair (the space-split "ce tte" aside).
    for pairs in CORRECTIONS.values():
        for wrong, right in pairs:
            if wrong != "ce tte":
                assert len(wrong.split()) == len(right.split()), (wrong, right)
