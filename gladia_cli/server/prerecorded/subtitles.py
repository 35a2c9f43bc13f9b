"""`transcription.subtitles` of a pre-recorded job: SRT and WebVTT made from the utterances.

The server's own writer (the CLI's renderers are a layer above it): cues follow the words,
each at most `maximum_duration` seconds and `maximum_rows_per_caption` rows of
`maximum_characters_per_row` characters (Gladia's `subtitles_config`); a cue never spans
two utterances. The layout is the client's (protocol/captions.py), with the job's limits.
"""

from __future__ import annotations

from typing import Any

from gladia_cli.protocol.captions import (
    DEFAULT_CUE_SECONDS,
    DEFAULT_LINE_CHARS,
    LINES_PER_CUE,
    CaptionLimits,
    cue_groups,
    wrapped,
)
from gladia_cli.protocol.messages import Word
from gladia_cli.protocol.timestamps import cue_timestamp


def _rows(words: list[str], width: int) -> list[str]:
    return [" ".join(line) for line in wrapped(words, width)]


def cues(
    utterances: list[dict[str, Any]], config: dict[str, Any]
) -> list[tuple[float, float, list[str]]]:
    """(start, end, rows) of every cue, in time order."""
    limits = CaptionLimits(
        max_line_chars=int(config.get("maximum_characters_per_row") or DEFAULT_LINE_CHARS),
        max_cue_seconds=float(config.get("maximum_duration") or DEFAULT_CUE_SECONDS),
        lines_per_cue=int(config.get("maximum_rows_per_caption") or LINES_PER_CUE),
    )
    width = limits.max_line_chars
    out: list[tuple[float, float, list[str]]] = []
    for utterance in utterances:
        words = [
            Word(str(w["word"]).strip(), w["start"], w["end"], 0.0)
            for w in utterance.get("words") or []
            if str(w.get("word", "")).strip()
        ]
        if not words:  # no word timings: the utterance is one cue
            text = str(utterance.get("text", "")).split()
            if text:
                out.append((utterance["start"], utterance["end"], _rows(text, width)))
            continue
        for group in cue_groups(words, limits):
            out.append((group[0].start, group[-1].end, _rows([w.word for w in group], width)))
    return sorted(out, key=lambda cue: cue[0])


def to_srt(utterances: list[dict[str, Any]], config: dict[str, Any]) -> str:
    blocks = [
        f"{index}\n{cue_timestamp(start, ',')} --> {cue_timestamp(end, ',')}\n"
        + "\n".join(rows)
        + "\n"
        for index, (start, end, rows) in enumerate(cues(utterances, config), 1)
    ]
    return "\n".join(blocks)


def to_vtt(utterances: list[dict[str, Any]], config: dict[str, Any]) -> str:
    def escaped(row: str) -> str:
        return row.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    blocks = [
        f"{cue_timestamp(start, '.')} --> {cue_timestamp(end, '.')}\n"
        + "\n".join(escaped(r) for r in rows)
        + "\n"
        for start, end, rows in cues(utterances, config)
    ]
    return "\n".join(["WEBVTT\n", *blocks])
