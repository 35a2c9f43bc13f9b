"""Checking the live finals against the session's own list of utterances (no I/O).

A final lost with a dropped connection is gone from the live output unless the server
re-delivers it, and whether Gladia does is not documented. The session's complete list
comes at the end anyway: `post_transcript`, `post_final_transcript.data.transcription`, or
`GET /v2/live/{id}`. `FinalsLedger` remembers when each live final was on each channel,
and finds the utterances of that list the live output did not cover.

Covered means: live finals of the same channel overlap at least half of the utterance's
time span (or contain its instant, for a zero-length one). Time, not text or id: the end
list has no utterance ids, and a server may re-segment or re-decode at the end.

A missed utterance is given back as a `transcript` message rebuilt from the end list, so
every output keeps working on Gladia messages: `data.id` is `recovered-CC-NNNN` (the
original id is unknown) and one extra top-level field, `"recovered_from"`, says where it
came from (`post_transcript`, `post_final_transcript` or `GET /v2/live/{id}`).
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from gladia_cli.protocol.messages import Utterance, build_message

RECOVERED_FIELD = "recovered_from"
_EPSILON = 1e-3


class FinalsLedger:
    """Per channel, the live finals' spans: two arrays of floats (16 bytes a final, not a
    tuple's 100: 10 h of speech records 15 000), sorted by start when searched, so that
    checking the end list is a bisection per utterance, not a scan of every final."""

    def __init__(self) -> None:
        self._starts: dict[int, array[float]] = {}
        self._ends: dict[int, array[float]] = {}
        self._longest: dict[int, float] = {}
        self._unsorted: set[int] = set()
        self.recovered = 0

    def record(self, utterance: Utterance) -> None:
        channel, start, end = utterance.channel, utterance.start, utterance.end
        starts = self._starts.setdefault(channel, array("d"))
        ends = self._ends.setdefault(channel, array("d"))
        if starts and start < starts[-1]:
            self._unsorted.add(channel)
        starts.append(start)
        ends.append(end)
        self._longest[channel] = max(self._longest.get(channel, 0.0), end - start)

    def _spans(self, channel: int) -> tuple[array[float], array[float]]:
        starts = self._starts.get(channel, array("d"))
        ends = self._ends.get(channel, array("d"))
        if channel in self._unsorted:
            order = sorted(range(len(starts)), key=starts.__getitem__)
            starts = self._starts[channel] = array("d", (starts[i] for i in order))
            ends = self._ends[channel] = array("d", (ends[i] for i in order))
            self._unsorted.discard(channel)
        return starts, ends

    def covers(self, utterance: Utterance) -> bool:
        starts, ends = self._spans(utterance.channel)
        start, end = utterance.start, utterance.end
        # Only spans starting within (start - longest, end] can reach into [start, end].
        reach = self._longest.get(utterance.channel, 0.0) + _EPSILON
        lo = bisect_left(starts, start - reach)
        if end - start <= _EPSILON:
            hi = bisect_right(starts, start + _EPSILON)
            return any(starts[i] - _EPSILON <= start <= ends[i] + _EPSILON for i in range(lo, hi))
        hi = bisect_right(starts, end)
        overlap = sum(max(0.0, min(end, ends[i]) - max(start, starts[i])) for i in range(lo, hi))
        return overlap >= 0.5 * (end - start) - _EPSILON

    def missing(self, utterances: Iterable[Utterance]) -> list[Utterance]:
        """The utterances (with text) the live finals did not cover, in time order."""
        return sorted(
            (u for u in utterances if u.text.strip() and not self.covers(u)),
            key=lambda u: (u.start, u.channel),
        )

    def rebuild(
        self, utterance: Utterance, *, session_id: str | None, created_at: str, source: str
    ) -> str:
        """A final `transcript` message for a missed utterance, as JSON text; recorded."""
        self.recovered += 1
        self.record(utterance)
        message = build_message(
            "transcript",
            session_id or "",
            created_at,
            data={
                "id": f"recovered-{utterance.channel:02d}-{self.recovered:04d}",
                "is_final": True,
                "utterance": utterance.to_dict(),
            },
        )
        message[RECOVERED_FIELD] = source
        return json.dumps(message, ensure_ascii=False, separators=(",", ":"))
