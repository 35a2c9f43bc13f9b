"""A renderer whose status is also handed on: a run over many inputs shows each input's
status in its own view (render/batch_view.py) while the input's renderer writes its output."""

from __future__ import annotations

from collections.abc import Callable

from gladia_cli.render.base import Renderer, RendererWrapper, StatusView


class StatusTap(RendererWrapper):
    """`inner`, whose status is also handed to `on_status` (the many-inputs view)."""

    def __init__(self, inner: Renderer, on_status: Callable[[StatusView], None]) -> None:
        super().__init__(inner)
        self._on_status = on_status

    def status(self, view: StatusView) -> None:
        self._inner.status(view)
        self._on_status(view)
