"""What a session says about its recognition: lag behind the audio received, failure,
languages heard. Rules only, no I/O; `LiveSession` feeds it and shows it.

Lag is the audio received but not yet recognised, in seconds. It is shown in
`GET /v2/live/{id}` under `local_server` (not a Gladia field: Gladia's clients ignore
unknown keys). Past `limit` seconds the server holds back its acknowledgments until
recognition catches up (ack_credit.py): a client that waits for them, as a `--pace max`
one does by design, is slowed to the speed of recognition, and keeps its connection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BEHIND = 5.0  # seconds of lag worth a log line


@dataclass
class RecognitionStatus:
    limit: float
    max_lag: float = 0.0
    failed: str | None = None  # why recognition stopped, when it did
    languages: list[str] = field(default_factory=list)  # in the order first heard
    _behind: bool = False
    _at_limit_logged: bool = False

    def observe(self, lag: float) -> list[str]:
        """Record the current lag; the log lines worth writing about it (rarely any)."""
        self.max_lag = max(self.max_lag, lag)
        lines = []
        if lag >= BEHIND and not self._behind:
            self._behind = True
            lines.append(f"recognition is {lag:.1f} s behind the audio received")
        elif lag < BEHIND / 2 and self._behind:
            self._behind = False
            lines.append(f"recognition caught up ({lag:.1f} s behind)")
        if self.at_limit(lag) and not self._at_limit_logged:
            self._at_limit_logged = True
            lines.append(
                f"recognition backlog at its bound ({self.limit:g} s): "
                "acknowledgments held until it catches up (the client is slowed down)"
            )
        return lines

    def at_limit(self, lag: float) -> bool:
        return lag >= self.limit

    def heard(self, language: str) -> str:
        if language not in self.languages:
            self.languages.append(language)
        return language

    def describe(self, lag: float, skipped_partials: int) -> dict[str, Any]:
        return {
            "recognition_lag": round(lag, 3),
            "max_recognition_lag": round(self.max_lag, 3),
            "recognition_backlog_limit": self.limit,
            "skipped_partials": skipped_partials,
            "recognition_error": self.failed,
        }
