"""`gladia transcriptions get|list|delete`: the REST endpoints around pre-recorded jobs,
shown as `gladia sessions` shows live sessions (its helpers, reused)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gladia_cli.cli.choices import ListFormat, SessionFormat, SessionStatus, metavar
from gladia_cli.cli.fast_help import FastHelpCommand, FastHelpGroup
from gladia_cli.cli.options import (
    ApiKey,
    ApiUrl,
    Debug,
    MaxCueSeconds,
    MaxLineChars,
    Profile,
    environment_of,
    format_option,
    label_option,
    output_option,
)

if TYPE_CHECKING:  # requests is imported only when a command runs
    from gladia_cli.client.prerecorded import PreRecordedApi
    from gladia_cli.environment import Environment

EXAMPLES = """\
Examples:

  gladia transcriptions list --status done --limit 5
  gladia transcriptions get 6f1c2a3b -f text
  gladia transcriptions get 6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b | jq .result.metadata
  gladia transcriptions delete 6f1c2a3b
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


def _api(
    env: Environment, api_key: str | None, api_url: str | None, profile: str | None
) -> PreRecordedApi:
    from gladia_cli.cli.sessions_cmd import settings_with_key
    from gladia_cli.client.prerecorded import PreRecordedApi

    return PreRecordedApi(settings_with_key(env, api_key, api_url, profile))


@app.command("get", cls=FastHelpCommand)
def get_command(
    ctx: typer.Context,
    job_id: JobId,
    format: Annotated[
        SessionFormat | None,
        format_option(
            "json: the job as the API returns it (the default); text, srt, vtt, table, "
            "words: its transcript, rendered as `gladia transcribe` renders it.",
            panel=None,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        output_option("Write to this file; .srt .vtt .txt .json .tsv pick the format.", panel=None),
    ] = None,
    label: Annotated[str | None, label_option(panel=None)] = None,
    max_line_chars: MaxLineChars = 42,
    max_cue_seconds: MaxCueSeconds = 7.0,
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Show a transcription: the job as JSON, or its transcript as text, subtitles or a table.

    A job still queued or processing has no transcript yet: --format json shows its status.
    """
    from gladia_cli.cli.sessions_cmd import checked_id, get_format, render_stored, resolve_id
    from gladia_cli.render.captions import CaptionLimits

    env = environment_of(ctx)
    checked_id(job_id, "transcription", "gladia transcriptions list")
    fmt = get_format(format, output, command="transcriptions get")
    api = _api(env, api_key, api_url, profile)
    job = api.get(resolve_id(api, job_id))
    captions = CaptionLimits(max_line_chars, max_cue_seconds)
    if fmt != "json":
        from gladia_cli.cli.transcribing import by_speaker, check_finished

        check_finished(job)
        job, label = by_speaker(job, label)  # a diarized job: one label per speaker
    render_stored(env, job, fmt, output=output, label=label, captions=captions)


@app.command("list", cls=FastHelpCommand)
def list_command(
    ctx: typer.Context,
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
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """List transcriptions, newest first: a table on a terminal, JSON lines in a pipe."""
    from gladia_cli.cli.sessions_cmd import list_table

    env = environment_of(ctx)
    statuses = [s.value for s in status] if status else None
    chosen = format or (ListFormat.TABLE if env.stdout_isatty else ListFormat.JSONL)
    page = _api(env, api_key, api_url, profile).list(offset=offset, limit=limit, status=statuses)
    items = page.get("items")
    items = items if isinstance(items, list) else []
    if chosen == ListFormat.JSON:
        env.stdout.write(json.dumps(page, indent=2, ensure_ascii=False) + "\n")
    elif chosen == ListFormat.TABLE:
        list_table(env, items)
    else:
        for item in items:
            env.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
    env.stdout.flush()


@app.command("delete", cls=FastHelpCommand)
def delete_command(
    ctx: typer.Context,
    job_id: JobId,
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Delete a transcription and its file (ID: the id, or its first characters)."""
    from gladia_cli.cli.sessions_cmd import delete_finished, resolve_id

    env = environment_of(ctx)
    api = _api(env, api_key, api_url, profile)
    full = resolve_id(api, job_id)
    delete_finished(api, full)
    env.stderr.write(f"gladia: deleted {full}\n")
