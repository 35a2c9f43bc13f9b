"""`gladia replay FILE.jsonl`: a session recorded with `--record`, rendered again in any
format (the live table included), at the pace it was received or faster, with no server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gladia_cli.cli import choices
from gladia_cli.cli.choices import OutputFormat
from gladia_cli.cli.options import (
    EVENTS_HELP,
    Debug,
    MaxCueSeconds,
    MaxLineChars,
    Web,
    WebHost,
    WebPort,
    events_option,
    format_option,
    label_option,
    output_option,
    with_options,
)
from gladia_cli.cli.panels import OUTPUT
from gladia_cli.environment import Environment

EXAMPLES = """\
Examples:

  gladia file talk.wav --record talk.jsonl     record while transcribing
  gladia replay talk.jsonl                     the live table again, as it came
  gladia replay talk.jsonl --speed max -o talk.srt
  gladia replay talk.jsonl --speed 4x -f text --label host,guest
  gladia replay talk.jsonl --web               a caption page, no server, no key
"""


def parse_speed(text: str) -> float | None:
    """`1` / `realtime` → 1.0, `4x` / `4` → 4.0, `max` → None (no waiting)."""
    from gladia_cli.audio.pacing import parse_pace

    return parse_pace(
        text, option="--speed", hint="use 1 (as recorded), max, or a speed such as 4x"
    )


def _speed(value: str) -> str:
    parse_speed(value)
    return value


@with_options
def replay_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A recording made with --record.", show_default=False, metavar="FILE.jsonl"
        ),
    ],
    speed: Annotated[
        str,
        typer.Option(
            "--speed",
            help="1 (as recorded), max (at once), or a speed such as 4x.",
            metavar="SPEED",
            callback=_speed,
            rich_help_panel=OUTPUT,
        ),
    ] = "1",
    format: Annotated[
        OutputFormat | None,
        format_option(
            "Default: the extension of -o, else table on a terminal and jsonl otherwise "
            "(json needs the session's result: gladia sessions get ID)."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        output_option("Write to this file; .srt .vtt .txt .jsonl .tsv pick the format."),
    ] = None,
    label: Annotated[
        str | None,
        label_option("Channel names, one per channel (default: those of the recorded run)."),
    ] = None,
    events: Annotated[
        list[str] | None, events_option(EVENTS_HELP, autocompletion=choices.event_types)
    ] = None,
    max_line_chars: MaxLineChars = 42,
    max_cue_seconds: MaxCueSeconds = 7.0,
    web: Web = False,
    web_host: WebHost = None,
    web_port: WebPort = 0,
    debug: Debug = False,
    *,
    env: Environment,
) -> None:
    """Render a session recorded with --record again, in any format, with no server."""
    from gladia_cli.cli.web_captions import web_options
    from gladia_cli.errors import UsageError
    from gladia_cli.jobs.streaming import with_web
    from gladia_cli.recording import read_recording
    from gladia_cli.render import DEFAULT_EVENTS, choose_format, create_renderer, parse_events
    from gladia_cli.render.captions import CaptionLimits
    from gladia_cli.render.notices import Notices
    from gladia_cli.render.output import check_output_path
    from gladia_cli.render.playback import play
    from gladia_cli.render.screen import Screen
    from gladia_cli.render.stored import labels_of

    pace = parse_speed(speed)
    check_output_path(output)
    fmt = choose_format(
        format.value if format else None,
        output_path=output,
        stdout_is_terminal=bool(env.stdout_isatty),
    )
    if fmt == "json":
        raise UsageError(
            "a recording holds the session's messages, not its result (--format json)",
            hint="gladia sessions get ID --format json shows the result the server keeps",
        )
    page = web_options(web, web_host, web_port, env.environ)
    if page is not None and pace is None:
        raise UsageError(
            "--web shows the session as it is replayed; --speed max would end it at once",
            hint="use --speed 1 (as recorded) or a speed such as 4x",
        )
    shown = parse_events(events or [])
    if events and fmt != "jsonl":
        raise UsageError(
            f"--events chooses the messages jsonl writes; the format here is {fmt}",
            hint="add --format jsonl, or drop --events",
        )
    recording = read_recording(path)
    screen = Screen(env)
    if recording.cut_short:
        Notices(screen, quiet=False).warning(
            f"the last line of {path} is incomplete (the recording was cut short)"
        )
    if label:
        labels = labels_of(label, recording.channels)
    else:
        labels = labels_of(",".join(recording.labels) or None, recording.channels)
    renderer = create_renderer(
        fmt,
        output_path=output,
        labels=labels,
        events=DEFAULT_EVENTS if shown == frozenset() else shown,
        screen=screen,
        captions=CaptionLimits(max_line_chars, max_cue_seconds),
    )
    renderer = with_web(renderer, page, labels, Notices(screen, quiet=False))
    play(renderer, recording.messages, session_id=recording.session_id, speed=pace)
