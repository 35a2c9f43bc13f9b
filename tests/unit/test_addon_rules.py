"""The add-ons' rules that need no model: scheduling behind transcripts, character spans to
times, summary sizes, what translation can serve offline, audio ranges."""

from __future__ import annotations

import numpy as np
import pytest

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.addons import translation
from gladia_cli.server.addons.sentiment import classify, emotion
from gladia_cli.server.addons.shapes import container
from gladia_cli.server.addons.summary import summary_size
from gladia_cli.server.addons.timing import TextTimes
from gladia_cli.server.recognition.decode_queue import DecodeQueue, DecodeRequest, FairSchedule


def _request(session: str, final: bool, name: str) -> DecodeRequest:
    return DecodeRequest(session, 0, final, lambda: name, lambda r, e: None)


def test_background_decodes_wait_for_every_final_and_partial() -> None:
    schedule = FairSchedule()
    schedule.add_background(_request("a", True, "translate-a"))
    schedule.add(_request("b", False, "partial-b"))
    schedule.add(_request("a", True, "final-a"))
    schedule.add_background(_request("b", True, "translate-b"))
    order = []
    while (item := schedule.next()) is not None:
        order.append(item.job())
    assert order == ["partial-b", "final-a", "translate-a", "translate-b"]  # sessions in turn
    schedule.add_background(_request("a", True, "translate-a2"))
    assert [r.job() for r in schedule.forget("a")] == ["translate-a2"]
    assert len(schedule) == 0


def test_the_queue_runs_a_background_decode_and_waits_for_it() -> None:
    queue = DecodeQueue(workers=1)
    try:
        assert queue.run_background("s", 0, lambda: "english") == "english"
    finally:
        queue.close()


UTTERANCE = {
    "text": " Hi Anna, call Sasha.",
    "start": 1.0,
    "end": 3.0,
    "channel": 0,
    "words": [
        {"word": " Hi", "start": 1.0, "end": 1.2},
        {"word": " Anna,", "start": 1.3, "end": 1.8},
        {"word": " call", "start": 2.0, "end": 2.3},
        {"word": " Sasha.", "start": 2.4, "end": 3.0},
    ],
}


def test_character_spans_take_the_times_of_their_words() -> None:
    times = TextTimes(UTTERANCE)
    text = UTTERANCE["text"]
    assert isinstance(text, str)
    first = text.index("Anna")
    assert times.span(first, first + 4) == (1.3, 1.8)
    first = text.index("Sasha")
    assert times.span(first, first + 5) == (2.4, 3.0)


def test_without_words_a_span_is_placed_in_proportion() -> None:
    times = TextTimes({**UTTERANCE, "text": "abcdefghij", "words": []})
    assert times.span(5, 10) == (2.0, 3.0)


@pytest.mark.parametrize(
    ("sentences", "general", "concise", "bullets"),
    [(1, 1, 1, 1), (2, 1, 1, 1), (10, 2, 1, 2), (40, 5, 2, 7), (100, 5, 2, 7)],
)
def test_summary_sizes(sentences: int, general: int, concise: int, bullets: int) -> None:
    assert summary_size(sentences, "general") == general
    assert summary_size(sentences, "concise") == concise
    assert summary_size(sentences, "bullet_points") == bullets


def test_vader_scores_to_gladias_sentiments_and_emotions() -> None:
    assert classify({"pos": 0.6, "neg": 0.0, "neu": 0.4, "compound": 0.6}) == "positive"
    assert classify({"pos": 0.0, "neg": 0.6, "neu": 0.4, "compound": -0.6}) == "negative"
    assert classify({"pos": 0.3, "neg": 0.3, "neu": 0.4, "compound": 0.1}) == "mixed"
    assert classify({"pos": 0.0, "neg": 0.0, "neu": 1.0, "compound": 0.0}) == "neutral"
    assert emotion("positive", ["i", "love", "it"]) == "adoration"
    assert emotion("negative", ["i", "love", "it"]) == "disappointment"  # cue of the other side
    assert emotion("neutral", ["hate"]) == "neutral"


def test_translation_serves_english_only_and_only_with_a_translator() -> None:
    def translate(session: str, channel: int, audio: object, language: str) -> str:
        return "hello"

    assert translation.target_problem("en", translate) is None
    assert translation.target_problem("fr", translate) == (
        "only target English (en) is available offline, not 'fr'"
    )
    assert translation.target_problem("en", None) == translation.NEEDS_WHISPER


def test_an_utterances_audio_is_found_in_the_stream_and_brought_to_16_khz() -> None:
    fmt = AudioFormat(sample_rate=8000, channels=2)
    offset, length = translation.stream_range(fmt, 44, 0.5, 1.0)
    assert (offset, length) == (44 + 4000 * 4, 4000 * 4)
    frames = np.zeros((8000, 2), dtype=np.int16)
    frames[:, 1] = 16384
    audio = translation.channel_audio(frames.tobytes(), fmt, 1)
    assert audio.dtype == np.float32 and abs(len(audio) - 16000) <= 1
    assert abs(float(np.median(audio)) - 0.5) < 0.01


def test_the_result_container() -> None:
    assert container([], 0.01234) == {
        "success": True,
        "is_empty": True,
        "exec_time": 0.012,
        "error": None,
        "results": [],
    }


def test_an_utterance_in_another_language_gets_the_patterns_alone() -> None:
    from gladia_cli.server.addons.ner import named_entities

    utterance = {
        **UTTERANCE,
        "text": " Écrivez à anna@example.org ou appelez le 01 23 45 67 89.",
        "language": "fr",
        "words": [],
    }
    found = [(e["entity_type"], e["text"]) for e in named_entities(utterance)]
    assert found == [("EMAIL_ADDRESS", "anna@example.org"), ("PHONE_NUMBER", "01 23 45 67 89")]
