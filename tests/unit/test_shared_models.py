"""tests/shared_models.py: the in-process tests' engines share the models they load."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gladia_cli.errors import EngineUnavailable
from gladia_cli.server.recognition.engines import whisper_models
from tests.shared_models import SHARED, SharedModels


class Loader:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, int]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail = False

    def __call__(self, name: str, *, cpu_threads: int, workers: int) -> Any:
        self.gate.wait(5)
        self.calls.append((name, cpu_threads, workers))
        if self.fail:
            raise EngineUnavailable("no model")
        return object()


def test_a_model_is_loaded_once_per_name_and_settings() -> None:
    loader = Loader()
    shared = SharedModels(loader)
    base = shared.load("base", cpu_threads=2, workers=2)
    assert shared.load("base", cpu_threads=2, workers=2) is base
    # Threads and replicas are fixed at load: other settings are another model.
    assert shared.load("base", cpu_threads=2, workers=1) is not base
    assert shared.load("tiny.en", cpu_threads=2, workers=2) is not base
    assert loader.calls == [("base", 2, 2), ("base", 2, 1), ("tiny.en", 2, 2)]


def test_a_failed_load_is_tried_again() -> None:
    loader = Loader()
    loader.fail = True
    shared = SharedModels(loader)
    for _ in range(2):
        with pytest.raises(EngineUnavailable):
            shared.load("base", cpu_threads=1, workers=1)
    assert len(loader.calls) == 2


def test_engines_starting_at_once_load_a_model_once() -> None:
    loader = Loader()
    loader.gate.clear()
    shared = SharedModels(loader)
    got: list[Any] = []
    threads = [
        threading.Thread(target=lambda: got.append(shared.load("base", cpu_threads=1, workers=1)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    loader.gate.set()
    for thread in threads:
        thread.join(5)
    assert len(got) == 3 and got[0] is got[1] is got[2]
    assert len(loader.calls) == 1


def test_tests_unit_loads_for_real() -> None:
    """Only tests/e2e and tests/integration swap the loader (their conftests)."""
    assert whisper_models.load_model != SHARED.load
    assert SHARED._loader is whisper_models.load_model
