"""Tests that load a real engine (the Whisper model, pocketsphinx) and real speech: slower
than tests/unit, so each module shares what it loads (one server or one engine per module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gladia_cli.server.addons.runner import offline_models
from tests.shared_models import shared_whisper_models  # noqa: F401 (autouse)

REAL = Path(__file__).resolve().parents[1] / "data" / "real"


@pytest.fixture(scope="session")
def real() -> dict[str, dict[str, Any]]:
    """tests/data/real/transcripts.json by file name."""
    entries = json.loads((REAL / "transcripts.json").read_text(encoding="utf-8"))
    return {entry["file"]: entry for entry in entries}


@pytest.fixture(scope="session")
def addon_models() -> None:
    """The add-ons' text models (spaCy's pipeline, VADER's lexicon) loaded once per test
    process (they are cached process-wide): else a module's first session waits for them
    within its client's read timeout, which a loaded machine (or a busy xdist worker) passed."""
    offline_models().warm_up()
