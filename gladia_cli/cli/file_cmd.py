"""`gladia file PATH`: stream a recording (a file, standard input, or a URL) through the
live API, at the pace of speech unless told otherwise."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gladia_cli.cli.options import StreamOptions, with_stream_options


@with_stream_options
def file_command(
    path: Annotated[
        str,
        typer.Argument(
            help="Audio file (WAV, FLAC, OGG, MP3…), - for standard input, or an http(s) URL.",
            show_default=False,
        ),
    ],
    pace: Annotated[
        str,
        typer.Option("--pace", help="realtime, max, or a speed such as 2x."),
    ] = "realtime",
    raw: Annotated[
        str | None,
        typer.Option(
            "--raw",
            help="The input is raw PCM in this sample format: s16le, s24le, s32le, f32le, "
            "u8, ulaw, alaw (give --raw-rate and --raw-channels).",
            show_default=False,
        ),
    ] = None,
    raw_rate: Annotated[
        int | None,
        typer.Option("--raw-rate", help="Sample rate of --raw input.", show_default=False),
    ] = None,
    raw_channels: Annotated[
        int | None,
        typer.Option("--raw-channels", help="Channel count of --raw input.", show_default=False),
    ] = None,
    *,
    opts: StreamOptions,
) -> int:
    """Transcribe an audio file through the live API, as if it were being spoken."""
    from gladia_cli.audio.file_source import open_file_source, parse_raw_format
    from gladia_cli.audio.pacing import parse_pace
    from gladia_cli.cli import preflight, streaming

    preflight.check_outputs([path], opts.output, opts.save_audio)
    preflight.check_stdio(writes_stdout=streaming.writes_stdout(opts), reads_stdin=path == "-")
    speed = parse_pace(pace)
    raw_format = parse_raw_format(raw_rate, raw_channels, raw) if raw else None
    base = streaming.load_config_body(opts)
    source = open_file_source(
        path,
        target_rate=streaming.target_rate(opts, base),
        raw=raw_format,
        stdin=sys.stdin.buffer if path == "-" else None,
    )
    try:
        return streaming.run(opts, source, pace=speed, base=base)
    finally:
        source.close()
