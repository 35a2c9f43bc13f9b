"""The audio-intelligence add-ons, done offline with simple, deterministic methods.

They let clients exercise every add-on message and result container against the local
server. They are modest on purpose: entities are found by pattern (numbers, times, e-mail
addresses, web addresses), sentiment by a small word list, summaries and chapters by word
frequency. Translation needs a model this server does not have, so it answers with the
add-on error shape instead of pretending (`error` set, `data` null).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

TRANSLATION_UNAVAILABLE = "translation is not available on the local server (no offline model)"

_NUMBER_WORDS = set(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred thousand million".split()
)
_TIME_WORDS = set(
    "today tonight tomorrow yesterday morning afternoon evening night noon midnight o'clock "
    "monday tuesday wednesday thursday friday saturday sunday".split()
)
_POSITIVE = set(
    "good great excellent love like nice happy glad wonderful thanks thank welcome sunny "
    "beautiful best perfect enjoy amazing fine pleased".split()
)
_NEGATIVE = set(
    "bad terrible awful hate sad angry poor worst wrong problem broken sorry annoying fail "
    "failed horrible ugly".split()
)
_STOPWORDS = set(
    "a an and are as at be but by for from has have he her his i in is it its me my of on or "
    "our she so that the their them there these they this to was we were will with you your "
    "would like".split()
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_URL = re.compile(r"https?://\S+|www\.\S+")


def _words(utterance: dict[str, Any]) -> list[dict[str, Any]]:
    words: list[dict[str, Any]] = utterance.get("words") or []
    return words


def _clean(word: str) -> str:
    return word.strip().strip(".,!?;:").lower()


def named_entities(utterance: dict[str, Any]) -> list[dict[str, Any]]:
    results = []
    for word in _words(utterance):
        token = _clean(word["word"])
        kind = None
        if _EMAIL.fullmatch(token):
            kind = "EMAIL_ADDRESS"
        elif _URL.fullmatch(token):
            kind = "URL"
        elif token in _NUMBER_WORDS or token.isdigit():
            kind = "NUMBER"
        elif token in _TIME_WORDS:
            kind = "DATE_TIME"
        if kind:
            results.append(
                {"entity_type": kind, "text": token, "start": word["start"], "end": word["end"]}
            )
    return results


def sentiment(utterance: dict[str, Any]) -> list[dict[str, Any]]:
    tokens = [_clean(w) for w in utterance["text"].split()]
    positive = sum(t in _POSITIVE for t in tokens)
    negative = sum(t in _NEGATIVE for t in tokens)
    if positive and negative:
        label, emotion = "mixed", "neutral"
    elif positive:
        label, emotion = "positive", "joy"
    elif negative:
        label, emotion = "negative", "sadness"
    else:
        label, emotion = "neutral", "neutral"
    return [
        {
            "sentiment": label,
            "emotion": emotion,
            "text": utterance["text"].strip(),
            "start": utterance["start"],
            "end": utterance["end"],
            "channel": utterance["channel"],
        }
    ]


def _keywords(texts: list[str], n: int) -> list[str]:
    counts = Counter(
        token
        for text in texts
        for token in (_clean(t) for t in text.split())
        if token and token not in _STOPWORDS
    )
    return [word for word, _ in counts.most_common(n)]


def _ranked(utterances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Utterances by how many of the session's frequent words they hold."""
    frequent = set(_keywords([u["text"] for u in utterances], 10))
    return sorted(
        utterances,
        key=lambda u: -sum(_clean(t) in frequent for t in u["text"].split()),
    )


def summarize(utterances: list[dict[str, Any]], kind: str) -> str:
    if not utterances:
        return ""
    ranked = _ranked(utterances)
    if kind == "concise":
        return str(ranked[0]["text"]).strip()
    chosen = sorted(ranked[:5], key=lambda u: (u["start"], u["channel"]))
    if kind == "bullet_points":
        return "\n".join(f"- {u['text'].strip()}" for u in chosen)
    return " ".join(u["text"].strip() for u in chosen)


def chapters(utterances: list[dict[str, Any]], gap: float = 2.0) -> list[dict[str, Any]]:
    """One chapter per stretch of talk without a pause longer than `gap` seconds."""
    groups: list[list[dict[str, Any]]] = []
    for utterance in sorted(utterances, key=lambda u: u["start"]):
        if groups and utterance["start"] - groups[-1][-1]["end"] <= gap:
            groups[-1].append(utterance)
        else:
            groups.append([utterance])
    result = []
    for group in groups:
        texts = [u["text"].strip() for u in group]
        keywords = _keywords(texts, 3)
        result.append(
            {
                "headline": " ".join(keywords).capitalize() or texts[0],
                "gist": texts[0],
                "keywords": keywords,
                "start": group[0]["start"],
                "end": group[-1]["end"],
                "text": " ".join(texts),
                "sentences": [
                    {"sentence": t, "start": u["start"], "end": u["end"], "words": u["words"]}
                    for t, u in zip(texts, group, strict=True)
                ],
            }
        )
    return result


def container(
    results: Any, exec_time: float, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The add-on result wrapper used in post_final_transcript and GET results."""
    return {
        "success": error is None,
        "is_empty": not results,
        "exec_time": round(exec_time, 3),
        "error": error,
        "results": results,
    }
