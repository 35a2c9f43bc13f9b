"""`--local`: the embedded server's log, decided in cli/local_server.py only: its warnings as
notices (once each) or nowhere, everything on stderr with --debug, and the loggers as they
were after."""

from __future__ import annotations

import io
import logging

import pytest

from gladia_cli.cli.local_server import embedded_server, server_log
from gladia_cli.environment import Environment
from gladia_cli.render.notices import Notices
from gladia_cli.render.screen import Screen
from gladia_cli.settings import Settings


def _notices() -> tuple[Notices, io.StringIO]:
    stderr = io.StringIO()
    env = Environment(stdout=io.StringIO(), stderr=stderr, stderr_isatty=False)
    return Notices(Screen(env), quiet=False), stderr


def test_without_debug_warnings_become_notices_once_each() -> None:
    notices, stderr = _notices()
    server, web = logging.getLogger("gladia.server"), logging.getLogger("aiohttp")
    before = (server.handlers[:], server.propagate, web.handlers[:], web.propagate)
    with server_log(notices.warning, debug=False):
        server.warning("engine %s is slow", "scripted")
        server.warning("engine %s is slow", "scripted")
        server.info("a session opened")
        web.error("Error handling request")
    assert stderr.getvalue().splitlines() == [
        "gladia: warning: local server: engine scripted is slow",
        "gladia: warning: local server: Error handling request",
    ]
    assert (server.handlers, server.propagate, web.handlers, web.propagate) == before


def test_with_debug_the_whole_log_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    notices, stderr = _notices()
    server = logging.getLogger("gladia.server")
    level = server.level
    with server_log(notices.warning, debug=True):
        server.debug("frame %d", 7)
        server.warning("slow")
    assert capsys.readouterr().err.splitlines() == [
        "gladia: server: DEBUG frame 7",
        "gladia: server: WARNING slow",
    ]
    assert stderr.getvalue() == ""
    assert server.level == level and server.propagate


def test_without_debug_or_warn_the_log_goes_nowhere(capsys: pytest.CaptureFixture[str]) -> None:
    server, web = logging.getLogger("gladia.server"), logging.getLogger("aiohttp")
    with server_log(None, debug=False):
        server.error("pre-recorded job %s: error %d", "j1", 500)
        web.error("Error handling request")
    assert capsys.readouterr().err == ""
    assert server.propagate and web.propagate and not server.handlers


def test_without_local_no_server_starts() -> None:
    notices, _ = _notices()
    settings = Settings(api_key="k", api_url="https://api.gladia.io")
    with embedded_server(settings, warn=notices.warning, debug=False) as used:
        assert used is settings
