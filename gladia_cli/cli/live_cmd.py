"""`gladia live [SOURCE]`: transcribe a microphone as it is spoken, until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from gladia_cli.cli.options import StreamOptions, with_stream_options


@with_stream_options
def live_command(
    source: Annotated[
        str,
        typer.Argument(
            help="mic (the default input), a device index or part of a device name "
            "(see `gladia devices`).",
        ),
    ] = "mic",
    channels: Annotated[
        int,
        typer.Option(
            "--channels",
            "-c",
            help="Channels to record from the device; each is transcribed on its own.",
        ),
    ] = 1,
    device_rate: Annotated[
        int | None,
        typer.Option(
            "--device-rate",
            help="Rate to record at (default: the device's own); audio is resampled when "
            "the API does not take it.",
            show_default=False,
        ),
    ] = None,
    *,
    opts: StreamOptions,
) -> int:
    """Transcribe a microphone live. Ctrl-C stops and waits for the last words; twice aborts."""
    from gladia_cli.audio.mic_source import open_mic_source
    from gladia_cli.cli import preflight, streaming

    preflight.check_outputs([], opts.output, opts.save_audio)
    preflight.check_stdio(writes_stdout=streaming.writes_stdout(opts), reads_stdin=False)
    base = streaming.load_config_body(opts)
    mic = open_mic_source(
        source,
        channels=channels,
        device_rate=device_rate,
        sample_rate=streaming.target_rate(opts, base),
    )
    try:
        # The microphone sets the pace, and its audio cannot wait for the network.
        return streaming.run(opts, mic, pace=None, base=base, live_source=True)
    finally:
        mic.close()
