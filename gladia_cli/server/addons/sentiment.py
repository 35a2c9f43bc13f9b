"""Sentiment and emotion per sentence of an utterance (protocol.md §3.5.8).

The sentiment is VADER's (a lexicon and rules tuned on social-media text, which handles
negation, intensifiers and "but"): compound ≥ 0.05 positive, ≤ -0.05 negative, else neutral;
mixed when the sentence holds both at least 20 % positive and 20 % negative words; unknown
for an utterance in another language than English (the lexicon is English). VADER
was kept over TextBlob on a labelled set of conversational sentences (benchmarks/addons.py
--compare prints both).

Gladia also gives an emotion from a fixed list. No offline emotion model is installable
here, so the emotion is the one named by a cue word of the sentence (its lemma, below),
when it agrees with the sentiment; otherwise the broad one for the sentiment (contentment,
disappointment, neutral). It is coarse, and said so in the README.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any

from gladia_cli.server.addons.timing import TextTimes

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

POSITIVE_AT = 0.05
MIXED_SHARE = 0.2
# Gladia's emotions, by the sentiment they go with (DOCS sentiment page).
_CUES = {
    "positive": {
        "adoration": "love adore",
        "amusement": "funny fun laugh haha hilarious joke",
        "awe": "awesome incredible breathtaking",
        "desire": "want wish crave",
        "ecstatic": "ecstatic thrilled",
        "elation": "excited delighted overjoyed",
        "interest": "interesting curious fascinating",
        "positive_surprise": "wow amazing surprise",
        "relief": "relieved relief finally phew",
        "sympathy": "sympathy condolence",
        "triumph": "win won victory succeed success",
    },
    "negative": {
        "anger": "angry furious hate annoyed mad",
        "confusion": "confused confusing unclear",
        "contempt": "ridiculous pathetic",
        "disgust": "disgusting gross",
        "distress": "worried stress stressed upset",
        "embarrassment": "embarrassed embarrassing awkward",
        "fear": "afraid scared fear terrified",
        "pain": "hurt pain painful",
        "sadness": "sad miss unhappy cry",
        "negative_surprise": "shocked shocking",
    },
}
_DEFAULT_EMOTION = {
    "positive": "contentment",
    "negative": "disappointment",
    "mixed": "neutral",
    "neutral": "neutral",
    "unknown": "neutral",
}

_analyzer_lock = threading.Lock()


@cache
def _cue_words() -> dict[str, dict[str, str]]:
    return {
        sentiment: {word: emotion for emotion, words in cues.items() for word in words.split()}
        for sentiment, cues in _CUES.items()
    }


@cache
def _analyzer() -> SentimentIntensityAnalyzer:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def warm_up() -> None:
    """Load VADER's lexicon now (the runner's warm-up)."""
    _analyzer()


def classify(scores: dict[str, float]) -> str:
    """VADER's scores of a sentence → Gladia's sentiment."""
    if scores["pos"] >= MIXED_SHARE and scores["neg"] >= MIXED_SHARE:
        return "mixed"
    if scores["compound"] >= POSITIVE_AT:
        return "positive"
    if scores["compound"] <= -POSITIVE_AT:
        return "negative"
    return "neutral"


def emotion(sentiment: str, lemmas: list[str]) -> str:
    cues = _cue_words().get(sentiment, {})
    for lemma in lemmas:
        if lemma in cues:
            return cues[lemma]
    return _DEFAULT_EMOTION[sentiment]


def sentiments_of(
    doc: Doc, utterance: dict[str, Any], *, english: bool = True
) -> list[dict[str, Any]]:
    """Per sentence of `doc` (the utterance's text); not English: `unknown` (VADER's lexicon
    is English)."""
    times = TextTimes(utterance)
    results = []
    for sentence in doc.sents:
        text = sentence.text.strip()
        if not any(c.isalnum() for c in text):
            continue
        if english:
            with _analyzer_lock:
                label = classify(_analyzer().polarity_scores(text))
        else:
            label = "unknown"
        start, end = times.span(sentence.start_char, sentence.end_char)
        results.append(
            {
                "sentiment": label,
                "emotion": emotion(label, [t.lemma_.lower() for t in sentence]),
                "text": text,
                "start": start,
                "end": end,
                "channel": utterance["channel"],
            }
        )
    return results


def sentiments(utterance: dict[str, Any]) -> list[dict[str, Any]]:
    from gladia_cli.server.addons.english import parse
    from gladia_cli.server.addons.ner import is_english

    return sentiments_of(parse(utterance["text"]), utterance, english=is_english(utterance))
