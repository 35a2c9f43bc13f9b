"""What a streaming command's options decided, as the stream job takes it (jobs/streaming.py;
cli/streaming.py makes it)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gladia_cli.audio.source import AudioSource
from gladia_cli.environment import Environment
from gladia_cli.jobs.server import ServerFor
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.render.captions import CaptionLimits
from gladia_cli.render.notices import Notices
from gladia_cli.render.screen import Screen
from gladia_cli.render.web import WebOptions
from gladia_cli.settings import Settings

# The wire format and the complete init body for an opened source (UsageError when the
# options make an invalid body): the command's options decide them (cli/streaming.py).
RequestFor = Callable[[AudioSource], tuple[AudioFormat, dict[str, Any]]]


@dataclass(frozen=True)
class StreamPlan:
    """What the options decided for a streaming job, checked; the source comes after."""

    env: Environment
    settings: Settings
    request: RequestFor
    fmt: str  # the output format
    events: frozenset[str] | None  # asked for with --events (None: all; empty: none given)
    screen: Screen
    notices: Notices
    output: Path | None = None  # -o (None or -: stdout)
    record: Path | None = None  # --record
    save_audio: Path | None = None  # --save-audio
    label: str | None = None  # --label: the channels' names, or the speakers'
    captions: CaptionLimits = field(default_factory=CaptionLimits)
    quiet: bool = False
    dry_run: bool = False  # --dry-run: the body on stdout, no session
    show_body: bool = False  # --show-body: the body on stderr too
    chunk_ms: int = 100
    use_base64: bool = False
    stop_timeout: float = 120.0
    resend_buffer: float = 300.0  # seconds of unacknowledged audio kept in memory
    dead_after: float = 10.0
    speakers: bool = False  # --speakers (live, file): jobs/speakers.py after the session
    web: WebOptions | None = None  # --web: the caption page
    # The server for the job's duration (cli/local_server.py: --local's embedded one).
    server_for: ServerFor = contextlib.nullcontext
