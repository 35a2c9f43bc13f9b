"""Engine-level WER of the whisper engine on every single-language channel of the corpus.

No CLI, no server, no clock: each channel's audio (the real-voice corpus, corpus.py) is fed
to one whisper channel recogniser in 0.1 s chunks as a pre-recorded job's would be
(`live=False`: no speculation, no partials), the language detected as the CLI's default
does, and its finals scored with Gladia's normaliser. What it measures is what the engine
hears and writes (segmentation, pre-roll, cuts, decoding), apart from timing: the figures
do not depend on the machine's load, so two settings can be compared on a busy machine.

`--variant 'NAME=VALUE'` overrides a constant of `gladia_cli.server.recognition.engines.whisper`
(`whisper_decoding.NAME=VALUE`: of whisper_decoding.py) for one run (several in one variant
separated by `;`; a run per `--variant`), e.g. the pre-roll experiments of stop 27:

    .venv/bin/python benchmarks/corpus_wer.py
    .venv/bin/python benchmarks/corpus_wer.py --variant 'PREROLL_REACH_SECONDS=0' \\
        --variant 'PREROLL_REACH_SECONDS=0.4' --sets one-voice,long-en
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import corpus
import soundfile as sf
from _support import HelpFormatter
from scene_figures import gladia_words

from tests.wer import edit_distance

# (name, corpus item, channel): every channel that speaks one language throughout.
SETS = (
    ("one-voice", "one-voice", 0),
    ("long-en", "long-en", 0),
    ("turns-ch0", "meeting-turns", 0),
    ("turns-ch1", "meeting-turns", 1),
    ("french", "french", 0),
    ("spanish", "spanish", 0),
)
CHUNK = 1600  # 0.1 s at 16 kHz


@dataclass
class Score:
    name: str
    language: str
    errors: int
    words: int


def score(engine: object, root: Path, name: str, item: str, channel: int) -> Score:
    from gladia_cli.server.recognition.engines.base import ChannelSettings, Hypothesis

    scene = corpus.scene_audio(root, item, None, root)  # whole: nothing written
    language, text = scene.references[channel]
    samples, _ = sf.read(scene.files[channel], dtype="int16")
    settings = ChannelSettings(channel=0, session_id=name, live=False)
    recognizer = engine.open_channel(settings)  # type: ignore[attr-defined]
    finals = []
    for start in range(0, len(samples), CHUNK):
        finals += recognizer.feed(samples[start : start + CHUNK])
    finals += recognizer.finish()
    heard = " ".join(e.text for e in finals if isinstance(e, Hypothesis) and e.is_final)
    ref, hyp = gladia_words(text, language), gladia_words(heard, language)
    return Score(name, language, edit_distance(ref, hyp), len(ref))


def apply(variant: str, modules: dict[str, ModuleType]) -> None:
    """NAME=VALUE (whisper.py's) or whisper_decoding.NAME=VALUE, `;`-separated."""
    for assignment in filter(None, (part.strip() for part in variant.split(";"))):
        target, _, value = assignment.partition("=")
        where, _, name = target.rpartition(".")
        module = modules.get(where or "whisper")
        if module is None or not hasattr(module, name):
            raise SystemExit(f"corpus_wer: error: no constant {target} in {', '.join(modules)}")
        setattr(module, name, type(getattr(module, name))(value))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--model", default="base", help="the whisper model")
    parser.add_argument(
        "--sets", default=",".join(s[0] for s in SETS), help="which channels, comma-separated"
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=None,
        help="NAME=VALUE[;NAME=VALUE] overriding whisper.py constants for one run (repeatable)",
    )
    args = parser.parse_args()
    wanted = args.sets.split(",")
    unknown = set(wanted) - {s[0] for s in SETS}
    if unknown:
        parser.error(f"unknown sets: {', '.join(sorted(unknown))}")
    root = corpus.ensure()
    from gladia_cli.server.recognition.engines import whisper, whisper_decoding

    engine = whisper.WhisperEngine(args.model)
    modules = {"whisper": whisper, "whisper_decoding": whisper_decoding}
    defaults = [
        (module, name, getattr(module, name))
        for module in modules.values()
        for name in dir(module)
        if name.isupper()
    ]
    print(f"corpus_wer: whisper {args.model}, corpus v{corpus.VERSION}, Gladia's normaliser")
    for variant in args.variant or [""]:
        for module, name, value in defaults:
            setattr(module, name, value)
        apply(variant, modules)
        cpu = time.process_time()
        scores = [score(engine, root, *s) for s in SETS if s[0] in wanted]
        cpu = time.process_time() - cpu
        by_language: dict[str, list[Score]] = {}
        for one in scores:
            by_language.setdefault(one.language, []).append(one)
        totals = "  ".join(
            f"{lang} {sum(s.errors for s in group) / max(1, sum(s.words for s in group)):.3f}"
            f" ({sum(s.errors for s in group)}/{sum(s.words for s in group)})"
            for lang, group in by_language.items()
        )
        each = "  ".join(f"{s.name} {s.errors / max(1, s.words):.3f}" for s in scores)
        print(f"[{variant or 'defaults'}] {totals}  CPU {cpu:.0f} s\n    {each}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
