"""`--format srt` and `--format vtt`: subtitles of the final utterances, written at the end
(cues must be numbered and ordered, which only the whole session allows).

Each utterance becomes as many cues as it needs to fit the limits (render/captions.py:
`--max-line-chars`, `--max-cue-seconds`), each with the utterance's label."""

from __future__ import annotations

from gladia_cli.protocol.messages import ServerMessage, Utterance
from gladia_cli.protocol.timestamps import cue_timestamp
from gladia_cli.render.base import Labels, OutputRenderer, SessionOutcome, TranscriptBook
from gladia_cli.render.captions import CaptionLimits, Cue, layout
from gladia_cli.render.output import Output


def _srt_prefix(labels: Labels, channel: int) -> str:
    return f"[{labels(channel)}] " if labels.shown else ""


def cues_of(
    utterances: list[Utterance], labels: Labels, limits: CaptionLimits, *, label_in_text: bool
) -> list[Cue]:
    """Every utterance's cues, in time order."""
    cues = [
        cue
        for u in utterances
        for cue in layout(
            u, limits, reserve=len(_srt_prefix(labels, u.channel)) if label_in_text else 0
        )
    ]
    return sorted(cues, key=lambda c: (c.start, c.channel))


def to_srt(utterances: list[Utterance], labels: Labels, limits: CaptionLimits | None = None) -> str:
    out = []
    cues = cues_of(utterances, labels, limits or CaptionLimits(), label_in_text=True)
    for index, cue in enumerate(cues, 1):
        text = _srt_prefix(labels, cue.channel) + "\n".join(cue.lines)
        out.append(
            f"{index}\n{cue_timestamp(cue.start, ',')} --> {cue_timestamp(cue.end, ',')}\n{text}\n"
        )
    return "\n".join(out)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(utterances: list[Utterance], labels: Labels, limits: CaptionLimits | None = None) -> str:
    out = ["WEBVTT\n"]
    for cue in cues_of(utterances, labels, limits or CaptionLimits(), label_in_text=False):
        text = "\n".join(_vtt_escape(line) for line in cue.lines)
        if labels.shown:
            text = f"<v {_vtt_escape(labels(cue.channel))}>{text}"
        out.append(f"{cue_timestamp(cue.start, '.')} --> {cue_timestamp(cue.end, '.')}\n{text}\n")
    return "\n".join(out)


class SubtitleRenderer(OutputRenderer):
    def __init__(
        self, output: Output, labels: Labels, kind: str, limits: CaptionLimits | None = None
    ) -> None:
        super().__init__(output)
        self._book = TranscriptBook()
        self._labels = labels
        self._limits = limits or CaptionLimits()
        self._convert = to_srt if kind == "srt" else to_vtt

    def message(self, message: ServerMessage) -> None:
        self._book.apply(message)

    def finish(self, outcome: SessionOutcome) -> None:
        self._output.write(self._convert(self._book.finals(), self._labels, self._limits))
