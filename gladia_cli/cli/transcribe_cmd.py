"""`gladia transcribe PATH|URL…`: files through Gladia's pre-recorded API (upload, job,
poll), for recordings that need no live pace. The options become a job body
(cli/transcribing.py); the work is in jobs/prerecorded.py."""

from __future__ import annotations

from typing import Annotated

import typer

from gladia_cli.cli.options import (
    JobFlags,
    LocalConnection,
    ManyJobs,
    TranscribeOutput,
    _opt,
    with_options,
)
from gladia_cli.cli.panels import SESSION
from gladia_cli.environment import Environment

EXAMPLES = """\
Examples:

  gladia transcribe talk.wav --local               on this machine, no account
  gladia transcribe talk.mp3 -o talk.srt           subtitles (-o picks the format)
  gladia transcribe a.wav b.wav -f jsonl > all.jsonl   one job per line, with "source"
  gladia transcribe recordings/ -j 4 -d out -f srt     out/<name>.srt, one per file
  gladia transcribe https://example.com/talk.mp3 --summarize concise
  gladia transcribe call.wav --model solaria-3 -l fr   Solaria-3: en fr de es it
  gladia transcribe talk.wav --no-wait             the job's id; later:
  gladia transcriptions get ID -f text
"""


@with_options
def transcribe_command(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Audio files (WAV, FLAC, OGG, MP3…) to upload, directories (their audio "
            "files), quoted globs ('rec/*.wav'), or http(s) URLs the API fetches itself; "
            "--jobs of them at a time.",
            show_default=False,
            metavar="INPUT",
        ),
    ] = None,
    *,
    job: JobFlags,
    no_wait: Annotated[
        bool,
        _opt(
            "--no-wait",
            panel=SESSION,
            help="Print each job's id once created, and exit (gladia transcriptions get ID).",
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        _opt(
            "--timeout",
            panel=SESSION,
            help="Seconds to wait for each job (default: no limit).",
            show_default=False,
            min=1,
            metavar="SECONDS",
        ),
    ] = None,
    out: TranscribeOutput,
    many: ManyJobs,
    conn: LocalConnection,
    env: Environment,
) -> int:
    """Transcribe files through the pre-recorded API: upload, then wait for the result.

    For recordings that need no live pace: each file is uploaded, transcribed as a job
    (as fast as the server goes), and its result rendered.
    """
    from gladia_cli.cli import transcribing

    planned = transcribing.plan(
        list(inputs or []),
        transcribing.job_options(job),
        out,
        conn,
        env,
        wait=not no_wait,
        timeout=timeout,
        many=many,
    )
    return transcribing.run(planned, env)
