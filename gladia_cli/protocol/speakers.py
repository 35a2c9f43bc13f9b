"""Speakers inside one channel, after a live session (pure: no I/O).

Gladia's live API has no diarization; its pre-recorded API has. `--speakers` sends the
session's recording through a pre-recorded job with diarization, and keeps who spoke when
as `Turn`s: the job's utterances, consecutive ones of one speaker merged. They are saved
with the session in its `post_session_metadata` (`PATCH /v2/live/{id}`, Gladia's own place
for what a client attaches to a session) under `METADATA_KEY`, so `gladia sessions get`
labels the transcript later too. A live utterance gets the speaker its time overlaps most
(the nearest turn when it overlaps none): both transcripts come from the same audio, but
their utterances need not be cut at the same places.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

METADATA_KEY = "gladia_cli_speakers"


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: int


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def turns_of(job: dict[str, Any]) -> list[Turn] | None:
    """Who spoke when, from a finished pre-recorded job with diarization; None when its
    utterances do not all say (diarization failed or was not done)."""
    result = job.get("result")
    transcription = result.get("transcription") if isinstance(result, dict) else None
    utterances = transcription.get("utterances") if isinstance(transcription, dict) else None
    if not isinstance(utterances, list):
        return None
    turns: list[Turn] = []
    for utterance in sorted(
        (u for u in utterances if isinstance(u, dict)), key=lambda u: _number(u.get("start")) or 0
    ):
        start, end, speaker = (
            _number(utterance.get("start")),
            _number(utterance.get("end")),
            utterance.get("speaker"),
        )
        if start is None or end is None or not isinstance(speaker, int) or speaker < 0:
            return None
        if turns and turns[-1].speaker == speaker:
            turns[-1] = Turn(turns[-1].start, max(turns[-1].end, end), speaker)
        else:
            turns.append(Turn(start, end, speaker))
    return turns


def speaker_at(start: float, end: float, turns: list[Turn]) -> int | None:
    """The speaker of the stretch [start, end): most overlap, else the nearest turn."""
    if not turns:
        return None

    def overlap(turn: Turn) -> float:
        return min(end, turn.end) - max(start, turn.start)

    def distance(turn: Turn) -> float:
        return max(turn.start - end, start - turn.end, 0.0)

    best = max(turns, key=overlap)
    if overlap(best) > 0:
        return best.speaker
    return min(turns, key=distance).speaker


def to_metadata(turns: list[Turn], job_id: str) -> dict[str, Any]:
    """What `post_session_metadata` keeps (compact: Gladia allows 100 KB)."""
    return {
        METADATA_KEY: {
            "job": job_id,
            "turns": [[round(t.start, 2), round(t.end, 2), t.speaker] for t in turns],
        }
    }


def from_metadata(metadata: Any) -> list[Turn] | None:
    """The turns a session's `post_session_metadata` holds, if `--speakers` saved some."""
    saved = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    rows = saved.get("turns") if isinstance(saved, dict) else None
    if not isinstance(rows, list):
        return None
    turns = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3):
            return None
        start, end, speaker = _number(row[0]), _number(row[1]), row[2]
        if start is None or end is None or not isinstance(speaker, int):
            return None
        turns.append(Turn(start, end, speaker))
    return turns


def with_speakers(session: dict[str, Any], turns: list[Turn]) -> dict[str, Any]:
    """A copy of a stored session whose utterances each carry a `speaker` (Gladia's field
    for it in pre-recorded results)."""
    labelled = copy.deepcopy(session)
    result = labelled.get("result")
    transcription = result.get("transcription") if isinstance(result, dict) else None
    utterances = transcription.get("utterances") if isinstance(transcription, dict) else None
    for utterance in utterances if isinstance(utterances, list) else ():
        if not isinstance(utterance, dict):
            continue
        start, end = _number(utterance.get("start")), _number(utterance.get("end"))
        if start is not None and end is not None:
            speaker = speaker_at(start, end, turns)
            if speaker is not None:
                utterance["speaker"] = speaker
    return labelled
