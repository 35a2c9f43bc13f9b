"""The sphinx engine in-process on the speech fixtures: recognition, chunk invariance,
decoder reuse, endpointing (pocketsphinx's models load; slower than tests/unit)."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from gladia_cli.server.recognition.engines import create_engine
from gladia_cli.server.recognition.engines.base import (
    ChannelSettings,
    Engine,
    EngineEvent,
    Hypothesis,
)
from tests.unit.test_engines import (
    FIXTURES,
    RATE,
    assert_well_formed,
    finals,
    load_channel,
    random_chunks,
    run,
    utterance_spans,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sphinx() -> Engine:
    return create_engine("sphinx")


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f["file"])
def test_sphinx_recognises_the_reliable_words(sphinx: Engine, fixture: dict[str, object]) -> None:
    """All channels at once, one thread each, as the server does."""
    channels = int(str(fixture["channels"]))
    results: dict[int, list[EngineEvent]] = {}

    def recognise(channel: int) -> None:
        samples = load_channel(str(fixture["file"]), channel)
        results[channel] = run(sphinx, samples, settings=ChannelSettings(channel))

    threads = [threading.Thread(target=recognise, args=(c,)) for c in range(channels)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    reliable = fixture["reliable_words"]
    assert isinstance(reliable, list)
    for channel in range(channels):
        events = results[channel]
        assert_well_formed(events)
        recognised = " ".join(f.text for f in finals(events)).split()
        missing = [w for w in reliable[channel] if w not in recognised]
        assert not missing, f"channel {channel} heard {recognised}"


def test_sphinx_is_chunk_invariant_and_reuses_decoders() -> None:
    from gladia_cli.server.recognition.engines.sphinx import SphinxEngine

    engine = SphinxEngine()
    samples = load_channel("budget.wav", 0)
    reference = run(engine, samples)
    assert_well_formed(reference)
    assert any(isinstance(e, Hypothesis) and not e.is_final for e in reference)
    assert run(engine, samples, random_chunks(len(samples), seed=1)) == reference
    # A reused decoder is reset: it gives what a fresh one gives.
    assert (engine.decoders_created, engine.idle_decoders) == (1, 1)


def test_sphinx_pool_creates_one_decoder_per_open_channel() -> None:
    from gladia_cli.server.recognition.engines.sphinx import SphinxEngine

    engine = SphinxEngine(max_idle_decoders=1)
    first = engine.open_channel(ChannelSettings(0))
    second = engine.open_channel(ChannelSettings(1))
    assert (engine.decoders_created, engine.idle_decoders) == (2, 0)
    first.finish()
    second.finish()
    assert engine.idle_decoders == 1  # the second one is dropped
    engine.open_channel(ChannelSettings(0)).finish()
    assert engine.decoders_created == 2


def test_sphinx_forces_an_end_after_max_duration(sphinx: Engine) -> None:
    samples = load_channel("book_table.wav", 0)
    long = run(sphinx, samples, settings=ChannelSettings(0, max_duration_without_endpointing=1.5))
    assert_well_formed(long)
    spans = utterance_spans(long)
    assert len(spans) >= 3
    assert all(end - start <= 1.5 + 1e-9 for start, end in spans)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))


def test_sphinx_ignores_silence_and_honours_endpointing(sphinx: Engine) -> None:
    assert run(sphinx, np.zeros(3 * RATE, dtype=np.int16)) == []

    speech = load_channel("budget.wav", 0)
    pause = np.zeros(RATE, dtype=np.int16)  # 1 s between the two sentences
    twice = np.concatenate([speech, pause, speech])
    assert len(utterance_spans(run(sphinx, twice))) == 2
    bridged = run(
        sphinx,
        twice,
        settings=ChannelSettings(0, endpointing=2.0, max_duration_without_endpointing=20),
    )
    assert_well_formed(bridged)
    assert len(utterance_spans(bridged)) == 1
