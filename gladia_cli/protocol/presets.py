"""Gladia's recommended live parameters per use case, as init body fragments (pure data).

From gladiaio/docs `chapters/live-stt/recommended-parameters.mdx` (protocol.md §11). Where
Gladia gives a range, the value here is named in `PRESET_NOTES`; `dictation` is ours (Gladia
publishes no table for it): complete sentences through thinking pauses, and the end of each
turn marked. Gladia also recommends custom vocabulary for every use case and a set language
for meetings, call centres and captions: those need the user's words and language, so the
CLI reminds rather than guesses (`needs_language`).
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "agent": {
        "endpointing": 0.05,
        "maximum_duration_without_endpointing": 15,
        "messages_config": {"receive_partial_transcripts": True},
        "end_of_turn": {},
    },
    "meeting": {
        "endpointing": 0.3,
        "maximum_duration_without_endpointing": 15,
        "messages_config": {"receive_partial_transcripts": True},
    },
    "call-center": {
        "endpointing": 0.3,
        "maximum_duration_without_endpointing": 15,
    },
    "captions": {
        "endpointing": 0.3,
        "maximum_duration_without_endpointing": 5,
        "messages_config": {"receive_partial_transcripts": True},
    },
    "dictation": {
        "endpointing": 0.8,
        "maximum_duration_without_endpointing": 15,
        "messages_config": {"receive_partial_transcripts": True},
        "end_of_turn": {},
    },
}

# What each preset is for, and where its numbers come from (the --help and README table).
PRESET_NOTES = {
    "agent": "voice agents, fast turns (Gladia: endpointing 0.05-0.1)",
    "meeting": "whole sentences (Gladia: 0.3-0.5); set the language",
    "call-center": "phone calls (Gladia: 0.2-0.4); set the language",
    "captions": "live subtitles, short cues; set the language",
    "dictation": "ours: pauses to think (Gladia's post-production 0.8)",
}

needs_language = frozenset({"meeting", "call-center", "captions"})


def preset_body(name: str) -> dict[str, Any]:
    """A copy of the preset's fragment (callers merge flags over it)."""
    import copy

    return copy.deepcopy(PRESETS[name])


def describe(name: str) -> str:
    """`endpointing 0.3 s, max 15 s, partials, end of turn` — the preset in a line."""
    body = PRESETS[name]
    parts = [
        f"endpointing {body['endpointing']:g} s",
        f"max {body['maximum_duration_without_endpointing']:g} s",
    ]
    if (body.get("messages_config") or {}).get("receive_partial_transcripts"):
        parts.append("partials")
    if "end_of_turn" in body:
        parts.append("end of turn")
    return ", ".join(parts)


def help_table() -> str:
    """The presets as the epilog of `live`, `file` and `mix` lays them out."""
    width = max(map(len, PRESETS))
    lines = ["Presets (--preset NAME; flags and --config override them):", ""]
    for name in PRESETS:
        lines.append(f"  {name:<{width}}  {describe(name)}")
        lines.append(f"  {'':<{width}}  {PRESET_NOTES[name]}")
    return "\n".join(lines) + "\n"
