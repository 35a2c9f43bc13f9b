"""Renderers: one interface (`base.Renderer`), one module per output format."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from gladia_cli.errors import UsageError
from gladia_cli.protocol.messages import SERVER_MESSAGE_TYPES
from gladia_cli.render.base import Labels, Renderer
from gladia_cli.render.output import Output

FORMATS = ("table", "text", "jsonl", "json", "srt", "vtt")


DEFAULT_EVENTS = frozenset(set(SERVER_MESSAGE_TYPES) - {"audio_chunk"})


def parse_events(values: list[str]) -> frozenset[str] | None:
    """`--events transcript,speech_start` (repeatable): the message types asked for.

    None means `all`; an empty set means no `--events` was given (then jsonl writes
    `DEFAULT_EVENTS`: acknowledgments are left out, the CLI asks for them to resume after
    drops, not because the user wants ten lines a second).
    """
    names = {name.strip() for value in values for name in value.split(",") if name.strip()}
    if "all" in names:
        return None
    unknown = names - set(SERVER_MESSAGE_TYPES)
    if unknown:
        raise UsageError(
            f"unknown event type(s): {', '.join(sorted(unknown))}",
            hint=f"choose from: all, {', '.join(SERVER_MESSAGE_TYPES)}",
        )
    return frozenset(names)


def choose_format(
    requested: str | None, *, output_path: Path | None, stdout_is_terminal: bool
) -> str:
    if requested is None:
        return "table" if stdout_is_terminal and output_path is None else "jsonl"
    if requested not in FORMATS:
        raise UsageError(f"unknown format {requested!r}", hint=f"choose from: {', '.join(FORMATS)}")
    if requested == "table" and output_path is not None:
        raise UsageError(
            "the table is for a terminal and cannot go to a file",
            hint="use --format text, jsonl, json, srt or vtt with -o",
        )
    return requested


def create_renderer(
    fmt: str, *, output_path: Path | None, labels: Labels, events: frozenset[str] | None
) -> Renderer:
    if fmt == "table":
        from gladia_cli.render.table import TableRenderer

        return TableRenderer(Console(), labels)
    output = Output.open(output_path)
    if fmt == "text":
        from gladia_cli.render.text import TextRenderer

        return TextRenderer(output, labels)
    if fmt == "json":
        from gladia_cli.render.result_json import JsonResultRenderer

        return JsonResultRenderer(output)
    if fmt in ("srt", "vtt"):
        from gladia_cli.render.subtitles import SubtitleRenderer

        return SubtitleRenderer(output, labels, fmt)
    from gladia_cli.render.jsonl import JsonlRenderer

    return JsonlRenderer(output, events)
