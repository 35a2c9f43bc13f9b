"""Cue times as SRT and VTT write them (`HH:MM:SS,mmm` / `HH:MM:SS.mmm`): one rule for the
client's subtitles (render/subtitles.py) and the local server's
(server/prerecorded/subtitles.py)."""

from __future__ import annotations


def cue_timestamp(seconds: float, decimal: str) -> str:
    """`decimal` is "," for SRT and "." for VTT; negative times are clamped to zero."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"
