"""`--speakers` (live, file): what it refuses up front, before anything starts (the job
writes the saved transcript again with the speakers: jobs/speakers.py)."""

from __future__ import annotations

from gladia_cli.cli.options import StreamOptions
from gladia_cli.errors import UsageError
from gladia_cli.render.output import is_stdout


def check(opts: StreamOptions, fmt: str, *, output_dir: bool = False) -> None:
    """What `--speakers` cannot do, said before anything starts (`output_dir`: the outputs
    are files of --output-dir)."""
    if opts.local:
        from gladia_cli.server.prerecorded import diarization

        if not diarization.available():
            raise UsageError(
                "--speakers: the local server cannot tell speakers apart: its speaker model "
                "is not installed",
                hint=f"{diarization.INSTALL_HINT}; or use the API",
            )
    if fmt == "jsonl" and (output_dir or not is_stdout(opts.output)):
        raise UsageError(
            "--speakers labels the transcript formats; jsonl is the server's messages verbatim",
            hint="use -f json, text, srt, vtt or words; the speakers are also saved with the "
            "session (gladia sessions get ID -f text)",
        )
