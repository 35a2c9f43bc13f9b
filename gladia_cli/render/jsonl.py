"""`--format jsonl`: every server message verbatim, one per line, flushed (the pipe default).

By default (`DEFAULT_EVENTS`: all but acknowledgments) a message of a type the client does
not know is written too, as it came: Gladia adds message types (speech_turn_end,
answering_machine) before clients learn them. `--events` names exactly what is written."""

from __future__ import annotations

import json

from gladia_cli.protocol.messages import SERVER_MESSAGE_TYPES, ServerMessage
from gladia_cli.render.base import OutputRenderer
from gladia_cli.render.output import Output


class JsonlRenderer(OutputRenderer):
    def __init__(
        self, output: Output, events: frozenset[str] | None, *, unknown: bool = True
    ) -> None:
        super().__init__(output)
        self._events = events  # None: every type
        self._unknown = unknown  # types the client does not know pass through `events`

    def message(self, message: ServerMessage) -> None:
        passes = self._unknown and message.type not in SERVER_MESSAGE_TYPES
        if self._events is not None and message.type not in self._events and not passes:
            return
        text = message.text
        if "\n" in text or "\r" in text:
            # One object per line is the contract; re-serialise a pretty-printed frame.
            text = json.dumps(message.raw, ensure_ascii=False, separators=(",", ":"))
        self._output.line(text)
