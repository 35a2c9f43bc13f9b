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
from collections.abc import Sequence

from gladia_cli.protocol.messages import Utterance, build_message

RECOVERED_FIELD = "recovered_from"
_EPSILON = 1e-3


class FinalsLedger:
    def __init__(self) -> None:
        self._spans: dict[int, list[tuple[float, float]]] = {}
        self.recovered = 0

    def record(self, utterance: Utterance) -> None:
        self._spans.setdefault(utterance.channel, []).append((utterance.start, utterance.end))

    def covers(self, utterance: Utterance) -> bool:
        spans = self._spans.get(utterance.channel, [])
        start, end = utterance.start, utterance.end
        if end - start <= _EPSILON:
            return any(s - _EPSILON <= start <= e + _EPSILON for s, e in spans)
        overlap = sum(max(0.0, min(end, e) - max(start, s)) for s, e in spans)
        return overlap >= 0.5 * (end - start) - _EPSILON

    def missing(self, utterances: Sequence[Utterance]) -> list[Utterance]:
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
