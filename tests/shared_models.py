"""Whisper models loaded once per test process and shared by the in-process tests that build
a whisper engine (`--local`, `gladia serve` or `WhisperEngine` in the test's process).

Why: each such engine loads base and tiny.en again, 1.4-2.3 s of CPU a pair, about 45 loads
in a suite's run; on the two cores the suite is CPU-bound. tests/e2e and tests/integration
swap `whisper_models.load_model` (the one function every engine and `doctor` load through)
for `SHARED.load`, which loads through the real function once per name and settings.

What still loads for real: every CLI run as a subprocess (tests/mic, the subprocess half of
tests/e2e/test_cli_run.py's `--local` lines, tests/e2e/test_install_cli.py), and the loading
rules themselves in tests/integration/test_whisper_engine.py (verified, refused when
tampered, from memory without a temporary directory), which call the function they import.

Why sharing is safe: a loaded model is weights, a tokenizer and a feature extractor, none
of which a decode changes; what a session learns (its language, its second opinions) lives
in the engine's recognizers and decode queue, made anew with each engine. Production shares
one model among all its decode threads already.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from gladia_cli.server.recognition.engines import whisper_models

Loader = Callable[..., Any]


class SharedModels:
    """`load(name, cpu_threads=…, workers=…)` as the real loader, once per arguments."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader
        self._models: dict[tuple[str, int, int], Any] = {}
        self._lock = threading.Lock()  # two servers starting at once load a model once
        self.loads = 0

    def load(self, name: str, *, cpu_threads: int, workers: int) -> Any:
        key = (name, cpu_threads, workers)
        with self._lock:
            if key not in self._models:
                # A failure is not kept: the next engine tries (and fails) as a fresh one.
                self._models[key] = self._loader(name, cpu_threads=cpu_threads, workers=workers)
                self.loads += 1
            return self._models[key]


SHARED = SharedModels(whisper_models.load_model)  # the real one, taken before any swap


@pytest.fixture(autouse=True)
def shared_whisper_models(monkeypatch: pytest.MonkeyPatch) -> Iterator[SharedModels]:
    """For a conftest to import: the test's engines load through `SHARED`."""
    monkeypatch.setattr(whisper_models, "load_model", SHARED.load)
    yield SHARED
