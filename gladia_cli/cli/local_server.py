"""`--local`: the one place that decides whether an embedded server runs, and what its log
does. The jobs (jobs/stream_job.py, jobs/prerecorded.py) only talk to the server the
settings name.

The embedded server's log is not the user's output. Without --debug its warnings (and
aiohttp's: an error in a request handler is logged with a traceback otherwise) become
one-line notices, once each, without tracebacks — or nothing, for a command whose job
reports the server's failures itself; with --debug its whole log goes to stderr,
tracebacks included.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace

from gladia_cli.settings import LOCAL_API_KEY, Settings

SERVER_LOGGERS = ("gladia.server", "aiohttp")

Warn = Callable[[str], None]


@contextlib.contextmanager
def embedded_server(settings: Settings, *, warn: Warn | None, debug: bool) -> Iterator[Settings]:
    """With `--local`, an embedded server while in the block (the settings returned point
    at it); else the settings as they are. `warn`: where its warnings go (None: nowhere)."""
    if not settings.local:
        yield settings
        return
    from gladia_cli.server.config import ServerConfig
    from gladia_cli.server.runner import LocalServer

    config = ServerConfig(port=0, engine=settings.local_engine, model=settings.local_model)
    with server_log(warn, debug=debug), LocalServer(config) as server:
        yield replace(settings, api_url=server.url, api_key=settings.api_key or LOCAL_API_KEY)


@contextlib.contextmanager
def server_log(warn: Warn | None, *, debug: bool) -> Iterator[None]:
    """The embedded server's log, while in the block: with `debug` all of it on stderr;
    else its warnings to `warn` (`local server: …`, each text once), or nowhere."""
    handler: logging.Handler
    if debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("gladia: server: %(levelname)s %(message)s"))
        loggers = [logging.getLogger("gladia.server")]
        levels = [logging.DEBUG]
    else:
        handler = _ToWarnings(warn) if warn is not None else logging.NullHandler()
        loggers = [logging.getLogger(name) for name in SERVER_LOGGERS]
        levels = [logger.level for logger in loggers]
    previous = [(logger.propagate, logger.level) for logger in loggers]
    for logger, level in zip(loggers, levels, strict=True):
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(level)
    try:
        yield
    finally:
        for logger, (propagate, level) in zip(loggers, previous, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)


class _ToWarnings(logging.Handler):
    """Warnings and worse as `local server: …` warnings, each text once."""

    def __init__(self, warn: Warn) -> None:
        super().__init__(level=logging.WARNING)
        self._warn = warn
        self._seen: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text not in self._seen:
            self._seen.add(text)
            self._warn(f"local server: {text}")
