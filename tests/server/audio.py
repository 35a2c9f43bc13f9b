"""The audio most server tests stream: 4 s at 16 kHz mono with three tone bursts, which the
scripted engine hears as three utterances (one final each, partials while they last)."""

from __future__ import annotations

from tests.support import tone_bursts

AUDIO = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0), (2.9, 0.6, 0)], total=4.0).tobytes()
