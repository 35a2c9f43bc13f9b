"""Summaries and chapters of a session's transcript (protocol.md §3.5.11, §3.5.12).

Both are extractive: made of the transcript's own sentences (split by spaCy's English
pipeline), ranked by TextRank (sumy's: sentences are nodes, their shared words the edges,
PageRank the ranking; a sentence ranks high when it is like many others). No abstractive
model that runs offline on a small CPU is installable from PyPI here. TextRank was kept over
sumy's LexRank (benchmarks/addons.py --compare): more representative of the transcript on
two of the three measured (behind on the third), about three times cheaper, and defined on
short transcripts, where LexRank's idf, log(N / (1 + df)), is zero (two sentences that
share no word make it divide by zero, and its ranking is arbitrary).

Gladia's `summarization_config.type` (DOCS summarization page):
- `general`: a balanced paragraph, about a fifth of the sentences (1 to 5);
- `concise`: shorter, about a tenth (1 or 2);
- `bullet_points`: the key points as a list, about a quarter (1 to 7), one per line "- ".
Picked sentences keep the order they were said in; a summary of two or more sentences is
always shorter than the transcript.

Chapters: a new one starts after a pause of `CHAPTER_PAUSE` seconds, or where the words of
the sentences before and after share little (a topic shift, TextTiling's idea) once the
chapter has `MIN_CHAPTER_SENTENCES`. Each has a headline (its most representative noun
phrase), a gist (its top sentence), keywords (its most frequent content words) and an
extractive summary.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

from gladia_cli.server.addons.timing import TextTimes

if TYPE_CHECKING:
    from spacy.tokens import Doc

SUMMARY_TYPES = ("general", "concise", "bullet_points")
_SHARE = {"general": (0.2, 5), "concise": (0.1, 2), "bullet_points": (0.25, 7)}
CHAPTER_PAUSE = 2.0
MIN_CHAPTER_SENTENCES = 4
SHIFT_WINDOW = 3
SHIFT_SIMILARITY = 0.05
_WORD = re.compile(r"[\w']+")
_CONTENT_POS = frozenset({"NOUN", "PROPN", "ADJ"})


@dataclass(frozen=True)
class Sentence:
    text: str
    start: float
    end: float
    channel: int
    words: tuple[dict[str, Any], ...]
    lemmas: tuple[str, ...]  # content words (nouns, names, adjectives), lower case
    phrases: tuple[str, ...]  # noun phrases, determiners dropped


class _Tokenizer:
    """sumy's tokenizer interface, without NLTK's data files (sentences are spaCy's)."""

    language = "english"

    def to_words(self, text: str) -> list[str]:
        return _WORD.findall(text.lower())


@cache
def _stop_words() -> frozenset[str]:
    from sumy.utils import get_stop_words

    return frozenset(get_stop_words("english"))


def rank(texts: list[str], count: int) -> list[int]:
    """Indices of the `count` most central of `texts` (TextRank), in their original order."""
    if count >= len(texts):
        return list(range(len(texts)))
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.summarizers.text_rank import TextRankSummarizer

    tokenizer = _Tokenizer()
    sentences = [Sentence(text, tokenizer) for text in texts]
    summarizer = TextRankSummarizer()
    summarizer.stop_words = _stop_words()
    chosen = {id(s) for s in summarizer(ObjectDocumentModel([Paragraph(sentences)]), count)}
    return [i for i, s in enumerate(sentences) if id(s) in chosen]


def sentences_of(doc: Doc, utterance: dict[str, Any]) -> list[Sentence]:
    times = TextTimes(utterance)
    out = []
    for span in doc.sents:
        text = span.text.strip()
        if not any(c.isalnum() for c in text):
            continue
        start, end = times.span(span.start_char, span.end_char)
        words = tuple(
            w for w in utterance.get("words") or () if w["start"] < end and w["end"] > start
        )
        lemmas = tuple(t.lemma_.lower() for t in span if t.pos_ in _CONTENT_POS and not t.is_stop)
        phrases = tuple(
            " ".join(t.text for t in chunk if t.pos_ != "DET" and not t.is_punct)
            for chunk in span.noun_chunks
            if chunk.root.pos_ in ("NOUN", "PROPN")
        )
        out.append(Sentence(text, start, end, int(utterance["channel"]), words, lemmas, phrases))
    return out


def session_sentences(utterances: list[dict[str, Any]]) -> list[Sentence]:
    from gladia_cli.server.addons.english import parse

    ordered = sorted(utterances, key=lambda u: (u["start"], u["channel"]))
    return [s for u in ordered for s in sentences_of(parse(u["text"]), u)]


def summary_size(sentences: int, kind: str) -> int:
    share, most = _SHARE.get(kind, _SHARE["general"])
    size = max(1, min(most, round(sentences * share)))
    return min(size, max(1, sentences - 1))


def summarize_sentences(sentences: list[Sentence], kind: str) -> str:
    if not sentences:
        return ""
    texts = [s.text for s in sentences]
    chosen = [texts[i] for i in rank(texts, summary_size(len(texts), kind))]
    if kind == "bullet_points":
        return "\n".join(f"- {text}" for text in chosen)
    return " ".join(chosen)


def summarize(utterances: list[dict[str, Any]], kind: str) -> str:
    return summarize_sentences(session_sentences(utterances), kind)


def _similarity(a: list[Sentence], b: list[Sentence]) -> float:
    left = Counter(lemma for s in a for lemma in s.lemmas)
    right = Counter(lemma for s in b for lemma in s.lemmas)
    dot = sum(left[w] * right[w] for w in left)
    norm = math.sqrt(sum(v * v for v in left.values()) * sum(v * v for v in right.values()))
    return dot / norm if norm else 0.0


def segment(sentences: list[Sentence]) -> list[list[Sentence]]:
    chapters: list[list[Sentence]] = []
    for index, sentence in enumerate(sentences):
        if not chapters:
            chapters.append([sentence])
            continue
        current = chapters[-1]
        pause = sentence.start - current[-1].end >= CHAPTER_PAUSE
        shift = len(current) >= MIN_CHAPTER_SENTENCES and (
            _similarity(
                sentences[max(0, index - SHIFT_WINDOW) : index],
                sentences[index : index + SHIFT_WINDOW],
            )
            < SHIFT_SIMILARITY
        )
        if pause or shift:
            chapters.append([sentence])
        else:
            current.append(sentence)
    return chapters


def _headline(chapter: list[Sentence], gist: str) -> str:
    counts = Counter(lemma for s in chapter for lemma in s.lemmas)
    best, best_score = "", 0.0
    for sentence in chapter:
        for phrase in sentence.phrases:
            words = phrase.lower().split()
            score = sum(counts[w] for w in words) / math.sqrt(len(words)) if words else 0.0
            if score > best_score:
                best, best_score = phrase, score
    headline = best or " ".join(gist.split()[:6])
    return headline[:1].upper() + headline[1:]


def _keywords(chapter: list[Sentence], count: int = 4) -> list[str]:
    counts = Counter(lemma for s in chapter for lemma in s.lemmas if len(lemma) > 1)
    return [word for word, _ in counts.most_common(count)]


def chapters_of(sentences: list[Sentence]) -> list[dict[str, Any]]:
    results = []
    for chapter in segment(sentences):
        texts = [s.text for s in chapter]
        gist = texts[rank(texts, 1)[0]]
        summary = " ".join(texts[i] for i in rank(texts, summary_size(len(texts), "general")))
        results.append(
            {
                "headline": _headline(chapter, gist),
                "gist": gist,
                "keywords": _keywords(chapter),
                "start": chapter[0].start,
                "end": chapter[-1].end,
                "text": " ".join(texts),
                "summary": summary,
                "extractive_summary": summary,
                "sentences": [
                    {"sentence": s.text, "start": s.start, "end": s.end, "words": list(s.words)}
                    for s in chapter
                ],
            }
        )
    return results


def chapters(utterances: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return chapters_of(session_sentences(utterances))
