"""`gladia file PATH`: stream a recording (a file, standard input, or a URL) through the
live API, at the pace of speech unless told otherwise."""

from __future__ import annotations

from typing import Annotated

import typer
from typer._click.core import Context

from gladia_cli.cli import choices, option_checks
from gladia_cli.cli.choices import RawSampleFormat
from gladia_cli.cli.fast_help import FastHelpCommand
from gladia_cli.cli.options import ManyInputs, Speakers, StreamOptions, with_options
from gladia_cli.cli.panels import AUDIO
from gladia_cli.environment import Environment
from gladia_cli.errors import UsageError
from gladia_cli.protocol import presets

EXAMPLES = (
    """\
Examples:

  gladia file talk.wav --local             on this machine, no account
  gladia file talk.mp3 -o talk.srt         subtitles (-o picks the format)
  gladia file meeting.wav --label ann,bob  one name per channel
  arecord -f S16_LE -r 16000 | gladia file - -f text
  gladia file recs/ -j 3 -d out -f srt    a folder's files, 3 at once, out/*.srt
  gladia file 'calls/**/*.mp3' -d out --skip-existing   resume a half-done run
"""
    + "\n"
    + presets.help_table()
)


class FileCommand(FastHelpCommand):
    """`PATH...` in the usage line: PATH is optional only because --from-list can stand in
    for it (without either, the command says `missing PATH`)."""

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return ["PATH..." if piece == "[PATH]..." else piece for piece in pieces]


@with_options
def file_command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(
            help="Audio file (WAV, FLAC, OGG, MP3…), - for standard input, or an http(s) "
            "URL; several, a directory (its audio files) or a quoted glob for many.",
            show_default=False,
            metavar="PATH",
        ),
    ] = None,
    *,
    pace: Annotated[
        str,
        typer.Option(
            "--pace",
            help="realtime, max, or a speed such as 2x.",
            rich_help_panel=AUDIO,
            metavar="PACE",
            callback=option_checks.pace,
            autocompletion=choices.pace_examples,
        ),
    ] = "realtime",
    multichannel: Annotated[
        bool,
        typer.Option(
            "--multichannel",
            help="Send every channel, even when they carry the same signal "
            "(by default such a file is sent as one channel, and billed once).",
            rich_help_panel=AUDIO,
        ),
    ] = False,
    raw: Annotated[
        RawSampleFormat | None,
        typer.Option(
            "--raw",
            metavar="FORMAT",
            help="The input is headerless PCM in this sample format "
            "(give --raw-rate and --raw-channels).",
            rich_help_panel=AUDIO,
            show_default=False,
        ),
    ] = None,
    raw_rate: Annotated[
        int | None,
        typer.Option(
            "--raw-rate",
            help="Sample rate of --raw input, in Hz.",
            show_default=False,
            rich_help_panel=AUDIO,
            min=1000,
            max=768_000,
            metavar="HZ",
        ),
    ] = None,
    raw_channels: Annotated[
        int | None,
        typer.Option(
            "--raw-channels",
            help="Channel count of --raw input.",
            show_default=False,
            rich_help_panel=AUDIO,
            min=1,
            max=8,
        ),
    ] = None,
    many: ManyInputs,
    speakers: Speakers = False,
    opts: StreamOptions,
    env: Environment,
) -> int:
    """Transcribe an audio file through the live API, as if it were being spoken.

    The file is streamed at the pace of speech (--pace max sends it as fast as the
    server takes it). A file whose channels carry the same signal is sent as one channel.
    Several inputs (or a directory, a quoted glob, --from-list) each get a session of
    their own, --jobs at a time, with one output each in --output-dir.
    """
    from gladia_cli.audio.file_source import open_file_source, parse_raw_format
    from gladia_cli.audio.pacing import parse_pace
    from gladia_cli.cli import preflight, streaming
    from gladia_cli.jobs import inputs

    args = list(paths or [])
    if not args and many.from_list is None:
        raise UsageError("missing PATH", hint="see 'gladia file --help'")
    if inputs.asks_for_many(args, from_list=many.from_list, output_dir=many.output_dir):
        from gladia_cli.cli.many import file_many

        return file_many(
            args,
            many,
            pace=pace,
            multichannel=multichannel,
            raw_spec=(raw_rate, raw_channels, raw),
            opts=opts,
            env=env,
            speakers=speakers,
        )
    if many.skip_existing:
        raise UsageError(
            "--skip-existing skips inputs whose output is in --output-dir",
            hint="add --output-dir DIR",
        )
    (path,) = args
    preflight.check_outputs([path], opts.output, opts.save_audio, opts.record)
    preflight.check_stdio(writes_stdout=streaming.writes_stdout(opts), reads_stdin=path == "-")
    speed = parse_pace(pace)
    raw_format = parse_raw_format(raw_rate, raw_channels, raw) if raw else None
    planned = streaming.plan(opts, env, speakers=speakers)
    if (notice := inputs.single_input_jobs_notice(many.jobs)) is not None:
        planned.notices.warning(notice)
    source = open_file_source(
        path,
        target_rate=streaming.target_rate(opts, planned.base),
        raw=raw_format,
        stdin=env.stdin if path == "-" else None,
        stdin_isatty=bool(env.stdin_isatty),
        merge_copies=not multichannel,
    )
    try:
        if source.merged_channels:
            planned.notices.info(
                f"the {source.merged_channels} channels of {source.description} carry the "
                "same signal: sending them as one (--multichannel sends each)"
            )
        return streaming.run(planned, source, pace=speed, merged=bool(source.merged_channels))
    finally:
        source.close()
