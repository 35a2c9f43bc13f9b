"""The figures of one scene run, from the CLI's jsonl as it arrived: pure, no I/O, no clock.

`engines.py --scenes` reads `gladia … -f jsonl --events all` line by line and stamps each
line with its arrival time; these functions turn that into latencies, per-channel
transcripts, word error rates and a comparison of two runs' transcripts. Tested in
tests/unit/test_scene_figures.py.

**Final latency** (the recipe of testing-recipes.md, "A meeting from real voices"): the
arrival of a final minus the arrival of the first acknowledgment whose `time_range` end
reaches the utterance's `end`, i.e. from the moment the server confirmed it had the
utterance's last audio. Chosen because it needs no guess of when the client sent what,
works the same at any pace and for `gladia serve` and `--local` alike, and measures what
the pipeline adds. Its blind spot: a server that stops reading its socket also delays
that acknowledgment, and the delay disappears from the figure. So a second figure is
kept for real-time runs, **on the speech clock**: the final's arrival minus the moment
the utterance's end was spoken, `t0 + end`, where `t0` (the stream's start on the
arrival clock) is the smallest `arrival − time_range end` over all acknowledgments: at
the pace of speech a chunk cannot be acknowledged before its audio was spoken. That one
is what a person watching captions sees; the two agree when the server keeps up.

Finals of utterances cut at the maximum duration are not ends of speech (the engine
decides a cut up to 1.5 s after the point it chooses): they are counted apart, and so is
the first partial of the utterance that follows a cut (it starts at the cut). A final is
a cut when another final of its channel starts where it ends.

**First partial**: the arrival of an utterance's first partial minus the arrival of the
first acknowledgment reaching the utterance's `start` (same clock as the finals).
"""

from __future__ import annotations

import bisect
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.wer import edit_distance, normalise

# Audio times are decimals of seconds in the messages; two equal times may differ by float
# noise once computed, so they are compared rounded to the millisecond.
TIME_DECIMALS = 3

Message = dict[str, Any]
Normaliser = Callable[[str, str], list[str]]  # (text, language) → words


@dataclass(frozen=True)
class Arrival:
    at: float  # seconds on the reader's monotonic clock
    message: Message


def parse_lines(lines: Iterable[tuple[float, str]]) -> list[Arrival]:
    """(arrival time, line) pairs → the JSON messages among them (other lines skipped)."""
    arrivals = []
    for at, line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and isinstance(message.get("type"), str):
            arrivals.append(Arrival(at, message))
    return arrivals


@dataclass(frozen=True)
class Final:
    at: float
    id: str
    channel: int
    start: float
    end: float
    text: str


def finals(arrivals: Sequence[Arrival]) -> list[Final]:
    """Every final transcript, in arrival order (each id once: the first arrival)."""
    out, seen = [], set()
    for arrival in arrivals:
        message = arrival.message
        if message["type"] != "transcript" or not message["data"].get("is_final"):
            continue
        data = message["data"]
        if data["id"] in seen:
            continue
        seen.add(data["id"])
        u = data["utterance"]
        out.append(
            Final(arrival.at, data["id"], int(u["channel"]), u["start"], u["end"], u["text"])
        )
    return out


class Acknowledgments:
    """When the server confirmed having the audio up to each point of the stream."""

    def __init__(self, arrivals: Sequence[Arrival]) -> None:
        self.ends: list[float] = []  # non-decreasing: a later ack never covers less
        self.times: list[float] = []
        self.stream_start: float | None = None
        for arrival in arrivals:
            message = arrival.message
            if message["type"] != "audio_chunk" or not message.get("acknowledged"):
                continue
            end = float(message["data"]["time_range"][1])
            start = arrival.at - end
            if self.stream_start is None or start < self.stream_start:
                self.stream_start = start
            if not self.ends or end > self.ends[-1]:
                self.ends.append(end)
                self.times.append(arrival.at)

    def reaching(self, audio_time: float) -> float | None:
        """The arrival of the first acknowledgment whose end reaches `audio_time`."""
        index = bisect.bisect_left(self.ends, round(audio_time, TIME_DECIMALS) - 1e-9)
        return self.times[index] if index < len(self.times) else None


