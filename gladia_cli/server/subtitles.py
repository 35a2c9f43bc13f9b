"""`transcription.subtitles` of a pre-recorded job: SRT and WebVTT made from the utterances.

The server's own writer (the CLI's renderers are a layer above it): cues follow the words,
each at most `maximum_duration` seconds and `maximum_rows_per_caption` rows of
`maximum_characters_per_row` characters (Gladia's `subtitles_config`); a cue never spans
two utterances.
"""

from __future__ import annotations

from typing import Any

from gladia_cli.protocol.timestamps import cue_timestamp

DEFAULT_ROW_CHARS = 42
DEFAULT_ROWS = 2
DEFAULT_SECONDS = 7.0


def _rows(words: list[str], width: int) -> list[str]:
    rows: list[str] = []
    for word in words:
        if rows and len(rows[-1]) + 1 + len(word) <= width:
            rows[-1] += " " + word
        else:
            rows.append(word)
    return rows


def cues(
    utterances: list[dict[str, Any]], config: dict[str, Any]
) -> list[tuple[float, float, list[str]]]:
    """(start, end, rows) of every cue, in time order."""
    width = int(config.get("maximum_characters_per_row") or DEFAULT_ROW_CHARS)
    rows = int(config.get("maximum_rows_per_caption") or DEFAULT_ROWS)
    longest = float(config.get("maximum_duration") or DEFAULT_SECONDS)
    out: list[tuple[float, float, list[str]]] = []
    for utterance in utterances:
        words = [w for w in utterance.get("words") or [] if str(w.get("word", "")).strip()]
        if not words:  # no word timings: the utterance is one cue
            text = str(utterance.get("text", "")).split()
            if text:
                out.append((utterance["start"], utterance["end"], _rows(text, width)))
            continue
        current: list[dict[str, Any]] = []
        for word in words:
            trial = [str(w["word"]).strip() for w in [*current, word]]
            too_long = len(_rows(trial, width)) > rows
            too_slow = bool(current) and word["end"] - current[0]["start"] > longest
            if current and (too_long or too_slow):
                out.append(_cue(current, width))
                current = []
            current.append(word)
        if current:
            out.append(_cue(current, width))
    return sorted(out, key=lambda cue: cue[0])


def _cue(words: list[dict[str, Any]], width: int) -> tuple[float, float, list[str]]:
    return (
        words[0]["start"],
        words[-1]["end"],
        _rows([str(w["word"]).strip() for w in words], width),
    )


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
