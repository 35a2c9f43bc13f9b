"""When and how long to wait before trying again: small, injectable, clock-free pieces."""

from __future__ import annotations

from dataclasses import dataclass

# Statuses of `POST /v2/live` worth retrying: timeouts, rate limits, server errors.
# Not 507 (Insufficient Storage): a full disk does not empty itself within a backoff.
RETRYABLE_STATUSES = frozenset({408, 429}) | (frozenset(range(500, 600)) - {507})


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: `base`, `base × factor`, … capped at `cap`, `attempts` tries."""

    base: float = 0.25
    factor: float = 2.0
    cap: float = 5.0
    attempts: int = 8

    def delay(self, attempt: int) -> float:
        """Seconds to wait before try number `attempt` (1 = the first retry)."""
        return min(self.cap, self.base * self.factor ** max(0, attempt - 1))

    def allows(self, attempt: int) -> bool:
        return attempt <= self.attempts


def retry_after(header: str | None, fallback: float, cap: float = 30.0) -> float:
    """Honour a server's `Retry-After` (seconds form) within reason; else the backoff."""
    if header:
        try:
            return min(cap, max(0.0, float(header)))
        except ValueError:
            pass
    return fallback
