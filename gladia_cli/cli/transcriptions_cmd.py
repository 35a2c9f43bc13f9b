"""`gladia transcriptions get|list|delete`: the REST endpoints around pre-recorded jobs,
shown as `gladia sessions` shows live sessions (its helpers, reused)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gladia_cli.cli.choices import ListFormat, SessionFormat, SessionStatus, metavar
from gladia_cli.cli.fast_help import FastHelpCommand, FastHelpGroup
from gladia_cli.cli.options import (
    ApiConnection,
    Debug,
    StoredOutput,
    format_option,
    with_options,
)
from gladia_cli.cli.sessions_cmd import WaitOption, YesOption
from gladia_cli.environment import Environment

EXAMPLES = """\
Examples:

  gladia transcriptions list --status done --limit 5
  gladia transcriptions get 6f1c2a3b -f text
  gladia transcriptions get 6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b | jq .result.metadata
  gladia transcriptions delete 6f1c2a3b
"""

GET_EXAMPLES = """\
Examples:

  gladia transcriptions get 6f1c2a3b -f text         one line per utterance
  gladia transcriptions get 6f1c2a3b --wait -f srt   once the job is done
  gladia transcriptions get 6f1c2a3b | jq .result.metadata
  gladia transcriptions get "$(gladia transcribe a.mp3 --no-wait)" --wait
"""
LIST_EXAMPLES = """\
Examples:

  gladia transcriptions list                     id, status, audio, file name
  gladia transcriptions list --status error
  gladia transcriptions list | jq -r '.file.filename'
"""
DELETE_EXAMPLES = """\
Examples:

  gladia transcriptions delete 6f1c2a3b          asks first on a terminal
  gladia transcriptions delete 6f1c2a3b --yes    does not
"""

app = typer.Typer(
    help="Look up, list and delete pre-recorded transcriptions (gladia transcribe's jobs).",
    epilog=EXAMPLES,
    no_args_is_help=True,
    cls=FastHelpGroup,
    rich_markup_mode=None,
)

JobId = Annotated[
    str,
    typer.Argument(
        help="The job's id, as `gladia transcribe --no-wait` and `gladia transcriptions "
        "list` show it, or its first characters.",
        show_default=False,
        metavar="ID",
    ),
]


@app.command("get", cls=FastHelpCommand, epilog=GET_EXAMPLES)
@with_options
def get_command(
    job_id: JobId,
    *,
    format: Annotated[
        SessionFormat | None,
        format_option(
            "json: the job as the API returns it (the default); text, srt, vtt, table, "
            "words: its transcript, rendered as `gladia transcribe` renders it.",
            panel=None,
        ),
    ] = None,
    out: StoredOutput,
    wait: Annotated[bool, WaitOption] = False,
    conn: ApiConnection,
    debug: Debug = False,
    env: Environment,
) -> None:
    """Show a transcription: the job as JSON, or its transcript as text, subtitles or a table.

    A job still queued or processing has no transcript yet: --wait waits for it, --format
    json shows its status.
    """
    from gladia_cli.cli.sessions_cmd import get_stored
    from gladia_cli.client.prerecorded import PreRecordedApi

    def transcript_of(job: dict[str, Any], label: str | None) -> tuple[dict[str, Any], str | None]:
        from gladia_cli.jobs.stored import by_speaker, check_finished

        check_finished(job)
        return by_speaker(job, label)  # a diarized job: one label per speaker

    get_stored(
        env,
        PreRecordedApi,
        conn,
        job_id,
        format=format,
        output=out.output,
        label=out.label,
        captions=out.captions,
        command="transcriptions get",
        transcript_of=transcript_of,
        wait=wait,
    )


@app.command("list", cls=FastHelpCommand, epilog=LIST_EXAMPLES)
@with_options
def list_command(
    *,
    limit: Annotated[int, typer.Option("--limit", help="Jobs per page.", min=1)] = 20,
    offset: Annotated[int, typer.Option("--offset", help="Jobs to skip.", min=0)] = 0,
    status: Annotated[
        list[SessionStatus] | None,
        typer.Option(
            "--status",
            help="Only jobs in this state (repeatable).",
            show_default=False,
            metavar=metavar(SessionStatus),
        ),
    ] = None,
    format: Annotated[
        ListFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table (the default on a terminal), jsonl (one job per line, the default "
            "in a pipe) or json (the API's page, with its links).",
            show_default=False,
        ),
    ] = None,
    conn: ApiConnection,
    debug: Debug = False,
    env: Environment,
) -> None:
    """List transcriptions, newest first: a table on a terminal, JSON lines in a pipe."""
    from gladia_cli.cli.sessions_cmd import rest_api
    from gladia_cli.client.prerecorded import PreRecordedApi
    from gladia_cli.jobs.stored import list_stored

    api = rest_api(env, conn, PreRecordedApi)
    statuses = [s.value for s in status] if status else None
    list_stored(env, api, offset=offset, limit=limit, statuses=statuses, format=format)


@app.command("delete", cls=FastHelpCommand, epilog=DELETE_EXAMPLES)
@with_options
def delete_command(
    job_id: JobId,
    *,
    yes: Annotated[bool, YesOption] = False,
    conn: ApiConnection,
    debug: Debug = False,
    env: Environment,
) -> None:
    """Delete a transcription and its file (ID: the id, or its first characters).

    On a terminal the job is named and you are asked first (--yes: not).
    """
    from gladia_cli.cli.sessions_cmd import rest_api
    from gladia_cli.client.prerecorded import PreRecordedApi
    from gladia_cli.jobs.stored import delete_stored

    api = rest_api(env, conn, PreRecordedApi)
    delete_stored(env, api, job_id, yes=yes)
