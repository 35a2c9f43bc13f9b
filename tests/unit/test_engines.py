"""The speech recognisers behind the local server: event rules, determinism, endpointing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gladia_cli.server.recognition.engines import ENGINE_NAMES, create_engine
from gladia_cli.server.recognition.engines.base import (
    ENGINE_SAMPLE_RATE,
    ChannelRecognizer,
    ChannelSettings,
    Engine,
    EngineEvent,
    Hypothesis,
    Samples,
    SpeechEnded,
    SpeechStarted,
)
from gladia_cli.server.recognition.engines.scripted import (
    WORD_LIST,
    Script,
    ScriptedEngine,
    load_script,
    threshold_rms,
)

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = json.loads((DATA / "fixtures.json").read_text(encoding="utf-8"))
RATE = ENGINE_SAMPLE_RATE


# --- helpers ---------------------------------------------------------------------------


def load_channel(file: str, channel: int) -> Samples:
    audio, rate = sf.read(DATA / file, dtype="int16", always_2d=True)
    assert rate == RATE
    return np.ascontiguousarray(audio[:, channel])


def run(
    engine: Engine,
    samples: Samples,
    chunks: Iterable[int] = (),
    settings: ChannelSettings | None = None,
) -> list[EngineEvent]:
    """Feed `samples` cut at the given chunk sizes (100 ms chunks when none), then finish."""
    recognizer = engine.open_channel(settings or ChannelSettings(channel=0))
    return feed_all(recognizer, samples, chunks) + recognizer.finish()


def feed_all(
    recognizer: ChannelRecognizer, samples: Samples, chunks: Iterable[int]
) -> list[EngineEvent]:
    sizes = list(chunks) or [RATE // 10] * (len(samples) // (RATE // 10) + 1)
    events: list[EngineEvent] = []
    position = 0
    for size in sizes:
        events += recognizer.feed(samples[position : position + size])
        position += size
    events += recognizer.feed(samples[position:])
    return events


def random_chunks(total: int, seed: int) -> list[int]:
    """Chunk sizes from 0 samples to 0.5 s, covering `total` samples."""
    rng = np.random.default_rng(seed)
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(int(rng.integers(0, RATE // 2)))
    return sizes


def finals(events: Sequence[EngineEvent]) -> list[Hypothesis]:
    return [e for e in events if isinstance(e, Hypothesis) and e.is_final]


def utterance_spans(events: Sequence[EngineEvent]) -> list[tuple[float, float]]:
    starts = [e.time for e in events if isinstance(e, SpeechStarted)]
    ends = [e.time for e in events if isinstance(e, SpeechEnded)]
    return list(zip(starts, ends, strict=True))


def assert_well_formed(events: Sequence[EngineEvent]) -> None:
    """SpeechStarted → partials → SpeechEnded → one non-empty final, utterances in order."""
    start: float | None = None  # open utterance
    ended: tuple[float, float] | None = None  # closed utterance awaiting its final
    previous_end = 0.0
    for event in events:
        if isinstance(event, SpeechStarted):
            assert start is None, f"speech start inside an utterance: {event}"
            assert event.time >= previous_end
            start, ended = event.time, None
        elif isinstance(event, SpeechEnded):
            assert start is not None, f"speech end outside an utterance: {event}"
            assert event.time > start
            ended, start, previous_end = (start, event.time), None, event.time
        else:
            span = (start, event.end) if not event.is_final else ended
            assert span is not None and span[0] is not None, f"misplaced hypothesis: {event}"
            assert (event.start, event.end) == span
            assert event.text and event.text == " ".join(w.word for w in event.words)
            assert 0.0 <= event.confidence <= 1.0
            for word in event.words:
                assert word.word == word.word.strip() and word.word
                assert event.start <= word.start <= word.end <= event.end
                assert 0.0 <= word.confidence <= 1.0
            if event.is_final:
                ended = None
    assert start is None, "finish() left an utterance open"


def tone_bursts(*segments: tuple[str, float], dbfs: float = -20.0) -> Samples:
    """("tone", seconds) and ("silence", seconds) segments: a 440 Hz tone at `dbfs` RMS."""
    amplitude = 32768 * 10 ** (dbfs / 20) * np.sqrt(2)
    parts = []
    for kind, seconds in segments:
        n = round(seconds * RATE)
        if kind == "tone":
            parts.append(amplitude * np.sin(2 * np.pi * 440 * np.arange(n) / RATE))
        else:
            parts.append(np.zeros(n))
    return np.concatenate(parts).astype(np.int16)


# --- scripted engine ---------------------------------------------------------------------


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f["file"])
def test_scripted_is_chunk_invariant_and_well_formed(fixture: dict[str, object]) -> None:
    samples = load_channel(str(fixture["file"]), 0)
    engine = ScriptedEngine()
    whole = run(engine, samples, [len(samples)])
    assert finals(whole), "the fixture's speech was not detected"
    assert_well_formed(whole)
    for seed in range(3):
        assert run(engine, samples, random_chunks(len(samples), seed)) == whole
    assert run(engine, samples, [1] * 2000) == whole  # sample by sample, then the rest


def test_scripted_endpointing_has_a_floor_and_bridges_short_pauses() -> None:
    samples = tone_bursts(
        ("tone", 1.0),
        ("silence", 0.2),
        ("tone", 1.0),
        ("silence", 1.0),
        ("tone", 0.5),
        ("silence", 0.5),
    )
    default = run(ScriptedEngine(), samples)  # endpointing 0.05 → 0.3 floor
    assert_well_formed(default)
    assert utterance_spans(default) == [(0.0, 2.2), (3.2, 3.7)]

    long_pause = run(ScriptedEngine(), samples, settings=ChannelSettings(0, endpointing=1.5))
    assert utterance_spans(long_pause) == [(0.0, 3.7)]  # closed by finish()


def test_scripted_reports_the_end_once_the_silence_is_long_enough() -> None:
    recognizer = ScriptedEngine().open_channel(ChannelSettings(0, endpointing=0.5))
    events = recognizer.feed(tone_bursts(("tone", 1.0), ("silence", 0.49)))
    assert not any(isinstance(e, SpeechEnded) for e in events)
    events = recognizer.feed(tone_bursts(("silence", 0.01)))
    assert [type(e) for e in events] == [SpeechEnded, Hypothesis]
    assert recognizer.finish() == []


def test_scripted_forces_an_end_after_max_duration() -> None:
    samples = tone_bursts(("tone", 12.0))
    events = run(
        ScriptedEngine(), samples, settings=ChannelSettings(0, max_duration_without_endpointing=5)
    )
    assert_well_formed(events)
    assert utterance_spans(events) == [(0.0, 5.0), (5.0, 10.0), (10.0, 12.0)]


def test_scripted_threshold_ignores_quiet_noise_and_keeps_speech_levels() -> None:
    rng = np.random.default_rng(0)
    quiet_noise = (rng.normal(0, 32768 * 10 ** (-55 / 20), 2 * RATE)).astype(np.int16)
    assert run(ScriptedEngine(), np.zeros(RATE, dtype=np.int16)) == []
    assert run(ScriptedEngine(), quiet_noise) == []
    for dbfs in (-30, -10):
        assert len(finals(run(ScriptedEngine(), tone_bursts(("tone", 1.0), dbfs=dbfs)))) == 1

    medium = tone_bursts(("tone", 1.0), dbfs=-36)
    assert run(ScriptedEngine(), medium, settings=ChannelSettings(0, speech_threshold=1.0)) == []
    assert finals(run(ScriptedEngine(), medium, settings=ChannelSettings(0, speech_threshold=0.0)))
    assert threshold_rms(0.0) < threshold_rms(0.6) < threshold_rms(1.0)


def test_scripted_words_follow_the_duration_and_continue_across_utterances() -> None:
    samples = tone_bursts(("tone", 2.0), ("silence", 1.0), ("tone", 0.3), ("silence", 1.0))
    first, second = finals(run(ScriptedEngine(), samples))
    assert first.text == " ".join(WORD_LIST[:5])  # one word per 0.4 s
    assert second.text == WORD_LIST[5]  # at least one word, the list goes on
    assert [(w.start, w.end) for w in first.words] == [
        (0.0, 0.4),
        (0.4, 0.8),
        (0.8, 1.2),
        (1.2, 1.6),
        (1.6, 2.0),
    ]
    assert {w.confidence for w in first.words} == {0.9}


def test_scripted_partials_are_growing_prefixes_every_300_ms() -> None:
    samples = tone_bursts(("tone", 2.0), ("silence", 1.0))
    events = run(ScriptedEngine(), samples)
    partials = [e for e in events if isinstance(e, Hypothesis) and not e.is_final]
    (final,) = finals(events)
    assert [p.end for p in partials] == pytest.approx([0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.0])
    counts = [len(p.words) for p in partials]
    assert counts == sorted(counts) and counts[0] == 1
    assert all(final.text.startswith(p.text) for p in partials)


def test_load_script_channel_prefixes_comments_and_cycling(tmp_path: Path) -> None:
    path = tmp_path / "script.txt"
    path.write_text(
        "# a comment\n\nhello everyone\n[1] only for one\n  [0] only for zero  \nbye now\n[2]\n",
        encoding="utf-8",
    )
    script = load_script(path)
    assert tuple(line.text for line in script.for_channel(0)) == (
        "hello everyone",
        "only for zero",
        "bye now",
    )
    assert tuple(line.text for line in script.for_channel(1)) == (
        "hello everyone",
        "only for one",
        "bye now",
    )
    assert tuple(line.text for line in script.for_channel(2)) == ("hello everyone", "bye now")

    three_utterances = tone_bursts(*[("tone", 0.5), ("silence", 0.5)] * 3)
    events = run(ScriptedEngine(script), three_utterances, settings=ChannelSettings(2))
    assert [f.text for f in finals(events)] == ["hello everyone", "bye now", "hello everyone"]
    assert_well_formed(events)


def test_scripted_channel_without_script_lines_gets_generated_words() -> None:
    engine = ScriptedEngine(Script(((0, "zero only"),)))
    samples = tone_bursts(("tone", 0.8), ("silence", 0.5))
    assert [f.text for f in finals(run(engine, samples, settings=ChannelSettings(1)))] == [
        " ".join(WORD_LIST[:2])
    ]
    assert [f.text for f in finals(run(engine, samples))] == ["zero only"]


def test_finish_is_idempotent_and_feed_after_finish_fails() -> None:
    recognizer = ScriptedEngine().open_channel(ChannelSettings(0))
    recognizer.feed(tone_bursts(("tone", 1.0)))
    assert [type(e) for e in recognizer.finish()] == [SpeechEnded, Hypothesis]
    assert recognizer.finish() == []
    with pytest.raises(RuntimeError):
        recognizer.feed(tone_bursts(("tone", 0.1)))


# --- sphinx engine (the recognising tests: tests/integration/test_sphinx_engine.py) -------


def test_sphinx_speech_threshold_maps_onto_vad_modes() -> None:
    from gladia_cli.server.recognition.engines.sphinx import vad_mode_for

    assert [vad_mode_for(t) for t in (0.0, 0.3, 0.6, 0.8, 1.0)] == [0, 1, 2, 3, 3]


# --- create_engine -----------------------------------------------------------------------


def test_create_engine(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("hello there\n", encoding="utf-8")
    scripted = create_engine("scripted", script_path=str(script))
    assert isinstance(scripted, ScriptedEngine) and scripted.script == load_script(script)
    assert create_engine("scripted").name == "scripted"
    assert ENGINE_NAMES == ("whisper", "sphinx", "scripted")
    with pytest.raises(ValueError, match="whisper, sphinx, scripted"):
        create_engine("nope")


def test_pocketsphinx_is_imported_only_for_the_sphinx_engine() -> None:
    code = (
        "import sys\n"
        "from gladia_cli.server.recognition.engines import create_engine\n"
        "create_engine('scripted')\n"
        "assert 'pocketsphinx' not in sys.modules\n"
        "assert 'faster_whisper' not in sys.modules and 'ctranslate2' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_scripted_says_a_cut_at_max_duration_is_not_the_end_of_a_turn() -> None:
    samples = tone_bursts(("tone", 6.0), ("silence", 0.5))
    events = run(
        ScriptedEngine(), samples, settings=ChannelSettings(0, max_duration_without_endpointing=5)
    )
    ends = [e for e in events if isinstance(e, SpeechEnded)]
    assert [e.turn_end for e in ends] == [False, True]  # the cut, then the pause


def test_scripted_script_names_speakers_for_the_finals(tmp_path: Path) -> None:
    path = tmp_path / "script.txt"
    path.write_text("@1 hello there\n@0 general kenobi\nno speaker here\n", encoding="utf-8")
    three_utterances = tone_bursts(*[("tone", 0.5), ("silence", 0.5)] * 3)
    events = run(ScriptedEngine(load_script(path)), three_utterances)
    assert [(f.text, f.speaker) for f in finals(events)] == [
        ("hello there", 1),
        ("general kenobi", 0),
        ("no speaker here", None),
    ]


# --- the interface's optional capabilities --------------------------------------------


class _Silent(ChannelRecognizer):
    """A recogniser with only what it must have."""

    def feed(self, samples: Samples) -> list[EngineEvent]:
        return []

    def finish(self) -> list[EngineEvent]:
        return []


class _Minimal(Engine):
    """An engine with only what it must have: the rest comes from the interface."""

    name = "minimal"

    def open_channel(self, settings: ChannelSettings) -> ChannelRecognizer:
        return _Silent()


def test_an_engine_gets_its_optional_capabilities_from_the_interface() -> None:
    engine = _Minimal()
    engine.preload(2)
    engine.forget("s")
    engine.close()
    assert engine.skipped_partials("s") == 0
    assert engine.translates is False
    with pytest.raises(NotImplementedError, match="minimal engine does not translate"):
        engine.translate("s", 0, np.zeros(16, dtype=np.float32), "fr")
    recognizer = engine.open_channel(ChannelSettings(channel=0))
    recognizer.set_load(1)
    recognizer.set_late_sink(lambda events: None)
    with pytest.raises(TypeError):  # what an engine must do has no default
        Engine()  # type: ignore[abstract]


def test_every_engine_implements_the_interface(tmp_path: Path) -> None:
    """The servers' callers call the optional capabilities, never look for them."""
    engine = create_engine("scripted")
    assert isinstance(engine, Engine)
    assert isinstance(engine.open_channel(ChannelSettings(channel=0)), ChannelRecognizer)
    from gladia_cli.server.recognition.engines.sphinx import SphinxEngine, SphinxRecognizer
    from gladia_cli.server.recognition.engines.whisper import WhisperEngine, WhisperRecognizer

    assert issubclass(SphinxEngine, Engine) and issubclass(WhisperEngine, Engine)
    assert issubclass(SphinxRecognizer, ChannelRecognizer)
    assert issubclass(WhisperRecognizer, ChannelRecognizer)


def test_the_transcribers_ask_the_engine_without_looking_for_capabilities() -> None:
    from gladia_cli.server.recognition.transcriber_pool import InThreadTranscribers

    transcribers = InThreadTranscribers("scripted", None)
    assert transcribers.translator() is None  # the scripted engine does not translate
    assert transcribers.skipped_partials("s") == 0
    transcribers.close()
