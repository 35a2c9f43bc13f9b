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
    from gladia_cli.render.notices import Notices
    from gladia_cli.render.screen import Screen
    from gladia_cli.settings import resolve

    # A config file others can read is worth a warning (settings.py).
    warn = Notices(Screen(env), quiet=False).warning
    settings = resolve(api_key=api_key, api_url=api_url, environ=env.environ, warn=warn)
    if not settings.has_key:
        raise AuthError("no API key", hint=KEY_HINT)
    return LiveApi(settings)


_UUID_FORM = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
_HEX = frozenset("0123456789abcdefABCDEF")


def checked_id(value: str) -> str:
    """A session id as given: a UUID, or its first characters (hex, dashes where a UUID has
    them), or 32 hex digits. Anything else (a path, a URL) is refused before any request,
    so the key is never sent to an endpoint the id would point at."""
    plain_hex = len(value) == 32 and set(value) <= _HEX
    uuid_prefix = 0 < len(value) <= len(_UUID_FORM) and all(
        (c == "-") if t == "-" else (c in _HEX) for c, t in zip(value, _UUID_FORM, strict=False)
    )
    if not (plain_hex or uuid_prefix):
        from gladia_cli.errors import UsageError
        from gladia_cli.safe_text import plain

        raise UsageError(
            f"not a session id: {plain(value)!r}",
            hint="a session id is a UUID such as 6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b, "
            "or its first characters (gladia sessions list shows them)",
        )
    return value


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
    _print(env, _api(env, api_key, api_url).get(checked_id(session_id)))


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
    _api(env, api_key, api_url).delete(checked_id(session_id))
    env.stderr.write(f"gladia: deleted {session_id}\n")
