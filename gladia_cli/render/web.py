"""`--web`: the session on a caption page as well as in the chosen format.

`WebRenderer` wraps the format's renderer (the table, jsonl…) and hands every message to the
caption server too (caption_server.py), which streams it to the page. The server starts
before the session is created, so that its address is printed first and a page already
open (an OBS browser source) is connected when the first words come; it stops when the
renderer closes, after the viewers received the last captions.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gladia_cli.protocol.messages import ServerMessage
from gladia_cli.render.base import Labels, Renderer, SessionOutcome, StatusView
from gladia_cli.render.notices import Notices

if TYPE_CHECKING:  # http.server is imported only when a page is served
    from gladia_cli.render.caption_server import CaptionServer


@dataclass(frozen=True)
class WebOptions:
    """Where the caption page is served: loopback only, unless `host` is given; then every
    request needs `token` (a random one when None)."""

    host: str | None = None
    port: int = 0
    token: str | None = None


def start_caption_server(web: WebOptions, notices: Notices) -> CaptionServer:
    """Listen, and print the page's address (even with --quiet: it is what --web is for)."""
    from gladia_cli.render.caption_events import CaptionEvents
    from gladia_cli.render.caption_server import LOOPBACK, CaptionServer

    token = None
    if web.host is not None:
        token = web.token or secrets.token_urlsafe(18)

    def viewer(count: int) -> None:
        notices.info(f"caption page: a viewer connected ({count} watching)")

    server = CaptionServer(
        CaptionEvents(secrets.token_hex(4)),
        host=web.host if web.host is not None else LOOPBACK,
        port=web.port,
        token=token,
        on_viewer=viewer,
    )
    notices.always(f"caption page: {server.url}")
    return server


class WebRenderer:
    """`inner`, with every message on the caption page too."""

    def __init__(self, inner: Renderer, server: CaptionServer, labels: Labels) -> None:
        self._inner = inner
        self._server = server
        self._labels = labels
        self._started = False
        self._ended = False
        self._closed = False
        self.needs_result = inner.needs_result

    def _session(self, session_id: str) -> None:
        if self._started:
            return
        self._started = True
        labels = self._labels
        names = [labels(channel) for channel in range(labels.channels)]
        self._server.update(
            lambda events: events.session(session_id, names, labels.channels, labels.shown)
        )

    def start(self, session_id: str) -> None:
        self._session(session_id)
        self._inner.start(session_id)

    def message(self, message: ServerMessage) -> None:
        self._session(message.session_id or "")  # a replay at once has no start
        self._server.update(lambda events: events.message(message))
        self._inner.message(message)

    def status(self, view: StatusView) -> None:
        self._inner.status(view)

    def finish(self, outcome: SessionOutcome) -> None:
        self._end(outcome.status.state)
        self._inner.finish(outcome)

    def _end(self, state: str) -> None:
        if self._started and not self._ended:
            self._ended = True
            self._server.update(lambda events: events.end(state))

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            if not self._closed:
                self._closed = True
                self._end("aborted")
                self._server.close()
