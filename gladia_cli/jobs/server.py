"""Which server a job talks to is not the job's decision: the command hands it in."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from gladia_cli.settings import Settings

# The server for a job's duration, given its settings (its settings returned): the
# settings' own by default (contextlib.nullcontext); `--local`'s embedded one
# (cli/local_server.embedded_server).
ServerFor = Callable[[Settings], AbstractContextManager[Settings]]
