"""A recogniser's hypothesis as Gladia's utterance object, shared by live sessions and
pre-recorded jobs so both shape their transcripts the same way."""

from __future__ import annotations

from typing import Any

from gladia_cli.server.recognition.engines.base import Hypothesis


def utterance_of(channel: int, hyp: Hypothesis, language: str) -> dict[str, Any]:
    """Text and words with the leading space Gladia puts before each; times rounded to ms."""
    return {
        "text": " " + hyp.text.strip(),
        "start": round(hyp.start, 3),
        "end": round(hyp.end, 3),
        "confidence": round(hyp.confidence, 3),
        "channel": channel,
        "language": language,
        "words": [
            {
                "word": " " + w.word,
                "start": round(w.start, 3),
                "end": round(w.end, 3),
                "confidence": round(w.confidence, 3),
            }
            for w in hyp.words
        ],
    }
