"""`--format srt` and `--format vtt`: subtitles of the final utterances, written at the end
(cues must be numbered and ordered, which only the whole session allows)."""

from __future__ import annotations

from gladia_cli.protocol.messages import ServerMessage, Utterance
from gladia_cli.render.base import Labels, OutputRenderer, SessionOutcome, TranscriptBook
from gladia_cli.render.output import Output


def _timestamp(seconds: float, decimal: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _cue_end(utterance: Utterance) -> float:
    # A zero-length cue is invisible in most players.
    return max(utterance.end, utterance.start + 0.2)


def to_srt(utterances: list[Utterance], labels: Labels) -> str:
    cues = []
    for index, u in enumerate(utterances, 1):
        text = f"[{labels(u.channel)}] {u.text}" if labels.shown else u.text
        cues.append(
            f"{index}\n{_timestamp(u.start, ',')} --> {_timestamp(_cue_end(u), ',')}\n{text}\n"
        )
    return "\n".join(cues)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(utterances: list[Utterance], labels: Labels) -> str:
    cues = ["WEBVTT\n"]
    for u in utterances:
        text = _vtt_escape(u.text)
        if labels.shown:
            text = f"<v {_vtt_escape(labels(u.channel))}>{text}"
        cues.append(f"{_timestamp(u.start, '.')} --> {_timestamp(_cue_end(u), '.')}\n{text}\n")
    return "\n".join(cues)


class SubtitleRenderer(OutputRenderer):
    def __init__(self, output: Output, labels: Labels, kind: str) -> None:
        super().__init__(output)
        self._book = TranscriptBook()
        self._labels = labels
        self._convert = to_srt if kind == "srt" else to_vtt

    def message(self, message: ServerMessage) -> None:
        self._book.apply(message)

    def finish(self, outcome: SessionOutcome) -> None:
        self._output.write(self._convert(self._book.finals(), self._labels))
