"""`gladia sessions get|list|delete`: the REST endpoints around live sessions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from gladia_cli.environment import Environment

if TYPE_CHECKING:  # requests is imported only when a command runs
    from gladia_cli.client.api import LiveApi
    from gladia_cli.render.captions import CaptionLimits

EXAMPLES = """\
Examples:

  gladia sessions list --status done --limit 5
  gladia sessions get 6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b | jq .result.metadata
  gladia sessions get 6f1c2a3b -o talk.srt --label host,guest
  gladia sessions delete 6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b
"""
# Where to find a key when none is set: the session commands have no --local.
KEY_HINT = (
    "run `gladia auth login` (or set GLADIA_API_KEY); for a `gladia serve` server, any key "
    "and --api-url http://127.0.0.1:8000"
)

app = typer.Typer(
    help="Look up, list and delete live sessions; render a stored one again.",
    epilog=EXAMPLES,
    no_args_is_help=True,
    cls=FastHelpGroup,
    rich_markup_mode=None,
)

GET_EXAMPLES = """\
Examples:

  gladia sessions get 6f1c2a3b | jq .result.metadata    as the API keeps it
  gladia sessions get 6f1c2a3b -f text                  one line per utterance
  gladia sessions get 6f1c2a3b -o talk.srt --label host,guest
  gladia sessions get 6f1c2a3b --wait -f text           once it is done
"""
LIST_EXAMPLES = """\
Examples:

  gladia sessions list
  gladia sessions list --status done --limit 5
  gladia sessions list | jq -r 'select(.status=="done") | .id'
"""
DELETE_EXAMPLES = """\
Examples:

  gladia sessions delete 6f1c2a3b           asks first on a terminal
  gladia sessions delete 6f1c2a3b --yes     does not
"""

WaitOption = typer.Option(
    "--wait",
    help="Wait until it is done (or in error), then show it; Ctrl-C stops waiting.",
)

SessionId = Annotated[
    str,
    typer.Argument(
        help="The session's id, as `gladia sessions list` and the live status line show it, "
        "or its first characters (8 are usually enough).",
        show_default=False,
        metavar="SESSION_ID",
    ),
]


def rest_api(
    env: Environment, conn: ApiConnection, api_class: type[LiveApi] | None = None
) -> LiveApi:
    """The REST API of `api_class` (default: LiveApi, the live sessions'), with a key."""
    from gladia_cli.cli.connection import settings_for
    from gladia_cli.client.api import LiveApi
    from gladia_cli.render.notices import Notices
    from gladia_cli.render.screen import Screen

    notices = Notices(Screen(env), quiet=False)
    settings = settings_for(conn, env, notices.warning, key_hint=KEY_HINT, say_key_visible=False)
    return (api_class or LiveApi)(settings)


# `sessions` and `transcriptions` get, list and delete alike (jobs/stored.py does it for
# either, given the API class: its `noun` and `list_command` word the messages). The
# commands keep their own signatures: their help speaks of sessions or of jobs.


def get_stored(
    env: Environment,
    api_class: type[LiveApi],
    conn: ApiConnection,
    value: str,
    *,
    format: SessionFormat | None,
    output: Path | None,
    label: str | None,
    captions: CaptionLimits,
    command: str,
    transcript_of: Callable[[dict[str, Any], str | None], tuple[dict[str, Any], str | None]]
    | None = None,
    wait: bool = False,
) -> None:
    """`X get`: the id and the format are checked before the key is looked up; then
    jobs/stored.py shows it."""
    from gladia_cli.jobs.stored import checked_id, show_stored

    checked_id(value, api_class.noun, api_class.list_command)
    fmt = get_format(format, output, command=command)
    api = rest_api(env, conn, api_class)
    show_stored(
        env,
        api,
        value,
        fmt,
        output=output,
        label=label,
        captions=captions,
        transcript_of=transcript_of,
        wait=wait,
    )


YesOption = typer.Option(
    "--yes", "-y", help="Do not ask (on a terminal, delete asks first; scripts are never asked)."
)


def get_format(
    requested: SessionFormat | None, output: Path | None, command: str = "sessions get"
) -> str:
    """--format, else the extension of -o, else json (the session as the API returns it)."""
    from gladia_cli.errors import UsageError
    from gladia_cli.render import choose_format
    from gladia_cli.render.output import check_output_path, is_stdout

    check_output_path(output)
    if requested is None and is_stdout(output):
        return SessionFormat.JSON.value
    fmt = choose_format(
        requested.value if requested else None, output_path=output, stdout_is_terminal=False
    )
    if fmt not in {f.value for f in SessionFormat}:
        raise UsageError(
            f"{command} cannot write {fmt}: a stored session has its result, not the live messages",
            hint=f"use --format {metavar(SessionFormat)[1:-1].replace('|', ', ')}",
        )
    return fmt


@app.command("get", cls=FastHelpCommand, epilog=GET_EXAMPLES)
@with_options
def get_command(
    session_id: SessionId,
    *,
    format: Annotated[
        SessionFormat | None,
        format_option(
            "json: the session as the API returns it (the default); text, srt, vtt, "
            "table, words: its transcript, rendered as a live run renders it.",
            panel=None,
        ),
    ] = None,
    out: StoredOutput,
    wait: Annotated[bool, WaitOption] = False,
    conn: ApiConnection,
    debug: Debug = False,
    env: Environment,
) -> None:
    """Show a session: its result as JSON, or its transcript as text, subtitles or a table.

    SESSION_ID may be the first characters of the id, when only one session starts with them.
    """
    from gladia_cli.client.api import LiveApi
    from gladia_cli.jobs.stored import with_saved_speakers

    get_stored(
        env,
        LiveApi,
        conn,
        session_id,
        format=format,
        output=out.output,
        label=out.label,
        captions=out.captions,
        command="sessions get",
        transcript_of=with_saved_speakers,
        wait=wait,
    )


@app.command("list", cls=FastHelpCommand, epilog=LIST_EXAMPLES)
@with_options
def list_command(
    *,
    limit: Annotated[int, typer.Option("--limit", help="Sessions per page.", min=1)] = 20,
    offset: Annotated[int, typer.Option("--offset", help="Sessions to skip.", min=0)] = 0,
    status: Annotated[
        list[SessionStatus] | None,
        typer.Option(
            "--status",
            help="Only sessions in this state (repeatable).",
            show_default=False,
            metavar=metavar(SessionStatus),
        ),
    ] = None,
    format: Annotated[
        ListFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table (the default on a terminal), jsonl (one session per line, the "
            "default in a pipe) or json (the API's page, with its links).",
            show_default=False,
        ),
    ] = None,
    conn: ApiConnection,
    debug: Debug = False,
    env: Environment,
) -> None:
    """List sessions, newest first: a table on a terminal, JSON lines in a pipe."""
    api = rest_api(env, conn)
    from gladia_cli.jobs.stored import list_stored

    statuses = [s.value for s in status] if status else None
    list_stored(env, api, offset=offset, limit=limit, statuses=statuses, format=format)


@app.command("delete", cls=FastHelpCommand, epilog=DELETE_EXAMPLES)
@with_options
def delete_command(
    session_id: SessionId,
    *,
    yes: Annotated[bool, YesOption] = False,
    conn: ApiConnection,
    debug: Debug = False,
    env: Environment,
) -> None:
    """Delete a session and its audio (SESSION_ID: the id, or its first characters).

    On a terminal the session is named and you are asked first (--yes: not).
    """
    from gladia_cli.jobs.stored import delete_stored

    delete_stored(env, rest_api(env, conn), session_id, yes=yes)
