"""The options `file`, `live` and `mix` share, declared once.

`StreamOptions` lists each flag as an annotated field; `with_stream_options` appends those
fields to a command's signature (Typer reads the signature) and hands them back to the
command as one `StreamOptions` object. Everything here is cheap to import: `--help` must
start fast.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

CONNECTION = "Connection"
AUDIO = "Audio sent"
TRANSCRIPTION = "Transcription"
ADDONS = "Audio intelligence"
OUTPUT = "Output"


def _opt(*names: str, panel: str, help: str, **kwargs: Any) -> Any:
    return typer.Option(*names, rich_help_panel=panel, help=help, **kwargs)


@dataclass
class StreamOptions:
    api_key: Annotated[
        str | None,
        _opt(
            "--api-key",
            panel=CONNECTION,
            help="API key. Prefer the GLADIA_API_KEY variable: options show in `ps`.",
            show_default=False,
        ),
    ] = None
    api_url: Annotated[
        str | None,
        _opt(
            "--api-url",
            panel=CONNECTION,
            help="API base URL (env: GLADIA_API_URL)",
            show_default=False,
        ),
    ] = None
    region: Annotated[
        str | None,
        _opt(
            "--region",
            panel=CONNECTION,
            help="us-west or eu-west (env: GLADIA_REGION)",
            show_default=False,
        ),
    ] = None
    local: Annotated[
        bool,
        _opt(
            "--local",
            panel=CONNECTION,
            help="Start a local Gladia-compatible server and use it (offline).",
        ),
    ] = False
    resend_buffer: Annotated[
        float,
        _opt(
            "--resend-buffer",
            panel=CONNECTION,
            help="Seconds of unacknowledged audio kept in memory for re-sending after a "
            "drop; beyond, it waits in a temporary file.",
        ),
    ] = 300.0
    dead_after: Annotated[
        float,
        _opt(
            "--dead-after",
            panel=CONNECTION,
            help="Seconds without any frame from the server before a connection is "
            "deemed dead and replaced.",
        ),
    ] = 10.0
    local_engine: Annotated[
        str,
        _opt(
            "--local-engine",
            panel=CONNECTION,
            help="Recogniser of the --local server: sphinx or scripted.",
        ),
    ] = "sphinx"

    sample_rate: Annotated[
        int | None,
        _opt(
            "--sample-rate",
            panel=AUDIO,
            help="Rate to send (8000, 16000, 32000, 44100, 48000); default: the source's "
            "if the API takes it, else 16000.",
            show_default=False,
        ),
    ] = None
    encoding: Annotated[
        str, _opt("--encoding", panel=AUDIO, help="pcm, alaw or ulaw (alaw/ulaw are 8-bit).")
    ] = "pcm"
    bit_depth: Annotated[
        int, _opt("--bit-depth", panel=AUDIO, help="PCM bits per sample: 8, 16, 24 or 32.")
    ] = 16
    chunk_ms: Annotated[
        int, _opt("--chunk-ms", panel=AUDIO, help="Audio per WebSocket frame, in milliseconds.")
    ] = 100
    base64: Annotated[
        bool,
        _opt(
            "--base64", panel=AUDIO, help="Send JSON audio_chunk messages instead of binary frames."
        ),
    ] = False
    save_audio: Annotated[
        Path | None,
        _opt(
            "--save-audio",
            panel=AUDIO,
            help="Also write exactly the audio sent to this WAV file.",
            show_default=False,
        ),
    ] = None

    language: Annotated[
        list[str] | None,
        _opt(
            "--language",
            "-l",
            panel=TRANSCRIPTION,
            help="Language code (repeat for several; none: detect).",
            show_default=False,
        ),
    ] = None
    code_switching: Annotated[
        bool,
        _opt(
            "--code-switching", panel=TRANSCRIPTION, help="Detect the language of every utterance."
        ),
    ] = False
    partials: Annotated[
        bool | None,
        _opt(
            "--partials/--no-partials",
            panel=TRANSCRIPTION,
            help="Receive partial transcripts (default: on).",
            show_default=False,
        ),
    ] = None
    endpointing: Annotated[
        float | None,
        _opt(
            "--endpointing",
            panel=TRANSCRIPTION,
            help="Seconds of silence that end an utterance (0.01–10).",
            show_default=False,
        ),
    ] = None
    max_utterance: Annotated[
        float | None,
        _opt(
            "--max-utterance",
            panel=TRANSCRIPTION,
            help="Longest utterance without endpointing, seconds (5–60).",
            show_default=False,
        ),
    ] = None
    model: Annotated[
        str | None,
        _opt("--model", panel=TRANSCRIPTION, help="Model (solaria-1).", show_default=False),
    ] = None
    speech_threshold: Annotated[
        float | None,
        _opt(
            "--speech-threshold",
            panel=TRANSCRIPTION,
            help="Voice activity strictness, 0–1.",
            show_default=False,
        ),
    ] = None
    audio_enhancer: Annotated[
        bool,
        _opt(
            "--audio-enhancer", panel=TRANSCRIPTION, help="Enhance the audio before transcription."
        ),
    ] = False
    vocabulary: Annotated[
        list[str] | None,
        _opt(
            "--vocabulary",
            panel=TRANSCRIPTION,
            help="A word or phrase to favour (repeatable).",
            show_default=False,
        ),
    ] = None
    spelling: Annotated[
        list[str] | None,
        _opt(
            "--spelling",
            panel=TRANSCRIPTION,
            help="Custom spelling, SPELLING=heard1,heard2 (repeatable), e.g. SQL=sequel.",
            show_default=False,
        ),
    ] = None

    translate: Annotated[
        list[str] | None,
        _opt(
            "--translate",
            panel=ADDONS,
            help="Translate into this language (repeatable).",
            show_default=False,
        ),
    ] = None
    translation_model: Annotated[
        str | None,
        _opt("--translation-model", panel=ADDONS, help="base or enhanced.", show_default=False),
    ] = None
    ner: Annotated[bool, _opt("--ner", panel=ADDONS, help="Named entity recognition.")] = False
    sentiment: Annotated[bool, _opt("--sentiment", panel=ADDONS, help="Sentiment analysis.")] = (
        False
    )
    summarize: Annotated[
        str | None,
        _opt(
            "--summarize",
            panel=ADDONS,
            help="Summary at the end: general, bullet_points or concise.",
            show_default=False,
        ),
    ] = None
    chapters: Annotated[
        bool, _opt("--chapters", panel=ADDONS, help="Chapterization at the end.")
    ] = False
    callback_url: Annotated[
        str | None,
        _opt(
            "--callback-url",
            panel=ADDONS,
            help="Also POST every message to this URL.",
            show_default=False,
        ),
    ] = None
    metadata: Annotated[
        list[str] | None,
        _opt(
            "--metadata",
            panel=ADDONS,
            help="Custom metadata KEY=VALUE (repeatable).",
            show_default=False,
        ),
    ] = None
    config: Annotated[
        Path | None,
        _opt(
            "--config",
            panel=ADDONS,
            help="A JSON file holding a full init body; flags override it.",
            show_default=False,
        ),
    ] = None

    format: Annotated[
        str | None,
        _opt(
            "--format",
            "-f",
            panel=OUTPUT,
            help="table, text, jsonl, json, srt or vtt (default: table on a terminal, else jsonl)",
            show_default=False,
        ),
    ] = None
    output: Annotated[
        Path | None,
        _opt(
            "--output",
            "-o",
            panel=OUTPUT,
            help="Write the transcript to this file.",
            show_default=False,
        ),
    ] = None
    events: Annotated[
        list[str] | None,
        _opt(
            "--events",
            panel=OUTPUT,
            help="Message types jsonl writes, comma-separated or repeated; `all` includes "
            "acknowledgments.",
            show_default=False,
        ),
    ] = None
    label: Annotated[
        str | None,
        _opt(
            "--label",
            panel=OUTPUT,
            help="Channel names, comma-separated: host,guest1,guest2.",
            show_default=False,
        ),
    ] = None
    stop_timeout: Annotated[
        float,
        _opt(
            "--stop-timeout",
            panel=OUTPUT,
            help="Seconds to wait for the final results after stopping.",
        ),
    ] = 120.0
    quiet: Annotated[
        bool, _opt("--quiet", "-q", panel=OUTPUT, help="No progress or notices on stderr.")
    ] = False
    debug: Annotated[bool, _opt("--debug", panel=OUTPUT, help="Show tracebacks.")] = False


_FIELD_NAMES = [f.name for f in fields(StreamOptions)]

F = TypeVar("F", bound=Callable[..., Any])


def with_stream_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give `command` every StreamOptions flag; it receives them as `opts: StreamOptions`."""
    hints = typing.get_type_hints(StreamOptions, include_extras=True)
    shared = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=getattr(StreamOptions, name),
            annotation=hints[name],
        )
        for name in _FIELD_NAMES
    ]
    own_hints = typing.get_type_hints(command, include_extras=True)
    own = [
        p.replace(annotation=own_hints.get(p.name, p.annotation))
        for p in inspect.signature(command).parameters.values()
        if p.name != "opts"
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        opts = StreamOptions(**{name: kwargs.pop(name) for name in _FIELD_NAMES})
        return command(opts=opts, **kwargs)

    wrapper.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    del wrapper.__wrapped__  # Typer must read the new signature, not the original one
    return wrapper
