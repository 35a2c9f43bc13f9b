"""Captions that fit: utterances laid out as subtitle cues of at most two lines of
`max_line_chars` characters and at most `max_cue_seconds` seconds (pure, no I/O).

Cues are cut at word boundaries, using the utterance's word timings; an utterance without
words (or whose words carry no text) gets its words from its text, timed in proportion to
their length over the utterance. A single word longer than a line, or longer than a cue
may last, is never cut: it gets a cue of its own. The label, when shown, is counted in the
first line of every cue (`[label] ` in srt; vtt puts it in a voice tag, which takes no room).
"""

from __future__ import annotations

from dataclasses import dataclass

from gladia_cli.protocol.messages import Utterance, Word
from gladia_cli.safe_text import plain

DEFAULT_LINE_CHARS = 42
DEFAULT_CUE_SECONDS = 7.0
LINES_PER_CUE = 2
MIN_CUE_SECONDS = 0.2  # a shorter cue is invisible in most players


@dataclass(frozen=True)
class CaptionLimits:
    max_line_chars: int = DEFAULT_LINE_CHARS
    max_cue_seconds: float = DEFAULT_CUE_SECONDS


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


def _fits(lines: list[list[str]], word: str, limit: int, reserve: int) -> bool:
    """Whether `word` can go on the last line of `lines`."""
    last = lines[-1]
    used = len(" ".join(last)) + (reserve if len(lines) == 1 else 0)
    return not last or used + 1 + len(word) <= limit


def layout(utterance: Utterance, limits: CaptionLimits, *, reserve: int = 0) -> list[Cue]:
    """The cues of one utterance, in order; `reserve` characters of the first line of
    each cue are taken by the label."""
    words = timed_words(utterance)
    cues: list[Cue] = []
    lines: list[list[str]] = [[]]
    start = end = 0.0

    def close() -> None:
        if lines[0]:
            cues.append(Cue(start, end, utterance.channel, tuple(" ".join(ln) for ln in lines)))

    for word in words:
        if not lines[0]:
            start = word.start
        elif word.end - start > limits.max_cue_seconds:
            close()
            lines, start = [[]], word.start
        elif not _fits(lines, word.word, limits.max_line_chars, reserve):
            if len(lines) < LINES_PER_CUE:
                lines.append([])
            else:
                close()
                lines, start = [[]], word.start
        lines[-1].append(word.word)
        end = word.end
    close()
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