@dataclass
class Latencies:
    """Delays in seconds, each paired with the utterance's end (for the minute windows)."""

    finals: list[tuple[float, float]] = field(default_factory=list)  # (end, delay)
    speech_clock: list[tuple[float, float]] = field(default_factory=list)
    after_cut: list[float] = field(default_factory=list)
    first_partials: list[float] = field(default_factory=list)
    unmatched: int = 0  # finals with no acknowledgment reaching their end

    def final_delays(self, since: float = 0.0, until: float = float("inf")) -> list[float]:
        """Delays of the finals whose utterance ended within [since, until) audio seconds."""
        return [delay for end, delay in self.finals if since <= end < until]


def latencies(arrivals: Sequence[Arrival]) -> Latencies:
    acks = Acknowledgments(arrivals)
    all_finals = finals(arrivals)
    starts = {(f.channel, round(f.start, TIME_DECIMALS)) for f in all_finals}
    ends = {(f.channel, round(f.end, TIME_DECIMALS)) for f in all_finals}
    first_partial: dict[str, float] = {}
    for arrival in arrivals:
        message = arrival.message
        if message["type"] == "transcript" and not message["data"].get("is_final"):
            first_partial.setdefault(message["data"]["id"], arrival.at)
    out = Latencies()
    for final in all_finals:
        reached = acks.reaching(final.end)
        if reached is None:
            out.unmatched += 1
        elif (final.channel, round(final.end, TIME_DECIMALS)) in starts:
            out.after_cut.append(final.at - reached)
        else:
            out.finals.append((final.end, final.at - reached))
            if acks.stream_start is not None:
                spoken = acks.stream_start + final.end
                out.speech_clock.append((final.end, final.at - spoken))
        partial_at = first_partial.get(final.id)
        follows_cut = (final.channel, round(final.start, TIME_DECIMALS)) in ends
        started = acks.reaching(final.start)
        if partial_at is not None and started is not None and not follows_cut:
            out.first_partials.append(partial_at - started)
    return out


def channel_texts(all_finals: Sequence[Final]) -> dict[int, str]:
    """Each channel's transcript: its finals' texts in audio order."""
    texts: dict[int, list[str]] = {}
    for final in sorted(all_finals, key=lambda f: (f.channel, f.start, f.end)):
        texts.setdefault(final.channel, []).append(final.text.strip())
    return {channel: " ".join(parts) for channel, parts in texts.items()}


@dataclass(frozen=True)
class ErrorCount:
    errors: int
    words: int  # in the reference

    @property
    def rate(self) -> float:
        return self.errors / max(1, self.words)


def word_errors(
    references: Mapping[int, tuple[str, str]],  # channel → (language, text)
    hypotheses: Mapping[int, str],
    normaliser: Normaliser,
) -> dict[int, ErrorCount]:
    """Per channel: word edits from the reference to what was heard, after `normaliser`
    on both sides. A channel with no transcript counts every reference word missing."""
    out = {}
    for channel, (language, reference) in references.items():
        ref = normaliser(reference, language)
        hyp = normaliser(hypotheses.get(channel, ""), language)
        out[channel] = ErrorCount(edit_distance(ref, hyp), len(ref))
    return out


def total(counts: Iterable[ErrorCount]) -> ErrorCount:
    counts = list(counts)
    return ErrorCount(sum(c.errors for c in counts), sum(c.words for c in counts))


@cache
def _gladia_pipeline(language: str) -> Any:
    from normalization import load_pipeline

    return load_pipeline("gladia-3", language=language)


def gladia_words(text: str, language: str) -> list[str]:
    """Gladia's own normaliser (gladia-normalization, preset gladia-3), made for fair WER
    comparison: contractions expanded, numbers as digits, diacritics and fillers removed."""
    normalised: str = _gladia_pipeline(language).normalize(text)
    return normalised.split()


def project_words(text: str, language: str) -> list[str]:
    """tests/wer.py's normaliser (the language is not used): digits spelled out, accents kept."""
    return normalise(text)


def transcript_difference(a: Mapping[int, str], b: Mapping[int, str]) -> int:
    """Words that differ between two runs' transcripts (edit distance over all channels,
    Gladia-normalised as English: only equality matters here)."""
    return sum(
        edit_distance(gladia_words(a.get(c, ""), "en"), gladia_words(b.get(c, ""), "en"))
        for c in sorted(set(a) | set(b))
    )
