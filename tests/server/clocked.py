"""A local server whose session timers run on a `ManualClock` the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gladia_cli.server.clock import ManualClock
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.runner import LocalServer


@contextmanager
def clocked_server(**config: Any) -> Iterator[tuple[LocalServer, ManualClock]]:
    clock = ManualClock()
    settings = {"port": 0, "engine": "scripted", **config}
    with LocalServer(ServerConfig(**settings), clock=clock) as server:
        yield server, clock
