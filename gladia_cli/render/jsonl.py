"""`--format jsonl`: every server message verbatim, one per line, flushed (the pipe default)."""

from __future__ import annotations

import json

from gladia_cli.protocol.messages import ServerMessage
from gladia_cli.render.base import OutputRenderer
from gladia_cli.render.output import Output


class JsonlRenderer(OutputRenderer):
    def __init__(self, output: Output, events: frozenset[str] | None) -> None:
        super().__init__(output)
        self._events = events  # None: every type

    def message(self, message: ServerMessage) -> None:
        if self._events is not None and message.type not in self._events:
            return
        text = message.text
        if "\n" in text or "\r" in text:
            # One object per line is the contract; re-serialise a pretty-printed frame.
            text = json.dumps(message.raw, ensure_ascii=False, separators=(",", ":"))
        self._output.line(text)
