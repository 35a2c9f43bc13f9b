"""How a session's recognition gives way when the machine cannot keep up: rules only, no I/O.

A session's recognition lag (audio received, not yet recognised) is what its client waits
for. When it grows, recognition does less, in a stated order, and says so:

1. `FEWER_PARTIALS`: one partial per utterance (the first: it shows the speech was heard),
   at `raise_at[0]` seconds behind.
2. `FAST_FINALS`: no partials, and finals from the faster model (whisper: tiny.en for
   English; otherwise a shorter window), at `raise_at[1]` seconds behind.

For a live session the lag counted is its lateness by the clock: audio that came ahead of
the clock (what a client captured while it connected, the first seconds of a `--pace max`
file before it is found out) is not something its user waits for. Without that, a file
sent at `--pace max` gave way, and warned, as a late live session in the moment before
its speed showed.

It comes back one level at a time once the lag has stayed under `calm_lag` for `calm_for`
seconds of audio recognised. Finals change only for a **live** session, one whose audio
never came faster than the clock (a microphone, a file at real-time pace): there lateness
is what the user sees. A session that sent audio ahead of the clock (`--pace max`, 2x) is
behind by design; it is slowed down instead (ack_credit.py) and keeps its finals as they
would be on a quiet machine: only its partials give way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Level(enum.IntEnum):
    FULL = 0
    FEWER_PARTIALS = 1
    FAST_FINALS = 2


DESCRIPTIONS = {
    Level.FULL: "full quality",
    Level.FEWER_PARTIALS: "partial transcripts reduced to one per utterance",
    Level.FAST_FINALS: "no partial transcripts, and final transcripts from the faster model",
}


@dataclass
class LoadPolicy:
    raise_at: tuple[float, float] = (2.0, 5.0)  # lag (s) for FEWER_PARTIALS, FAST_FINALS
    calm_lag: float = 0.5  # lag (s) under which the level may come down
    calm_for: float = 15.0  # seconds of audio recognised that calm before it does
    ahead_slack: float = 3.0  # audio this far ahead of the clock: not a live source
    level: Level = Level.FULL
    live: bool = True  # latched False once the audio came faster than the clock
    max_level: Level = Level.FULL  # the highest reached, for the session's view
    _calm: float = field(default=0.0, repr=False)

    def observe(
        self, *, lag: float, received: float, elapsed: float, recognised: float
    ) -> Level | None:
        """After a batch: `lag` s behind, `received` s of audio in `elapsed` s of the
        session, `recognised` s recognised by this batch. Returns the new level when it
        changed, else None."""
        ahead = max(0.0, received - elapsed)
        if ahead > self.ahead_slack:
            self.live = False
        ceiling = Level.FAST_FINALS if self.live else Level.FEWER_PARTIALS
        # Live: behind the clock (what its user waits for), not behind audio sent early.
        behind = max(0.0, lag - ahead) if self.live else lag
        target = Level.FULL
        for level, threshold in zip(
            (Level.FEWER_PARTIALS, Level.FAST_FINALS), self.raise_at, strict=True
        ):
            if behind >= threshold:
                target = level
        target = min(target, ceiling)
        if target > self.level:
            return self._set(target)
        if lag < self.calm_lag and self.level > Level.FULL:
            self._calm += recognised
            if self._calm >= self.calm_for:
                return self._set(Level(self.level - 1))
        else:
            self._calm = 0.0
        if self.level > ceiling:  # the session turned out not to be live
            return self._set(ceiling)
        return None

    def _set(self, level: Level) -> Level:
        self.level = level
        self.max_level = max(self.max_level, level)
        self._calm = 0.0
        return level
