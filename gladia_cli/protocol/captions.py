"""How words are laid out as captions, for the client's subtitles (render/captions.py) and
the local server's (server/prerecorded/subtitles.py): one set of limits, one way to wrap and cut.

A cue holds at most `lines_per_cue` lines of `max_line_chars` characters and lasts at most
`max_cue_seconds`; words fill it in order, and one that does not fit starts the next cue.
A single word longer than a line, or than a cue may last, is never cut: it gets a cue of
its own. `reserve` characters of a cue's first line may be taken by a label.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

DEFAULT_LINE_CHARS = 42
DEFAULT_CUE_SECONDS = 7.0
LINES_PER_CUE = 2


@dataclass(frozen=True)
class CaptionLimits:
    max_line_chars: int = DEFAULT_LINE_CHARS
    max_cue_seconds: float = DEFAULT_CUE_SECONDS
    lines_per_cue: int = LINES_PER_CUE


class TimedWord(Protocol):
    @property
    def word(self) -> str: ...

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float: ...


def wrapped(words: Iterable[str], limit: int, reserve: int = 0) -> list[list[str]]:
    """The words on lines of `limit` characters (a word longer than a line alone on it)."""
    lines: list[list[str]] = [[]]
    for word in words:
        last = lines[-1]
        used = len(" ".join(last)) + (reserve if len(lines) == 1 else 0)
        if last and used + 1 + len(word) > limit:
            lines.append([])
        lines[-1].append(word)
    return lines


def fits_cue(words: Sequence[TimedWord], limits: CaptionLimits, reserve: int = 0) -> bool:
    """Whether `words` make one cue within the limits."""
    if len(words) <= 1:
        return True  # a single word is never cut, however long
    if words[-1].end - words[0].start > limits.max_cue_seconds:
        return False
    lines = wrapped((w.word for w in words), limits.max_line_chars, reserve)
    return len(lines) <= limits.lines_per_cue


W = TypeVar("W", bound=TimedWord)


def cue_groups(words: Iterable[W], limits: CaptionLimits, reserve: int = 0) -> list[list[W]]:
    """The words cut into cues, each filled greedily in order."""
    groups: list[list[W]] = []
    for word in words:
        if groups and fits_cue([*groups[-1], word], limits, reserve):
            groups[-1].append(word)
        else:
            groups.append([word])
    return groups
