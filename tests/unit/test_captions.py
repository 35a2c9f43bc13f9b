"""Captions that fit (render/captions.py) and `--format words` (render/words.py)."""

from __future__ import annotations

import itertools

import pytest

from gladia_cli.protocol.messages import Utterance, Word
from gladia_cli.render.base import Labels
from gladia_cli.render.captions import CaptionLimits, layout, timed_words
from gladia_cli.render.subtitles import to_srt, to_vtt
from gladia_cli.render.words import HEADER, word_lines

TEXT = (
    "so the budget for the next quarter has been approved by the board and we can finally "
    "start hiring the two engineers we talked about in september, provided that marketing "
    "agrees to move their campaign to the spring as discussed"
).split()


def long_utterance(*, with_words: bool = True, channel: int = 0) -> Utterance:
    words = tuple(
        Word(f" {w}", 10 + i * 0.35, 10 + i * 0.35 + 0.3, 0.9) for i, w in enumerate(TEXT)
    )
    return Utterance(
        text=" ".join(TEXT),
        start=10.0,
        end=10 + len(TEXT) * 0.35,
        channel=channel,
        confidence=0.8,
        words=words if with_words else (),
    )


@pytest.mark.parametrize("with_words", [True, False])
@pytest.mark.parametrize(("chars", "seconds"), [(42, 7.0), (20, 3.0), (32, 2.0), (80, 60.0)])
def test_a_long_utterance_fits_the_limits_with_every_word_in_order(
    with_words: bool, chars: int, seconds: float
) -> None:
    limits = CaptionLimits(chars, seconds)
    cues = layout(long_utterance(with_words=with_words), limits, reserve=5)
    assert len(cues) > 1
    assert [w for cue in cues for w in cue.words] == TEXT  # none lost, none added, in order
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2
        assert len(cue.lines[0]) + 5 <= chars and all(len(line) <= chars for line in cue.lines)
        assert cue.end - cue.start <= seconds + 1e-9
    for before, after in itertools.pairwise(cues):
        assert before.end <= after.start


def test_word_timings_decide_the_cue_times() -> None:
    cues = layout(long_utterance(), CaptionLimits(42, 7.0))
    assert cues[0].start == 10.0
    first_word_of_second = cues[1].words[0]
    index = TEXT.index(first_word_of_second)
    assert cues[1].start == pytest.approx(10 + index * 0.35)


def test_without_words_timing_is_proportional_to_the_text() -> None:
    u = Utterance("aa bbbb", 1.0, 4.0, 0, confidence=0.7)
    words = timed_words(u)
    assert [(w.word, w.start, w.end, w.confidence) for w in words] == [
        ("aa", 1.0, 2.0, 0.7),
        ("bbbb", 2.0, 4.0, 0.7),
    ]


def test_a_word_longer_than_a_line_gets_a_cue_of_its_own() -> None:
    u = Utterance("hi " + "x" * 30 + " there", 0.0, 3.0, 0)
    cues = layout(u, CaptionLimits(10, 7.0))
    assert [w for c in cues for w in c.words] == ["hi", "x" * 30, "there"]


def test_srt_keeps_the_label_on_each_cue_and_numbers_them() -> None:
    labels = Labels(("host", "guest"), 2)
    srt = to_srt([long_utterance(channel=1)], labels, CaptionLimits(42, 7.0))
    blocks = srt.strip().split("\n\n")
    assert len(blocks) > 2
    for number, block in enumerate(blocks, 1):
        index, times, *lines = block.split("\n")
        assert index == str(number) and " --> " in times
        assert lines[0].startswith("[guest] ") and 1 <= len(lines) <= 2
        assert all(len(line) <= 42 for line in lines)
    vtt = to_vtt([long_utterance(channel=1)], labels, CaptionLimits(42, 7.0))
    cues = vtt.split("\n\n")[1:]
    assert len(cues) > 1 and all("<v guest>" in cue for cue in cues)  # the tag takes no room


def test_words_tsv_has_a_header_and_one_line_per_word() -> None:
    labels = Labels(("host", "guest"), 2)
    lines = word_lines(
        [
            Utterance("late", 5.0, 5.5, 0, words=(Word(" late", 5.0, 5.5, 0.5),)),
            Utterance("early\tbirds", 1.0, 2.0, 1, confidence=0.25),
        ],
        labels,
    )
    assert lines[0] == HEADER == "start\tend\tconfidence\tchannel\tlabel\tword"
    assert lines[1:] == [
        "1.000\t1.500\t0.250\t1\tguest\tearly",
        "1.500\t2.000\t0.250\t1\tguest\tbirds",
        "5.000\t5.500\t0.500\t0\thost\tlate",
    ]


def test_no_orphan_cue_at_the_end_of_an_utterance() -> None:
    """Greedy filling left a last cue of one word for 0.3-0.6 s (seen with
    --max-line-chars 32 --max-cue-seconds 4): the words are shared with the cue before."""
    words = tuple(Word(f" word{i:02d}", i * 0.3, i * 0.3 + 0.25, 0.9) for i in range(11))
    utterance = Utterance(
        text=" ".join(w.word.strip() for w in words), start=0.0, end=3.3,
        channel=0, confidence=0.9, words=words,
    )  # fmt: skip
    limits = CaptionLimits(32, 4.0)
    cues = layout(utterance, limits)
    assert len(cues) == 2
    assert [w for cue in cues for w in cue.words] == [w.word.strip() for w in words]
    last = cues[-1]
    assert last.end - last.start >= 0.9 and len(last.words) >= 3, cues
    for cue in cues:
        assert len(cue.lines) <= 2 and all(len(line) <= 32 for line in cue.lines)
        assert cue.end - cue.start <= 4.0


def test_the_layout_rules_are_one_for_the_client_and_the_server() -> None:
    from gladia_cli.protocol.captions import CaptionLimits as Limits
    from gladia_cli.protocol.captions import cue_groups, fits_cue, wrapped
    from gladia_cli.server.prerecorded import subtitles

    assert CaptionLimits is Limits  # the renderers' limits are the protocol's
    assert wrapped(["abc", "de", "fghij"], 6) == [["abc", "de"], ["fghij"]]
    assert wrapped(["abc", "de"], 6, reserve=2) == [["abc"], ["de"]]  # a label's room
    three = [Word(w, i, i + 0.5, 1.0) for i, w in enumerate(["aa", "bb", "cc"])]
    assert fits_cue(three, Limits(max_line_chars=2, lines_per_cue=3))
    assert not fits_cue(three, Limits(max_line_chars=2, lines_per_cue=2))
    assert fits_cue(three[:1], Limits(max_line_chars=1, max_cue_seconds=0.1))
    # The same words (cues of a second or more: nothing to even out) make the same cues
    # on both sides, with the server's limits as the job's subtitles_config says them.
    utterance = long_utterance()
    limits = CaptionLimits(max_line_chars=20, max_cue_seconds=3.0)
    client = [(c.start, c.end, list(c.lines)) for c in layout(utterance, limits)]
    config = {"maximum_characters_per_row": 20, "maximum_duration": 3.0}
    server = subtitles.cues([utterance.to_dict()], config)
    assert client == server and len(server) > 5
    groups = cue_groups(timed_words(utterance), limits)
    assert [" ".join(w.word for w in g) for g in groups] == [" ".join(c[2]) for c in client]
