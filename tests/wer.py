"""Word error rate with the normalisation the real-speech fixtures need (tests/data/real).

Both sides: lower case, hyphens as spaces, punctuation stripped (apostrophes inside
words kept), digits spelled out, "mr"/"mrs" → "mister"/"missus". Used by the tests and by
benchmarks/engines.py.
"""

from __future__ import annotations

import re
import unicodedata

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen "
_ONES += "fourteen fifteen sixteen seventeen eighteen nineteen"
ONES = _ONES.split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ABBREVIATIONS = {"mr": "mister", "mrs": "missus", "dr": "doctor"}


def number_words(n: int) -> list[str]:
    if n < 20:
        return [ONES[n]]
    if n < 100:
        return [TENS[n // 10]] + ([ONES[n % 10]] if n % 10 else [])
    if n < 1000:
        rest = number_words(n % 100) if n % 100 else []
        return [ONES[n // 100], "hundred", *rest]
    return [str(n)]  # not needed by the fixtures


def normalise(text: str) -> list[str]:
    text = unicodedata.normalize("NFC", text.lower()).replace("-", " ").replace("’", "'")
    words = []
    for raw in text.split():
        word = re.sub(r"[^\w']", "", raw).strip("'")
        if not word:
            continue
        if word.isdigit():
            words += number_words(int(word))
        else:
            words.append(ABBREVIATIONS.get(word, word))
    return words


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    ref = normalise(reference)
    return edit_distance(ref, normalise(hypothesis)) / max(1, len(ref))
