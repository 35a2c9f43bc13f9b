"""The stored-result views: a live session or a pre-recorded job the server keeps, looked
up by its id (or the first characters of it), rendered as a live run renders it, listed,
deleted. `gladia sessions`, `gladia transcriptions`, `transcribe` and `--speakers` show
what is stored through these; the commands check their options and find the key first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gladia_cli.client.prerecorded import job_error
from gladia_cli.errors import NetworkError
from gladia_cli.safe_text import plain

if TYPE_CHECKING:  # requests is imported only when a command runs
    from gladia_cli.client.api import LiveApi
    from gladia_cli.environment import Environment
    from gladia_cli.render.captions import CaptionLimits
    from gladia_cli.render.output import Output


def show_stored(
    env: Environment,
    api: LiveApi,
    value: str,
    fmt: str,
    *,
    output: Path | None,
    label: str | None,
    captions: CaptionLimits,
    transcript_of: Callable[[dict[str, Any], str | None], tuple[dict[str, Any], str | None]]
    | None = None,
    wait: bool = False,
) -> None:
    """`X get`, once the command checked the id and the format and found the key: the
    record (`wait`: until it is done or in error, each status said on stderr) rendered in
    `fmt`; `transcript_of`, when given, prepares it for any format but json."""
    full_id = resolve_id(api, value)
    if wait:

        def said(status: str) -> None:
            if status not in ("done", "error"):
                env.stderr.write(f"gladia: {api.noun} {full_id} is {status}; waiting\n")
                env.stderr.flush()

        record = api.wait_finished(full_id, on_status=said)
    else:
        record = api.get(full_id)
    if transcript_of is not None and fmt != "json":
        record, label = transcript_of(record, label)
    render_stored(env, record, fmt, output=output, label=label, captions=captions)


def list_stored(
    env: Environment,
    api: LiveApi,
    *,
    offset: int,
    limit: int,
    statuses: list[str] | None,
    format: str | None,
) -> None:
    """`X list`: a table on a terminal, one JSON line per item in a pipe, or the page
    (`format`: table, jsonl or json; None: as said)."""
    chosen = format or ("table" if env.stdout_isatty else "jsonl")
    page = api.list(offset=offset, limit=limit, status=statuses)
    items = page.get("items")
    items = items if isinstance(items, list) else []
    if chosen == "json":
        _print(env, page)
    elif chosen == "table":
        list_table(env, items)
    else:
        for item in items:
            env.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
        env.stdout.flush()


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
    messages = [] if fmt == "json" else stored_messages(session)
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


def with_saved_speakers(
    session: dict[str, Any], label: str | None
) -> tuple[dict[str, Any], str | None]:
    """A session whose speakers `--speakers` saved (post_session_metadata): each speaker as
    a channel of its own, named `speaker N` unless --label names them."""
    from gladia_cli.protocol import speakers

    turns = speakers.from_metadata(session.get("post_session_metadata"))
    if not turns:
        return session, label
    return by_speaker(speakers.with_speakers(session, turns), label)


def by_speaker(job: dict[str, Any], label: str | None) -> tuple[dict[str, Any], str | None]:
    """A diarized mono job as the renderers take it: each speaker as a channel of its own,
    named `speaker N` unless --label names them. Other jobs are returned as they are."""
    import copy

    result = job.get("result")
    transcription = result.get("transcription") if isinstance(result, dict) else None
    utterances = transcription.get("utterances") if isinstance(transcription, dict) else None
    given = job.get("file")
    file: dict[str, Any] = given if isinstance(given, dict) else {}
    found = [u.get("speaker") for u in utterances or [] if isinstance(u, dict)]
    speakers = [s for s in found if isinstance(s, int) and not isinstance(s, bool) and s >= 0]
    if not found or len(speakers) != len(found) or (file.get("number_of_channels") or 1) != 1:
        return job, label
    count = max(speakers) + 1
    changed = copy.deepcopy(job)
    for utterance in changed["result"]["transcription"]["utterances"]:
        utterance["channel"] = utterance["speaker"]
    changed["file"] = {**file, "number_of_channels": count}
    return changed, label or ",".join(f"speaker {n}" for n in range(count))


def check_finished(job: dict[str, Any]) -> None:
    """A job to render must be done: in error, its message (exit 4); unfinished, when to
    come back (exit 4, as for a stored session without a result)."""
    job_id = plain(str(job.get("id", "")))
    status = job.get("status")
    if status == "error":
        raise NetworkError(f"transcription {job_id} failed: {job_error(job)}")
    if status != "done":
        raise NetworkError(
            f"transcription {job_id} is {plain(str(status))}: it has no transcript yet",
            hint=f"try again later; gladia transcriptions get {job_id} shows its status",
        )
