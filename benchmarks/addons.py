"""The local server's add-ons: what each costs, and why these models were chosen.

Default run: one line per add-on, the CPU seconds it takes per minute of audio, and the
memory its model adds to the process (RSS, read from /proc/self/status, after loading):

- named entities and sentiment: per final utterance, over the English transcripts of
  tests/data/real (36.5 s of audio, as Whisper writes them: cased, punctuated), repeated;
- summary (each `summarization_config.type`) and chapters: once per session, over a
  10-minute transcript made of the same utterances;
- translation (Whisper base, translate task): the two French clips of tests/data/real.

`--compare` measures the candidates for sentiment and summaries on the same data:

- sentiment: VADER vs TextBlob, accuracy on LABELLED (30 conversational sentences labelled
  by hand for this benchmark: 10 positive, 10 negative, 10 neutral; negation, "but" and
  intensifiers included), and CPU per sentence. TextBlob is not a dependency of the
  project: `pip install textblob` to compare.
- summaries: sumy's LexRank vs its TextRank (the one kept), at the same length, over three
  transcripts:
  how much of the transcript's content the summary holds (tf-idf cosine between summary
  and transcript: higher is more representative) and how much a summary repeats itself
  (mean cosine between its sentences: lower is better), and CPU.

`--latency`: whether the add-ons stay off the real-time path. An in-process server (scripted
engine, the real add-on models) gets 30 s of audio at real-time pace in 100 ms chunks, an
utterance every second (a final each second, so the add-ons run all along), once with no
add-on and once with entities, sentiment and translation into English, then summary and
chapters; printed: acknowledgment latency (chunk sent → its `audio_chunk`) p50/p99/max,
and the delay from each utterance's end of audio to its final.

CPU is process time (every thread: CTranslate2 decodes on two), so the machine's load does
not change it much; the 1-minute load average is printed.

    .venv/bin/python benchmarks/addons.py
    .venv/bin/python benchmarks/addons.py --compare
    .venv/bin/python benchmarks/addons.py --latency
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _support import ROOT, HelpFormatter

REAL = ROOT / "tests" / "data" / "real"
# Whisper base's finals of tests/data/real's English files (the engine tests assert them).
ENGLISH = [
    ("librivox_0870.wav", "And Mr. John Dashwood had then leisure to consider how much "
     "there might be prudently in his power to do for them."),
    ("librivox_0880.wav", "He was not an old supposed young man."),
    ("librivox_0890.wav", "Unless to be rather cold-hearted and rather selfish is to be "
     "ill-disposed."),
    ("librivox_0920.wav", "Had he married a more amiable woman, he might have been made "
     "still more respectable than he was."),
    ("librivox_0930.wav", "He might even have been made amiable himself."),
    ("goforward.wav", "Go forward ten meters."),
    ("forever.wav", "Feels like these days go on forever."),
]  # fmt: skip
LABELLED = [
    ("I love how this turned out, thank you so much.", "positive"),
    ("That's a great idea, let's do it.", "positive"),
    ("The demo went really well yesterday.", "positive"),
    ("Not bad at all, I'm impressed.", "positive"),
    ("I'm glad we finally fixed the login bug.", "positive"),
    ("Thanks, that helps a lot.", "positive"),
    ("The new design looks beautiful.", "positive"),
    ("It was slow at first, but now it works perfectly.", "positive"),
    ("We're excited to welcome you to the team.", "positive"),
    ("Congratulations on the launch!", "positive"),
    ("This is terrible, I hate waiting.", "negative"),
    ("The build broke again and nobody noticed.", "negative"),
    ("I'm really disappointed with the results.", "negative"),
    ("That meeting was a complete waste of time.", "negative"),
    ("I don't like the new pricing at all.", "negative"),
    ("The customer is angry about the delay.", "negative"),
    ("Sorry, the server crashed during the demo.", "negative"),
    ("It looked good at first, but it fails every time.", "negative"),
    ("We lost the contract because of the bugs.", "negative"),
    ("I'm worried we won't make the deadline.", "negative"),
    ("The meeting is at three o'clock on Tuesday.", "neutral"),
    ("Please send me the report by email.", "neutral"),
    ("We have four people on the team.", "neutral"),
    ("The office is on the second floor.", "neutral"),
    ("Let's review the budget next week.", "neutral"),
    ("I'll take the train to Paris tomorrow.", "neutral"),
    ("The file is in the shared folder.", "neutral"),
    ("She works in the marketing department.", "neutral"),
    ("We moved the call to Thursday.", "neutral"),
    ("The release notes list every change.", "neutral"),
]
MEETING = [
    "Hi Anna, this is Sasha Petrova from the budget team.",
    "The budget report for next year is almost ready.",
    "I love how clear the budget report looks now, great work.",
    "We still need the marketing numbers before Friday.",
    "Marketing promised them for Thursday morning.",
    "This delay is terrible and I hate waiting for the printer.",
    "The printer in the office has been broken for a week.",
    "Please call the printer company on Monday.",
    "They said a technician could come on Tuesday.",
    "Good, then we print the report on Wednesday.",
]
WORD = re.compile(r"[a-z']+")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu(call: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    started = time.process_time()
    value = None
    for _ in range(repeat):
        value = call()
    return (time.process_time() - started) / repeat, value


def audio_seconds(name: str) -> float:
    import soundfile

    info = soundfile.info(str(REAL / name))
    return float(info.frames / info.samplerate)


def utterances(texts: list[str], seconds_each: float = 4.0) -> list[dict[str, Any]]:
    out = []
    for index, text in enumerate(texts):
        start = index * seconds_each
        words = text.split()
        step = seconds_each * 0.8 / max(1, len(words))
        out.append(
            {
                "text": " " + text,
                "start": start,
                "end": start + seconds_each * 0.8,
                "confidence": 0.9,
                "channel": 0,
                "language": "en",
                "words": [
                    {"word": " " + w, "start": start + i * step, "end": start + (i + 1) * step,
                     "confidence": 0.9}
                    for i, w in enumerate(words)
                ],
            }
        )  # fmt: skip
    return out


def costs() -> None:
    from gladia_cli.server.addons import english, ner, sentiment, summary

    base_rss = rss_mb()
    load, _ = cpu(english.english)
    spacy_rss = rss_mb()
    print(f"English pipeline (spaCy en_core_web_sm): load {load:.2f} s CPU, "
          f"+{spacy_rss - base_rss:.0f} MB RSS")  # fmt: skip
    english_audio = sum(audio_seconds(name) for name, _ in ENGLISH)
    items = utterances([text for _, text in ENGLISH])
    rounds = 20

    def each(call: Callable[[dict[str, Any]], Any]) -> Callable[[], None]:
        def run() -> None:
            for item in items:
                english._loaded.last = None  # every utterance parsed, as in a session
                call(item)

        return run

    seconds, _ = cpu(each(ner.named_entities), rounds)
    print(f"named_entity_recognition: {seconds / english_audio * 60:.3f} s CPU per audio minute")
    before = rss_mb()
    seconds, _ = cpu(each(sentiment.sentiments), rounds)
    print(f"sentiment_analysis:       {seconds / english_audio * 60:.3f} s CPU per audio minute "
          f"(VADER +{rss_mb() - before:.0f} MB RSS)")  # fmt: skip
    # A 10-minute session: the utterances repeated, 4 s each.
    texts = [text for _, text in ENGLISH] + MEETING
    session = utterances([texts[i % len(texts)] for i in range(150)])
    before = rss_mb()
    for kind in summary.SUMMARY_TYPES:
        seconds, _ = cpu(lambda kind=kind: summary.summarize(session, kind))
        print(f"summarization ({kind}):{' ' * (13 - len(kind))}{seconds / 10:.3f} s CPU per "
              f"audio minute (10-minute session)")  # fmt: skip
    print(f"  (sumy +{rss_mb() - before:.0f} MB RSS)")
    seconds, _ = cpu(lambda: summary.chapters(session))
    print(
        f"chapterization:           {seconds / 10:.3f} s CPU per audio minute (10-minute session)"
    )
    translation_cost()


def translation_cost() -> None:
    import numpy as np
    import soundfile
    import soxr

    from gladia_cli.server.recognition.engines.whisper import WhisperEngine

    before = rss_mb()
    engine = WhisperEngine("base")
    try:
        total_cpu = total_audio = 0.0
        for name in ("fr_check-number-dial-again.wav", "fr_conf-placeintoconf.wav"):
            samples, rate = soundfile.read(str(REAL / name), dtype="float32")
            audio = soxr.resample(samples, rate, 16000).astype(np.float32)
            seconds, text = cpu(lambda audio=audio: engine.translate("bench", 0, audio, "fr"), 3)
            total_cpu += seconds
            total_audio += len(samples) / rate
            print(f"  {name}: {text!r}")
        print(f"translation (fr → en):    {total_cpu / total_audio * 60:.3f} s CPU per audio "
              f"minute (Whisper base; the model is the engine's: +{rss_mb() - before:.0f} MB "
              "RSS only when no whisper engine is loaded already)")  # fmt: skip
    finally:
        engine.close()


def _vector(text: str) -> Counter[str]:
    return Counter(WORD.findall(text.lower()))


def _cosine(a: Counter[str], b: Counter[str], idf: dict[str, float]) -> float:
    dot = sum(a[w] * b[w] * idf.get(w, 1.0) ** 2 for w in a)
    norm_a = math.sqrt(sum((v * idf.get(w, 1.0)) ** 2 for w, v in a.items()))
    norm_b = math.sqrt(sum((v * idf.get(w, 1.0)) ** 2 for w, v in b.items()))
    return dot / (norm_a * norm_b) if norm_a and norm_b else 0.0


def compare() -> None:
    from gladia_cli.server.addons import summary
    from gladia_cli.server.addons.sentiment import _analyzer, classify

    analyzer = _analyzer()
    candidates: list[tuple[str, Callable[[str], str]]] = [
        ("VADER", lambda text: classify(analyzer.polarity_scores(text)))
    ]
    try:
        from textblob import TextBlob

        def textblob(text: str) -> str:
            polarity = TextBlob(text).sentiment.polarity
            return "positive" if polarity > 0.05 else "negative" if polarity < -0.05 else "neutral"

        candidates.append(("TextBlob", textblob))
    except ImportError:
        print("TextBlob not installed: pip install textblob to compare it")
    for name, judge in candidates:
        seconds, labels = cpu(lambda judge=judge: [judge(t) for t, _ in LABELLED], 20)
        right = sum(got == want for got, (_, want) in zip(labels, LABELLED, strict=True))
        wrong = [t for got, (t, want) in zip(labels, LABELLED, strict=True) if got != want]
        per = seconds / len(LABELLED) * 1000
        print(f"sentiment {name:8}: {right}/{len(LABELLED)} right, {per:.2f} ms CPU per "
              f"sentence; wrong: {wrong}")  # fmt: skip

    documents = {
        "meeting (10 sentences)": MEETING,
        "real speech (7)": [text for _, text in ENGLISH],
        "all, mixed topics (47)": [text for _, text in ENGLISH]
        + MEETING
        + [t for t, _ in LABELLED],
    }
    rankers = [("LexRank", _sumy("lexrank")), ("TextRank (kept)", _sumy("textrank"))]
    for label, texts in documents.items():
        vectors = [_vector(t) for t in texts]
        frequency = Counter(w for v in vectors for w in v)
        idf = {w: math.log(len(texts) / df) + 1.0 for w, df in frequency.items()}
        whole = sum(vectors, Counter())
        size = summary.summary_size(len(texts), "bullet_points")
        for name, ranker in rankers:
            seconds, chosen = cpu(lambda ranker=ranker, texts=texts, size=size: ranker(texts, size))
            picked = [vectors[i] for i in chosen]
            coverage = _cosine(sum(picked, Counter()), whole, idf)
            pairs = [(a, b) for i, a in enumerate(picked) for b in picked[i + 1 :]]
            redundancy = sum(_cosine(a, b, idf) for a, b in pairs) / len(pairs) if pairs else 0.0
            print(f"summary {name:13} {label:24}: {size} sentences, coverage "
                  f"{coverage:.3f}, redundancy {redundancy:.3f}, "
                  f"{seconds * 1000:.1f} ms CPU")  # fmt: skip


def _sumy(algorithm: str) -> Callable[[list[str], int], list[int]]:
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    class Tokenizer:  # sumy's interface, without NLTK's data files
        language = "english"

        def to_words(self, text: str) -> list[str]:
            return WORD.findall(text.lower())

    def rank(texts: list[str], size: int) -> list[int]:
        sentences = [Sentence(text, Tokenizer()) for text in texts]
        document = ObjectDocumentModel([Paragraph(sentences)])
        summarizer: Any = (
            LexRankSummarizer(Stemmer("english"))
            if algorithm == "lexrank"
            else TextRankSummarizer()
        )
        summarizer.stop_words = get_stop_words("english")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sumy's LexRank divides by zero on short texts
            chosen = {id(s) for s in summarizer(document, size)}
        return [i for i, s in enumerate(sentences) if id(s) in chosen]

    return rank


def latency_run(with_addons: bool, seconds: float = 30.0) -> tuple[list[float], list[float]]:
    import threading

    import numpy as np
    import websocket

    from gladia_cli.server.config import ServerConfig
    from gladia_cli.server.runner import LocalServer

    rate, chunk = 16000, 3200
    pcm = np.zeros(int(seconds * rate), dtype=np.int16)
    t = np.arange(int(0.6 * rate)) / rate
    for start in np.arange(0.2, seconds - 1.0, 1.0):
        first = int(start * rate)
        pcm[first : first + len(t)] = (0.2 * 32767 * np.sin(2 * np.pi * 330 * t)).astype(np.int16)
    audio = pcm.tobytes()
    body: dict[str, Any] = {"messages_config": {"receive_partial_transcripts": False}}
    if with_addons:
        body |= {
            "realtime_processing": {
                "named_entity_recognition": True,
                "sentiment_analysis": True,
                "translation": True,
                "translation_config": {"target_languages": ["en"]},
            },
            "post_processing": {"summarization": True, "chapterization": True},
        }
    import requests

    with LocalServer(ServerConfig(port=0, engine="scripted")) as server:
        created = requests.post(
            f"{server.url}/v2/live", json=body, headers={"x-gladia-key": "k"}, timeout=10
        ).json()
        ws = websocket.create_connection(created["url"], timeout=30)
        sent: dict[int, float] = {}
        acks: list[float] = []
        finals: list[float] = []
        began = time.monotonic()

        def receive() -> None:
            while True:
                try:
                    message = json.loads(ws.recv())
                except (websocket.WebSocketException, OSError, ValueError):
                    return
                now = time.monotonic()
                if message["type"] == "audio_chunk" and message.get("acknowledged"):
                    end = message["data"]["byte_range"][1]
                    acks.append(now - sent[end])
                elif message["type"] == "transcript" and message["data"]["is_final"]:
                    finals.append(now - (began + message["data"]["utterance"]["end"]))

        reader = threading.Thread(target=receive, daemon=True)
        reader.start()
        for index in range(0, len(audio), chunk):
            due = began + index / (rate * 2)
            time.sleep(max(0.0, due - time.monotonic()))
            sent[min(len(audio), index + chunk)] = time.monotonic()
            ws.send_binary(audio[index : index + chunk])
        ws.send(json.dumps({"type": "stop_recording"}))
        reader.join(timeout=60)
        ws.close()
    return acks, finals


def latency() -> None:
    import numpy as np

    for with_addons in (False, True):
        acks, finals = latency_run(with_addons)
        a = np.array(acks) * 1000
        f = np.array(finals) * 1000
        label = "entities, sentiment, translation, summary, chapters" if with_addons else "none"
        print(f"add-ons {label}: ack p50 {np.percentile(a, 50):.1f} ms, p99 "
              f"{np.percentile(a, 99):.1f} ms, max {a.max():.1f} ms ({len(a)} acks); final after "
              f"end of audio p50 {np.percentile(f, 50):.0f} ms, max {f.max():.0f} ms "
              f"({len(f)} finals)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--compare", action="store_true", help="measure the candidates")
    parser.add_argument("--latency", action="store_true", help="acks and finals, add-ons on/off")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    if args.compare:
        compare()
    elif args.latency:
        latency()
    else:
        costs()
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
