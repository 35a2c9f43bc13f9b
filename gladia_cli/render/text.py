"""`--format text`: one line per final utterance, `[label] text`, as they come."""

from __future__ import annotations

from gladia_cli.protocol.messages import ServerMessage, Transcript
from gladia_cli.render.base import Labels, OutputRenderer
from gladia_cli.render.output import Output
from gladia_cli.safe_text import plain


class TextRenderer(OutputRenderer):
    def __init__(self, output: Output, labels: Labels) -> None:
        super().__init__(output)
        self._labels = labels

    def message(self, message: ServerMessage) -> None:
        if isinstance(message, Transcript) and message.is_final:
            text = plain(message.utterance.text).strip()
            if not text:
                return
            if self._labels.shown:
                text = f"[{self._labels(message.utterance.channel)}] {text}"
            self._output.line(text)
