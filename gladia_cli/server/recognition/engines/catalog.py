"""The names of the local server's engines and Whisper models, defined once.

Cheap to import (no numpy, no model runtime): `gladia serve --engine/--model`, the
`--local-engine`/`--local-model` options of file/live/mix and the shell completions read
these, and `gladia --help` must stay fast.
"""

from __future__ import annotations

WHISPER = "whisper"
SPHINX = "sphinx"
SCRIPTED = "scripted"

ENGINE_NAMES = (WHISPER, SPHINX, SCRIPTED)
DEFAULT_ENGINE = WHISPER

# Whisper models shipped in PyPI wheels (see whisper_models.py for where and their hashes).
BASE = "base"  # multilingual, the default
TINY_EN = "tiny.en"  # English only, about twice as fast
MODEL_NAMES = (BASE, TINY_EN)
DEFAULT_MODEL = BASE
ENGLISH_ONLY_MODELS = frozenset({TINY_EN})
