"""`gladia sessions get|list|delete`: the REST endpoints around live sessions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
    from gladia_cli.client.api import LiveApi
    from gladia_cli.environment import Environment
    from gladia_cli.render.captions import CaptionLimits
    from gladia_cli.render.output import Output
    from gladia_cli.settings import Settings

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
    env: Environment,
    api_key: str | None,
    api_url: str | None,
    profile: str | None,
    api_class: type[LiveApi] | None = None,
) -> LiveApi:
    """The REST API of `api_class` (default: LiveApi, the live sessions')."""
    from gladia_cli.client.api import LiveApi

    return (api_class or LiveApi)(settings_with_key(env, api_key, api_url, profile))


# `sessions` and `transcriptions` get, list and delete alike: these do it for either, given
# the API class (its `noun` and `list_command` word the messages). The commands keep their
# own signatures: their help speaks of sessions or of jobs.


def get_stored(
    env: Environment,
    api_class: type[LiveApi],
    connection: tuple[str | None, str | None, str | None],
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
    """`X get`: the id and the format are checked before the key (`connection`: --api-key,
    --api-url, --profile) is looked up; `transcript_of`, when given, prepares a record for
    any format but json. `wait`: until it is done or in error (each status said on stderr)."""
    checked_id(value, api_class.noun, api_class.list_command)
    fmt = get_format(format, output, command=command)
    api = rest_api(env, *connection, api_class=api_class)
    full_id = resolve_id(api, value)
    if wait:

        def said(status: str) -> None:
            if status not in ("done", "error"):
                env.stderr.write(f"gladia: {api.noun} {full_id} is {status}; waiting\n")
                env.stderr.flush()

        record = api.wait_finished(full_id, on_status=said)
    else:
        record = api.get(full_id)
    if transcript_of is not None and fmt != SessionFormat.JSON:
        record, label = transcript_of(record, label)
    render_stored(env, record, fmt, output=output, label=label, captions=captions)


def list_stored(
    env: Environment,
    api: LiveApi,
    *,
    offset: int,
    limit: int,
    status: list[SessionStatus] | None,
    format: ListFormat | None,
) -> None:
    """`X list`: a table on a terminal, one JSON line per item in a pipe, or the page."""
    statuses = [s.value for s in status] if status else None
    chosen = format or (ListFormat.TABLE if env.stdout_isatty else ListFormat.JSONL)
    page = api.list(offset=offset, limit=limit, status=statuses)
    items = page.get("items")
    items = items if isinstance(items, list) else []
    if chosen == ListFormat.JSON:
        _print(env, page)
    elif chosen == ListFormat.TABLE:
        list_table(env, items)
    else:
        for item in items:
            env.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
        env.stdout.flush()


def delete_stored(env: Environment, api: LiveApi, value: str, *, yes: bool = False) -> None:
    """Delete one session or job. On a terminal it is named and the user asked first (a
    prefix may match another one than meant), unless `yes`; scripts are never asked."""
    full = resolve_id(api, value)
    if not yes and env.stdin_isatty and env.stderr_isatty and not _confirmed(env, api, full):
        env.stderr.write(f"gladia: {api.noun} {full} was not deleted\n")
        env.stderr.flush()
        return
    delete_finished(api, full)
    env.stderr.write(f"gladia: deleted {full}\n")


def _confirmed(env: Environment, api: LiveApi, full_id: str) -> bool:
    from gladia_cli.safe_text import plain

    item = api.get(full_id)
    given = item.get("file")
    file: dict[str, Any] = given if isinstance(given, dict) else {}
    facts = [str(item.get("status") or "")]
    if item.get("created_at"):
        facts.append("created " + str(item["created_at"])[:19].replace("T", " "))
    if isinstance(file.get("audio_duration"), int | float):
        facts.append(f"{file['audio_duration']:.1f} s of audio")
    if file.get("filename"):
        facts.append(str(file["filename"]))
    described = plain(", ".join(f for f in facts if f))
    env.stderr.write(f"Delete {api.noun} {full_id} ({described}) and its audio? [y/N] ")
    env.stderr.flush()
    answer = env.stdin.readline(64).decode("utf-8", "replace").strip().lower()
    return answer in ("y", "yes")


YesOption = typer.Option(
    "--yes", "-y", help="Do not ask (on a terminal, delete asks first; scripts are never asked)."
)


def settings_with_key(
    env: Environment, api_key: str | None, api_url: str | None, profile: str | None
) -> Settings:
    """The settings of a REST command (sessions, transcriptions): a key is needed."""
    from gladia_cli.credentials import KeyringStore
    from gladia_cli.errors import AuthError
    from gladia_cli.render.notices import Notices
    from gladia_cli.render.screen import Screen
    from gladia_cli.settings import resolve

    # A config file others can read is worth a warning (settings.py).
    warn = Notices(Screen(env), quiet=False).warning
    settings = resolve(
        api_key=api_key,
        api_url=api_url,
        profile=profile,
        environ=env.environ,
        key_store=KeyringStore(),
        warn=warn,
    )
    if not settings.has_key:
        problem = settings.keyring_problem
        raise AuthError(
            f"no API key (the keyring could not be read: {problem})" if problem else "no API key",
            hint=KEY_HINT,
        )
    return settings


_UUID_FORM = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
_HEX = frozenset("0123456789abcdefABCDEF")


def checked_id(
    value: str, noun: str = "session", list_command: str = "gladia sessions list"
) -> str:
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
            f"not a {noun} id: {plain(value)!r}",
            hint=f"a {noun} id is a UUID such as 6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b, "
            f"or its first characters ({list_command} shows them)",
        )
    return value


def _print(env: Environment, data: object) -> None:
    env.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    env.stdout.flush()


_FULL_ID_LENGTHS = (32, len(_UUID_FORM))
_LIST_PAGE = 100
_LIST_PAGES_MAX = 1000  # 100 000 sessions: a bound, not a limit anyone meets


def resolve_id(api: LiveApi, value: str) -> str:  # a PreRecordedApi too (its subclass)
    """A full id as it is; a prefix (the first characters of an id) becomes the one id of
    the listed sessions that starts with it. None or several: a usage error."""
    checked = checked_id(value, api.noun, api.list_command)
    if len(checked) in _FULL_ID_LENGTHS:
        return checked
    from gladia_cli.errors import UsageError

    wanted = checked.lower()
    found: list[str] = []
    for page in range(_LIST_PAGES_MAX):
        listing = api.list(offset=page * _LIST_PAGE, limit=_LIST_PAGE)
        items = listing.get("items")
        for item in items if isinstance(items, list) else []:
            session_id = item.get("id") if isinstance(item, dict) else None
            if isinstance(session_id, str) and session_id.lower().startswith(wanted):
                found.append(session_id)
        if not listing.get("next") or not items:
            break
    if not found:
        raise UsageError(
            f"no {api.noun} id starts with {checked}",
            hint=f"list the {api.noun}s with: {api.list_command}",
        )
    if len(found) > 1:
        raise UsageError(
            f"{len(found)} {api.noun}s have an id starting with {checked}",
            hint=f"give more characters of the id ({api.list_command} shows them)",
        )
    return found[0]


def delete_finished(api: LiveApi, full_id: str) -> None:
    """Delete a session or job that has ended. The API refuses an unfinished one with a
    403, which would read as a refused key (exit 3, "run gladia auth login"): it is said
    for what it is instead."""
    status = api.get(full_id).get("status")
    if status in api.undeletable:
        from gladia_cli.errors import UsageError
        from gladia_cli.safe_text import plain

        raise UsageError(
            f"{api.noun} {full_id} is {plain(str(status))}: it can be deleted once it ends",
            hint=f"{api.list_command} shows its status",
        )
    api.delete(full_id)


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


def render_stored(
    env: Environment,
    session: dict[str, Any],
    fmt: str,
    *,
    output: Path | None,
    label: str | None,
    captions: CaptionLimits,
    into: Output | None = None,
) -> None:
    """`into`, when given, is where the data goes instead of `output` (a run over many
    inputs opens one for each)."""
    from gladia_cli.render import create_renderer
    from gladia_cli.render.playback import play
    from gladia_cli.render.screen import Screen
    from gladia_cli.render.stored import labels_of, stored_channels, stored_messages

    labels = labels_of(label, stored_channels(session))
    messages = [] if fmt == SessionFormat.JSON else stored_messages(session)
    renderer = create_renderer(
        fmt,
        output_path=output,
        labels=labels,
        events=None,
        screen=Screen(env),
        captions=captions,
        output=into,
    )
    file = session.get("file")
    duration = file.get("audio_duration") if isinstance(file, dict) else None
    play(
        renderer,
        ((0.0, m) for m in messages),
        session_id=str(session.get("id", "")),
        result=session,
        audio_seconds=float(duration) if isinstance(duration, int | float) else 0.0,
        live=False,
    )


@app.command("get", cls=FastHelpCommand, epilog=GET_EXAMPLES)
def get_command(
    ctx: typer.Context,
    session_id: SessionId,
    format: Annotated[
        SessionFormat | None,
        format_option(
            "json: the session as the API returns it (the default); text, srt, vtt, "
            "table, words: its transcript, rendered as a live run renders it.",
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
    wait: Annotated[bool, WaitOption] = False,
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Show a session: its result as JSON, or its transcript as text, subtitles or a table.

    SESSION_ID may be the first characters of the id, when only one session starts with them.
    """
    from gladia_cli.client.api import LiveApi
    from gladia_cli.render.captions import CaptionLimits

    env = environment_of(ctx)
    get_stored(
        env,
        LiveApi,
        (api_key, api_url, profile),
        session_id,
        format=format,
        output=output,
        label=label,
        captions=CaptionLimits(max_line_chars, max_cue_seconds),
        command="sessions get",
        transcript_of=with_saved_speakers,
        wait=wait,
    )


def with_saved_speakers(
    session: dict[str, Any], label: str | None
) -> tuple[dict[str, Any], str | None]:
    """A session whose speakers `--speakers` saved (post_session_metadata): each speaker as
    a channel of its own, named `speaker N` unless --label names them."""
    from gladia_cli.cli.transcribing import by_speaker
    from gladia_cli.protocol import speakers

    turns = speakers.from_metadata(session.get("post_session_metadata"))
    if not turns:
        return session, label
    return by_speaker(speakers.with_speakers(session, turns), label)


def list_table(env: Environment, items: list[Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    from gladia_cli.safe_text import plain

    def cell(value: Any) -> Text:
        return Text(plain(str(value)) if value is not None else "")

    def file_of(item: Any) -> dict[str, Any]:
        given = item.get("file") if isinstance(item, dict) else None
        return given if isinstance(given, dict) else {}

    # Jobs keep the name of the file uploaded: which recording it was, at a glance.
    named = any(file_of(item).get("filename") for item in items)
    table = Table(show_edge=False, pad_edge=False)
    columns = ("id", "status", "created", "audio", "channels") + (("file",) if named else ())
    for column in columns:
        table.add_column(column, no_wrap=column not in ("created", "file"))
    for item in items:
        if not isinstance(item, dict):
            continue
        file = file_of(item)
        duration = file.get("audio_duration")
        audio = f"{duration:.1f} s" if isinstance(duration, int | float) else ""
        cells = [
            cell(item.get("id")),
            cell(item.get("status")),
            cell(str(item.get("created_at") or "")[:19].replace("T", " ")),
            Text(audio),
            cell(file.get("number_of_channels")),
        ]
        if named:
            cells.append(cell(file.get("filename")))
        table.add_row(*cells)
    env.stdout_console.print(table)


@app.command("list", cls=FastHelpCommand, epilog=LIST_EXAMPLES)
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
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """List sessions, newest first: a table on a terminal, JSON lines in a pipe."""
    env = environment_of(ctx)
    api = rest_api(env, api_key, api_url, profile)
    list_stored(env, api, offset=offset, limit=limit, status=status, format=format)


@app.command("delete", cls=FastHelpCommand, epilog=DELETE_EXAMPLES)
def delete_command(
    ctx: typer.Context,
    session_id: SessionId,
    yes: Annotated[bool, YesOption] = False,
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    profile: Profile = None,
    debug: Debug = False,
) -> None:
    """Delete a session and its audio (SESSION_ID: the id, or its first characters).

    On a terminal the session is named and you are asked first (--yes: not).
    """
    env = environment_of(ctx)
    delete_stored(env, rest_api(env, api_key, api_url, profile), session_id, yes=yes)
