"""`gladia mix SRC SRC…`: separate tracks (files, microphones, the computer's sound) as one
multi-channel session, channel i = SRC i, labelled with the file names and device names
(`system` for the computer's sound) unless `--label` says."""

from __future__ import annotations

from typing import Annotated

import typer

from gladia_cli.cli import choices, option_checks
from gladia_cli.cli.options import Duration, StreamOptions, with_options
from gladia_cli.cli.panels import AUDIO
from gladia_cli.environment import Environment
from gladia_cli.protocol import presets

EXAMPLES = (
    """\
Examples:

  gladia mix sami.wav maxime.wav mark.wav --local   3 tracks, 1 session
  gladia mix mic:0 mic:1 --label host,guest         two microphones
  gladia mix mic system --label me,them             both sides of a call
  gladia mix host.flac guest.flac -o interview.srt  both speakers' subtitles
  gladia mix mic:0 mic:1 --duration 1800 -o call.txt   half an hour, then stop
"""
    + "\n"
    + presets.help_table()
)


@with_options
def mix_command(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Files (- for standard input), microphones: mic (the default input), "
            "mic:INDEX or mic:NAME, and system: what the computer plays. A file named like "
            "that: ./mic",
            show_default=False,
            metavar="SOURCE",
            autocompletion=choices.microphone_names,
        ),
    ],
    pace: Annotated[
        str,
        typer.Option(
            "--pace",
            help="realtime, max, or a speed such as 2x (files only: microphones set the pace).",
            rich_help_panel=AUDIO,
            metavar="PACE",
            callback=option_checks.pace,
            autocompletion=choices.pace_examples,
        ),
    ] = "realtime",
    duration: Duration = None,
    *,
    opts: StreamOptions,
    env: Environment,
) -> int:
    """Interleave several sources into one session, one channel each."""
    from gladia_cli.audio.limited import LimitedSource
    from gladia_cli.audio.mix_source import open_mix_source
    from gladia_cli.audio.pacing import parse_pace
    from gladia_cli.cli import preflight, streaming

    preflight.check_outputs(sources, opts.output, opts.save_audio, opts.record)
    preflight.check_stdio(writes_stdout=streaming.writes_stdout(opts), reads_stdin="-" in sources)
    speed = parse_pace(pace)
    planned = streaming.plan(opts, env)
    opened = open_mix_source(
        sources,
        sample_rate=streaming.target_rate(opts, planned.base),
        stdin=env.stdin if "-" in sources else None,
    )
    mix = opened.source
    notes = list(opened.notes)
    if mix.has_microphone and speed != 1.0:
        notes.append("--pace does not apply: the microphones set the pace")
    for note in notes:
        planned.notices.info(note)
    try:
        return streaming.run(
            planned,
            mix if duration is None else LimitedSource(mix, duration),
            pace=None if mix.has_microphone else speed,
            live_source=mix.has_microphone,
        )
    finally:
        mix.close()
