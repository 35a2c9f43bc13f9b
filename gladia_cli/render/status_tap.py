"""A renderer whose status is also handed on: a run over many inputs shows each input's
status in its own view (render/batch_view.py) while the input's renderer writes its output."""

from __future__ import annotations

from collections.abc import Callable

from gladia_cli.protocol.messages import ServerMessage
from gladia_cli.render.base import Renderer, SessionOutcome, StatusView


class StatusTap:
    """`inner`, whose status is also handed to `on_status` (the many-inputs view)."""

    def __init__(self, inner: Renderer, on_status: Callable[[StatusView], None]) -> None:
        self._inner = inner
        self._on_status = on_status
        self.needs_result = inner.needs_result

    def start(self, session_id: str) -> None:
        self._inner.start(session_id)

    def message(self, message: ServerMessage) -> None:
        self._inner.message(message)

    def status(self, view: StatusView) -> None:
        self._inner.status(view)
        self._on_status(view)

    def finish(self, outcome: SessionOutcome) -> None:
        self._inner.finish(outcome)

    def close(self) -> None:
        self._inner.close()
