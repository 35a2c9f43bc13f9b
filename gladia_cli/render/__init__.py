"""Renderers: one interface (`base.Renderer`), one module per output format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gladia_cli.errors import UsageError
from gladia_cli.protocol.messages import SERVER_MESSAGE_TYPES
from gladia_cli.render.base import Labels, Renderer
from gladia_cli.render.captions import CaptionLimits
from gladia_cli.render.output import Output, is_stdout, silence_stdout
from gladia_cli.render.screen import Screen

FORMATS = ("table", "text", "jsonl", "json", "srt", "vtt", "words")
# `-o FILE` picks the format from the extension unless --format says otherwise.
FORMAT_BY_EXTENSION = {
    ".srt": "srt",
    ".vtt": "vtt",
    ".txt": "text",
    ".json": "json",
    ".jsonl": "jsonl",
    ".tsv": "words",
}

DEFAULT_EVENTS = frozenset(set(SERVER_MESSAGE_TYPES) - {"audio_chunk"})
# Formats that read no utterance's words from the parsed messages (jsonl writes the frames
# themselves; json the session's result): their messages may be parsed without them.
WORDLESS_FORMATS = frozenset({"text", "jsonl", "json"})


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
            f"unknown event type(s) for --events: {', '.join(sorted(unknown))}",
            hint=f"choose from: all, {', '.join(SERVER_MESSAGE_TYPES)}",
        )
    return frozenset(names)


def choose_format(
    requested: str | None, *, output_path: Path | None, stdout_is_terminal: bool
) -> str:
    """--format, else the extension of -o, else table on a terminal and jsonl otherwise."""
    implied = None
    if not is_stdout(output_path):
        assert output_path is not None
        implied = FORMAT_BY_EXTENSION.get(output_path.suffix.lower())
    if requested is None:
        if implied is not None:
            return implied
        if is_stdout(output_path):
            return "table" if stdout_is_terminal else "jsonl"
        return "jsonl"
    if requested not in FORMATS:
        raise UsageError(
            f"unknown --format {requested!r}", hint=f"choose from: {', '.join(FORMATS)}"
        )
    if requested == "table" and not is_stdout(output_path):
        raise UsageError(
            "the table is for a terminal and cannot go to a file",
            hint="use --format text, jsonl, json, srt, vtt or words with -o",
        )
    if implied is not None and implied != requested:
        assert output_path is not None
        suggested = output_path.with_suffix(_extension(requested))
        raise UsageError(
            f"-o {output_path} is a {output_path.suffix} file, but --format {requested} was asked",
            hint=f"drop --format (the extension decides), or write to {suggested}",
        )
    return requested


def _extension(fmt: str) -> str:
    return next((ext for ext, name in FORMAT_BY_EXTENSION.items() if name == fmt), ".out")


def create_renderer(
    fmt: str,
    *,
    output_path: Path | None,
    labels: Labels,
    events: frozenset[str] | None,
    screen: Screen,
    on_closed: Callable[[], None] = lambda: None,
    captions: CaptionLimits | None = None,
    output: Output | None = None,
) -> Renderer:
    """`on_closed` is called when the reader of stdout goes away (`| head`); `captions`
    are the srt/vtt cue limits; `output`, when given, is where the data goes instead of
    `output_path` (a run over many inputs opens one for each)."""
    env = screen.env

    def closed() -> None:
        silence_stdout()  # keep Python's exit quiet
        on_closed()

    if fmt == "table":
        from gladia_cli.render.table import TableRenderer

        return TableRenderer(env.stdout_console, labels, screen)
    if output is None:
        output = Output.open(
            output_path,
            stdout=env.stdout,
            guard=screen.writing_data,
            on_closed=closed,
        )
    if fmt == "text":
        from gladia_cli.render.text import TextRenderer

        return TextRenderer(output, labels)
    if fmt == "json":
        from gladia_cli.render.result_json import JsonResultRenderer

        return JsonResultRenderer(output)
    if fmt in ("srt", "vtt"):
        from gladia_cli.render.subtitles import SubtitleRenderer

        return SubtitleRenderer(output, labels, fmt, captions)
    if fmt == "words":
        from gladia_cli.render.words import WordsRenderer

        return WordsRenderer(output, labels)
    from gladia_cli.render.jsonl import JsonlRenderer

    # Unknown types pass with the default selection, not with what --events names.
    return JsonlRenderer(output, events, unknown=events == DEFAULT_EVENTS)
