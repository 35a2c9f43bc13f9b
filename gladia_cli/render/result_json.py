"""`--format json`: the session's final result, as `GET /v2/live/{id}` returns it."""

from __future__ import annotations

import json

from gladia_cli.render.base import OutputRenderer, SessionOutcome


class JsonResultRenderer(OutputRenderer):
    needs_result = True

    def finish(self, outcome: SessionOutcome) -> None:
        if outcome.result is not None:
            self._output.line(json.dumps(outcome.result, indent=2, ensure_ascii=False))
