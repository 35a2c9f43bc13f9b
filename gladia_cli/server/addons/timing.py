"""From character offsets in an utterance's text to times on the session timeline.

An utterance's `words` are its text cut at spaces, with times; the text may differ in
places (Whisper's text keeps "ill-disposed" where its words split it). Each word is found
in the text in order; a span of characters takes the times of the words it overlaps, and a
span that overlaps none (or a text without words) is placed in proportion to its position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Placed:
    first: int  # character offsets of the word in the text, end exclusive
    last: int
    start: float
    end: float


class TextTimes:
    def __init__(self, utterance: dict[str, Any]) -> None:
        self._text: str = utterance["text"]
        self._start = float(utterance["start"])
        self._end = float(utterance["end"])
        self._words: list[_Placed] = []
        position = 0
        for word in utterance.get("words") or ():
            token = str(word["word"]).strip()
            found = self._text.find(token, position) if token else -1
            if found < 0:
                continue
            position = found + len(token)
            self._words.append(_Placed(found, position, float(word["start"]), float(word["end"])))

    def span(self, first: int, last: int) -> tuple[float, float]:
        """Start and end times of the characters `text[first:last]`."""
        overlapping = [w for w in self._words if w.first < last and w.last > first]
        if overlapping:
            return overlapping[0].start, overlapping[-1].end
        length = max(1, len(self._text))
        duration = self._end - self._start
        return (
            round(self._start + duration * first / length, 3),
            round(self._start + duration * last / length, 3),
        )
