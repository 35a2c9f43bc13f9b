"""`--format text`: one line per final utterance, `[label] text`, as each one ends.

Lines are written as the utterances end, so with several channels a short reply on one
channel can come before the end of a longer turn that started earlier on another: the
order of a live transcript. (srt, vtt, json and the table's final transcript, written at
the end, are in start-time order.) Add-on results follow the transcript as sections.

With `--translate`, each translation is written as it comes, indented under its original
and naming its language (and its speaker: another line may have come in between):

    [host] Good morning, everyone.
      [host] (fr) Bonjour à tous.
"""

from __future__ import annotations

from gladia_cli.protocol.messages import AnsweringMachine, ServerMessage, Transcript, Translation
from gladia_cli.render.addons import AddonBook, text_sections
from gladia_cli.render.base import (
    TURN_MARK,
    Labels,
    OutputRenderer,
    SessionOutcome,
    TurnMarks,
    verdict_text,
)
from gladia_cli.render.output import Output
from gladia_cli.safe_text import plain


class TextRenderer(OutputRenderer):
    def __init__(self, output: Output, labels: Labels) -> None:
        super().__init__(output)
        self._labels = labels
        self._addons = AddonBook()
        self._marks = TurnMarks()

    def _line(self, channel: int, text: str, indent: str = "") -> None:
        if self._labels.shown:
            text = f"[{self._labels(channel)}] {text}"
        self._output.line(indent + text)

    def message(self, message: ServerMessage) -> None:
        self._addons.apply(message)
        ended = self._marks.apply(message)
        if isinstance(message, Transcript) and message.is_final:
            text = plain(message.utterance.text).strip()
            if text:
                self._line(message.utterance.channel, text)
        elif isinstance(message, Translation) and message.raw.get("error") is None:
            text = plain(message.translated.text).strip()
            if text:
                language = plain(message.target_language).strip()
                self._line(message.translated.channel, f"({language}) {text}", indent="  ")
        elif isinstance(message, AnsweringMachine):
            self._line(message.channel, f"-- {verdict_text(message)} --")
        for channel in ended:
            self._line(channel, f"{TURN_MARK} end of turn")

    def finish(self, outcome: SessionOutcome) -> None:
        for channel in self._marks.left():
            self._line(channel, f"{TURN_MARK} end of turn")
        for line in text_sections(self._addons, self._labels):
            self._output.line(line)
