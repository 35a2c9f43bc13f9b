"""`--format json`: the session's final result, as `GET /v2/live/{id}` returns it."""

from __future__ import annotations

import json

from gladia_cli.protocol.messages import ServerMessage
from gladia_cli.render.base import SessionOutcome, StatusView
from gladia_cli.render.output import Output


class JsonResultRenderer:
    needs_result = True

    def __init__(self, output: Output) -> None:
        self._output = output

    def start(self, session_id: str) -> None:
        pass

    def message(self, message: ServerMessage) -> None:
        pass

    def status(self, view: StatusView) -> None:
        pass

    def finish(self, outcome: SessionOutcome) -> None:
        if outcome.result is not None:
            self._output.line(json.dumps(outcome.result, indent=2, ensure_ascii=False))

    def close(self) -> None:
        self._output.close()
