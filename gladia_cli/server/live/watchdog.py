"""A session's own deadlines: no audio for `idle_timeout`, or `max_duration` of recording.

Both run on the injected `Clock` (clock.py), so tests move time instead of waiting.
`expiry` is the rule, with no clock of its own; `Watchdog` sleeps until the next deadline
and tells the session why it must end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gladia_cli.server.clock import Clock

IDLE_REASON = "no audio for"


def expiry(
    now: float, *, last_audio: float, started: float, idle: float, longest: float
) -> str | None:
    """Why a session must end at `now`, or None while it may go on."""
    if now >= started + longest:
        return "maximum duration reached"
    if now >= last_audio + idle:
        return f"{IDLE_REASON} {idle:g} s"
    return None


class Watchdog:
    def __init__(
        self,
        clock: Clock,
        *,
        idle_timeout: float,
        max_duration: float,
        on_expired: Callable[[str], None],
    ) -> None:
        self._clock = clock
        self._idle = idle_timeout
        self._longest = max_duration
        self._on_expired = on_expired
        self.started = self._last_audio = clock.now()
        self._task = asyncio.get_running_loop().create_task(self._watch())

    def audio_arrived(self) -> None:
        """Audio came (or a client connected): the idle deadline starts again."""
        self._last_audio = self._clock.now()

    async def _watch(self) -> None:
        while True:
            now = self._clock.now()
            reason = expiry(
                now,
                last_audio=self._last_audio,
                started=self.started,
                idle=self._idle,
                longest=self._longest,
            )
            if reason is not None:
                self._on_expired(reason)
                return
            await self._clock.sleep_until(
                min(self._last_audio + self._idle, self.started + self._longest)
            )

    def cancel(self) -> None:
        self._task.cancel()
