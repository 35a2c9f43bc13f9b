"""Captions that fit: utterances laid out as subtitle cues of at most two lines of
`max_line_chars` characters and at most `max_cue_seconds` seconds (pure, no I/O).

Cues are cut at word boundaries as protocol/captions.py says (the local server's subtitles
follow the same rules), using the utterance's word timings; an utterance without
words (or whose words carry no text) gets its words from its text, timed in proportion to
their length over the utterance. A single word longer than a line, or longer than a cue
may last, is never cut: it gets a cue of its own. The label, when shown, is counted in the
first line of every cue (`[label] ` in srt; vtt puts it in a voice tag, which takes no room).
"""

from __future__ import annotations

from dataclasses import dataclass

from gladia_cli.protocol.captions import CaptionLimits, cue_groups, fits_cue, wrapped
from gladia_cli.protocol.messages import Utterance, Word
from gladia_cli.safe_text import plain

# CaptionLimits is the renderers' users' name for the limits as well.
__all__ = ["CaptionLimits", "Cue", "layout", "timed_words"]

MIN_CUE_SECONDS = 0.2  # a shorter cue is invisible in most players
ORPHAN_SECONDS = 1.0  # an utterance's last cue shorter than this is read as a flash


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    channel: int
    lines: tuple[str, ...]

    @property
    def words(self) -> list[str]:
        return [word for line in self.lines for word in line.split()]


def timed_words(utterance: Utterance) -> list[Word]:
    """The utterance's words with their timings, text cleaned; proportional timing from
    the text when the server gave no words."""
    words = [
        Word(text, w.start, max(w.end, w.start), w.confidence)
        for w in utterance.words
        for text in [" ".join(plain(w.word).split())]
        if text
    ]
    if words:
        return words
    tokens = plain(utterance.text).split()
    if not tokens:
        return []
    total = sum(len(token) for token in tokens)
    span = max(0.0, utterance.end - utterance.start)
    out, at = [], utterance.start
    for token in tokens:
        length = span * len(token) / total
        out.append(Word(token, at, at + length, utterance.confidence))
        at += length
    return out


def _seconds(words: list[Word]) -> float:
    return words[-1].end - words[0].start


def _balanced(groups: list[list[Word]], limits: CaptionLimits, reserve: int) -> None:
    """No orphan at the end of an utterance: a last cue shorter than ORPHAN_SECONDS (what
    filling cues greedily leaves, a word or two for half a second) takes words from the
    cue before it (they never fit together: the greedy filling tried), while that evens
    them out and the cue still fits."""
    if len(groups) < 2 or _seconds(groups[-1]) >= ORPHAN_SECONDS:
        return
    before, last = groups[-2], groups[-1]
    while len(before) > 1:
        moved, kept = [before[-1], *last], before[:-1]
        if not fits_cue(moved, limits, reserve) or _seconds(moved) > _seconds(kept):
            break
        before, last = kept, moved
        if _seconds(last) >= ORPHAN_SECONDS:
            break
    groups[-2:] = [before, last]


def layout(utterance: Utterance, limits: CaptionLimits, *, reserve: int = 0) -> list[Cue]:
    """The cues of one utterance, in order; `reserve` characters of the first line of
    each cue are taken by the label."""
    groups = cue_groups(timed_words(utterance), limits, reserve)
    _balanced(groups, limits, reserve)
    cues = [
        Cue(
            group[0].start,
            group[-1].end,
            utterance.channel,
            tuple(
                " ".join(line)
                for line in wrapped((w.word for w in group), limits.max_line_chars, reserve)
            ),
        )
        for group in groups
    ]
    return _padded(cues)


def _padded(cues: list[Cue]) -> list[Cue]:
    """Each cue lasts at least MIN_CUE_SECONDS, without running into the next one."""
    out = []
    for index, cue in enumerate(cues):
        end = max(cue.end, cue.start + MIN_CUE_SECONDS)
        if index + 1 < len(cues):
            end = min(end, cues[index + 1].start)
        out.append(Cue(cue.start, max(end, cue.end), cue.channel, cue.lines))
    return out
