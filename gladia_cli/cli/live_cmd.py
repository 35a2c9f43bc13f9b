"""`gladia live [SOURCE]`: transcribe a microphone as it is spoken, until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from gladia_cli.cli import choices
from gladia_cli.cli.options import Duration, Speakers, StreamOptions, with_options
from gladia_cli.cli.panels import AUDIO
from gladia_cli.environment import Environment
from gladia_cli.protocol import presets
from gladia_cli.protocol.audio_format import MAX_INPUT_RATE, MIN_INPUT_RATE

EXAMPLES = (
    """\
Examples:

  gladia live                                the default microphone, a table
  gladia live --local                        offline, with the local server
  gladia live USB -c 3 --label host,ann,bob  3 inputs of the "USB" device
  gladia live -o notes.txt                   plain text into a file
  gladia live --duration 60 -f text          one minute, then it ends
  gladia live system --web                   captions of what the computer plays
"""
    + "\n"
    + presets.help_table()
)


@with_options
def live_command(
    source: Annotated[
        str,
        typer.Argument(
            help="mic (the default input), a device index or part of a device name "
            "(see `gladia devices`), or system: what the computer plays (Linux: the default "
            "output's monitor; system:NAME another).",
            metavar="SOURCE",
            autocompletion=choices.microphone_names,
        ),
    ] = "mic",
    channels: Annotated[
        int,
        typer.Option(
            "--channels",
            "-c",
            help="Channels to record from the device; each is transcribed on its own.",
            rich_help_panel=AUDIO,
            min=1,
            max=8,
        ),
    ] = 1,
    device_rate: Annotated[
        int | None,
        typer.Option(
            "--device-rate",
            help="Rate to record at (default: the device's own); resampled when the API "
            "does not take it.",
            show_default=False,
            rich_help_panel=AUDIO,
            min=MIN_INPUT_RATE,
            max=MAX_INPUT_RATE,
            metavar="HZ",
            autocompletion=choices.sample_rates,
        ),
    ] = None,
    duration: Duration = None,
    speakers: Speakers = False,
    *,
    opts: StreamOptions,
    env: Environment,
) -> int:
    """Transcribe a microphone (or the computer's sound) live. Ctrl-C stops and waits for
    the last words; twice aborts.

    --duration SECONDS stops by itself after that much audio, as a first Ctrl-C does.
    """
    from gladia_cli.audio.limited import LimitedSource
    from gladia_cli.audio.mic_source import open_mic_source
    from gladia_cli.cli import preflight, streaming

    preflight.check_outputs([], opts.output, opts.save_audio, opts.record)
    preflight.check_stdio(writes_stdout=streaming.writes_stdout(opts), reads_stdin=False)
    planned = streaming.plan(opts, env, speakers=speakers)
    if opts.dry_run:  # the body, without opening the microphone: its rate is assumed
        return streaming.dry_run(planned, channels=channels)
    mic = open_mic_source(
        source,
        channels=channels,
        device_rate=device_rate,
        sample_rate=streaming.target_rate(opts, planned.base),
        chunk_seconds=opts.chunk_ms / 1000,
    )
    audio = mic if duration is None else LimitedSource(mic, duration)
    try:
        # The microphone sets the pace, and its audio cannot wait for the network.
        return streaming.run(planned, audio, pace=None, live_source=True)
    finally:
        mic.close()
