"""`gladia mix SRC SRC…`: separate tracks (files, microphones) as one multi-channel session,
channel i = SRC i, labelled with the file names and device names unless `--label` says."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gladia_cli.cli.options import StreamOptions, with_stream_options


@with_stream_options
def mix_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Files (- for standard input) and microphones: mic (the default input), "
            "mic:INDEX or mic:NAME. A file named like that: ./mic",
            show_default=False,
        ),
    ],
    pace: Annotated[
        str,
        typer.Option(
            "--pace",
            help="realtime, max, or a speed such as 2x (files only: microphones set the pace).",
        ),
    ] = "realtime",
    *,
    opts: StreamOptions,
) -> int:
    """Interleave several sources into one session, one channel each."""
    from gladia_cli.audio.mix_source import open_mix_source
    from gladia_cli.audio.pacing import parse_pace
    from gladia_cli.cli import preflight, streaming
    from gladia_cli.safe_text import plain

    preflight.check_outputs(sources, opts.output, opts.save_audio)
    preflight.check_stdio(writes_stdout=streaming.writes_stdout(opts), reads_stdin="-" in sources)
    speed = parse_pace(pace)
    base = streaming.load_config_body(opts)
    opened = open_mix_source(
        sources,
        sample_rate=streaming.target_rate(opts, base),
        stdin=sys.stdin.buffer if "-" in sources else None,
    )
    mix = opened.source
    notes = list(opened.notes)
    if mix.has_microphone and speed != 1.0:
        notes.append("--pace does not apply: the microphones set the pace")
    if not opts.quiet:
        for note in notes:
            sys.stderr.write(f"gladia: {plain(note)}\n")
    try:
        return streaming.run(
            opts,
            mix,
            pace=None if mix.has_microphone else speed,
            base=base,
            live_source=mix.has_microphone,
        )
    finally:
        mix.close()
