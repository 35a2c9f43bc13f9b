"""`gladia sessions get|list|delete`: the REST endpoints around live sessions."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from gladia_cli.cli import option_checks
from gladia_cli.cli.choices import SessionStatus, metavar
from gladia_cli.cli.fast_help import FastHelpCommand, FastHelpGroup
from gladia_cli.cli.options import environment_of

if TYPE_CHECKING:  # requests is imported only when a command runs
    from gladia_cli.client.api import LiveApi
    from gladia_cli.environment import Environment

EXAMPLES = """\
Examples:

  gladia sessions list --status done --limit 5
  gladia sessions get 6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b | jq .result.metadata
  gladia sessions delete 6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b
"""
# Where to find a key when none is set: the session commands have no --local.
KEY_HINT = (
    "set GLADIA_API_KEY (or pass --api-key); for a `gladia serve` server, any key and "
    "--api-url http://127.0.0.1:8000"
)

app = typer.Typer(
    help="Look up, list and delete live sessions (JSON on stdout).",
    epilog=EXAMPLES,
    no_args_is_help=True,
    cls=FastHelpGroup,
    rich_markup_mode=None,
)

ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        help="API key (prefer GLADIA_API_KEY).",
        show_default=False,
        rich_help_panel="Connection",
        metavar="KEY",
    ),
]
ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        help="API base URL (env: GLADIA_API_URL).",
        show_default=False,
        rich_help_panel="Connection",
        metavar="URL",
        callback=option_checks.http_url("--api-url", "https://api.gladia.io"),
    ),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]
SessionId = Annotated[
    str,
    typer.Argument(
        help="The session's full id, as `gladia sessions list` and the live status line show it.",
        show_default=False,
        metavar="SESSION_ID",
    ),
]


def _api(env: Environment, api_key: str | None, api_url: str | None) -> LiveApi:
    from gladia_cli.client.api import LiveApi
    from gladia_cli.errors import AuthError
    from gladia_cli.settings import resolve

    settings = resolve(api_key=api_key, api_url=api_url, environ=env.environ)
    if not settings.has_key:
        raise AuthError("no API key", hint=KEY_HINT)
    return LiveApi(settings)


def _print(env: Environment, data: object) -> None:
    env.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    env.stdout.flush()


@app.command("get", cls=FastHelpCommand)
def get_command(
    ctx: typer.Context,
    session_id: SessionId,
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    debug: Debug = False,
) -> None:
    """Show a session and its result (JSON)."""
    env = environment_of(ctx)
    _print(env, _api(env, api_key, api_url).get(session_id))


@app.command("list", cls=FastHelpCommand)
def list_command(
    ctx: typer.Context,
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
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    debug: Debug = False,
) -> None:
    """List sessions, newest first (JSON)."""
    env = environment_of(ctx)
    statuses = [s.value for s in status] if status else None
    _print(env, _api(env, api_key, api_url).list(offset=offset, limit=limit, status=statuses))


@app.command("delete", cls=FastHelpCommand)
def delete_command(
    ctx: typer.Context,
    session_id: SessionId,
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    debug: Debug = False,
) -> None:
    """Delete a session and its audio."""
    env = environment_of(ctx)
    _api(env, api_key, api_url).delete(session_id)
    env.stderr.write(f"gladia: deleted {session_id}\n")
