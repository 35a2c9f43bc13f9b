"""`gladia sessions get|list|delete`: the REST endpoints around live sessions."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Annotated

import typer

from gladia_cli.cli.fast_help import FastHelpGroup

if TYPE_CHECKING:  # requests is imported only when a command runs
    from gladia_cli.client.api import LiveApi

app = typer.Typer(
    help="Look up, list and delete live sessions.",
    no_args_is_help=True,
    cls=FastHelpGroup,
    rich_markup_mode=None,
)

ApiKey = Annotated[
    str | None,
    typer.Option("--api-key", help="API key (prefer GLADIA_API_KEY).", show_default=False),
]
ApiUrl = Annotated[
    str | None,
    typer.Option("--api-url", help="API base URL (env: GLADIA_API_URL)", show_default=False),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show tracebacks.")]


def _api(api_key: str | None, api_url: str | None) -> LiveApi:
    from gladia_cli.cli.streaming import warn_on_stderr
    from gladia_cli.client.api import LiveApi
    from gladia_cli.settings import resolve

    settings = resolve(api_key=api_key, api_url=api_url, environ=os.environ, warn=warn_on_stderr)
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


def _print(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command("get")
def get_command(
    session_id: Annotated[str, typer.Argument(help="Session id.", show_default=False)],
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    debug: Debug = False,
) -> None:
    """Show a session and its result (JSON)."""
    _print(_api(api_key, api_url).get(checked_id(session_id)))


@app.command("list")
def list_command(
    limit: Annotated[int, typer.Option("--limit", help="Sessions per page.")] = 20,
    offset: Annotated[int, typer.Option("--offset", help="Sessions to skip.")] = 0,
    status: Annotated[
        list[str] | None,
        typer.Option(
            "--status", help="queued, processing, done or error (repeatable).", show_default=False
        ),
    ] = None,
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    debug: Debug = False,
) -> None:
    """List sessions, newest first (JSON)."""
    _print(_api(api_key, api_url).list(offset=offset, limit=limit, status=status))


@app.command("delete")
def delete_command(
    session_id: Annotated[str, typer.Argument(help="Session id.", show_default=False)],
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    debug: Debug = False,
) -> None:
    """Delete a session and its audio."""
    _api(api_key, api_url).delete(checked_id(session_id))
    typer.echo(f"deleted {session_id}", err=True)
