"""From the shared options to a running job: settings, init body, wire format, renderer.

The init body is built from `--config FILE.json` with the flags laid over it, then checked
with the same validation the server uses, so a mistake fails before any network call.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from gladia_cli.audio.source import AudioSource
from gladia_cli.cli.options import StreamOptions
from gladia_cli.errors import UsageError
from gladia_cli.protocol import init_config
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.messages import SERVER_MESSAGE_TYPES, gating_flag
from gladia_cli.render import DEFAULT_EVENTS, choose_format, create_renderer, parse_events
from gladia_cli.render.base import Labels
from gladia_cli.settings import Settings, resolve

ENCODINGS = {"pcm": "wav/pcm", "alaw": "wav/alaw", "ulaw": "wav/ulaw"}
ENGINES = ("sphinx", "scripted")


def writes_stdout(opts: StreamOptions) -> bool:
    return opts.output is None or str(opts.output) == "-"


def settings_from(opts: StreamOptions) -> Settings:
    if opts.local_engine not in ENGINES:
        raise UsageError(
            f"unknown --local-engine {opts.local_engine!r}",
            hint=f"choose from: {', '.join(ENGINES)}",
        )
    return resolve(
        api_key=opts.api_key,
        api_url=opts.api_url,
        region=opts.region,
        local=opts.local,
        local_engine=opts.local_engine,
        environ=os.environ,
        warn=warn_on_stderr,
    )


def warn_on_stderr(text: str) -> None:
    from gladia_cli.safe_text import plain

    if sys.stderr is not None:
        sys.stderr.write(f"gladia: warning: {plain(text)}\n")


def load_config_body(opts: StreamOptions) -> dict[str, Any]:
    if opts.config is None:
        return {}
    try:
        body = json.loads(opts.config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such config file: {opts.config}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {opts.config}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{opts.config} is not valid JSON (line {exc.lineno}: {exc.msg})",
            hint="--config takes a POST /v2/live body as JSON",
        ) from None
    if not isinstance(body, dict):
        raise UsageError(f"{opts.config} must hold a JSON object (an init body)")
    return body


def target_rate(opts: StreamOptions, base: dict[str, Any]) -> int | None:
    """The rate asked for, by flag or by the config file; None lets the source decide."""
    rate = opts.sample_rate if opts.sample_rate is not None else base.get("sample_rate")
    return int(rate) if rate is not None else None


def wire_format(opts: StreamOptions, base: dict[str, Any], source: AudioSource) -> AudioFormat:
    if opts.encoding not in ENCODINGS:
        raise UsageError(f"unknown --encoding {opts.encoding!r}", hint="choose pcm, alaw or ulaw")
    encoding = (
        ENCODINGS[opts.encoding] if opts.encoding != "pcm" else base.get("encoding", "wav/pcm")
    )
    bit_depth = opts.bit_depth if opts.bit_depth != 16 else int(base.get("bit_depth", 16))
    if encoding != "wav/pcm":
        bit_depth = 8
    return AudioFormat(
        encoding=encoding,
        bit_depth=bit_depth,
        sample_rate=source.format.sample_rate,
        channels=source.format.channels,
    )


def _key_values(values: list[str] | None, option: str) -> dict[str, str]:
    pairs = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} takes KEY=VALUE (got {value!r})")
        pairs[key] = rest
    return pairs


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def init_body(
    opts: StreamOptions, base: dict[str, Any], wire: AudioFormat, events: frozenset[str] | None
) -> dict[str, Any]:
    """The config file's body with every given flag laid over it, validated.

    `events` are the message types explicitly asked for with `--events` (None: all); their
    `messages_config` flags are turned on, since a type not sent cannot be shown.
    """
    flags: dict[str, Any] = {
        "encoding": wire.encoding,
        "bit_depth": wire.bit_depth,
        "sample_rate": wire.sample_rate,
        "channels": wire.channels,
    }
    if opts.model:
        flags["model"] = opts.model
    if opts.endpointing is not None:
        flags["endpointing"] = opts.endpointing
    if opts.max_utterance is not None:
        flags["maximum_duration_without_endpointing"] = opts.max_utterance
    language: dict[str, Any] = {}
    if opts.language:
        language["languages"] = opts.language
    if opts.code_switching:
        language["code_switching"] = True
    if language:
        flags["language_config"] = language
    pre: dict[str, Any] = {}
    if opts.audio_enhancer:
        pre["audio_enhancer"] = True
    if opts.speech_threshold is not None:
        pre["speech_threshold"] = opts.speech_threshold
    if pre:
        flags["pre_processing"] = pre
    realtime: dict[str, Any] = {}
    if opts.vocabulary:
        realtime["custom_vocabulary"] = True
        realtime["custom_vocabulary_config"] = {"vocabulary": opts.vocabulary}
    if opts.spelling:
        spellings = _key_values(opts.spelling, "--spelling")
        realtime["custom_spelling"] = True
        realtime["custom_spelling_config"] = {
            "spelling_dictionary": {k: [s for s in v.split(",") if s] for k, v in spellings.items()}
        }
    if opts.translate:
        realtime["translation"] = True
        realtime["translation_config"] = {"target_languages": opts.translate}
        if opts.translation_model:
            realtime["translation_config"]["model"] = opts.translation_model
    if opts.ner:
        realtime["named_entity_recognition"] = True
    if opts.sentiment:
        realtime["sentiment_analysis"] = True
    if realtime:
        flags["realtime_processing"] = realtime
    post: dict[str, Any] = {}
    if opts.summarize:
        post["summarization"] = True
        post["summarization_config"] = {"type": opts.summarize}
    if opts.chapters:
        post["chapterization"] = True
    if post:
        flags["post_processing"] = post
    if opts.callback_url:
        flags["callback"] = True
        flags["callback_config"] = {"url": opts.callback_url}
    if opts.metadata:
        flags["custom_metadata"] = _key_values(opts.metadata, "--metadata")

    # What the user asked to see must be sent; acknowledgments are always needed to resume.
    messages: dict[str, bool] = {"receive_acknowledgments": True}
    configured = base.get("messages_config") or {}
    if opts.partials is not None or "receive_partial_transcripts" not in configured:
        messages["receive_partial_transcripts"] = opts.partials is not False
    for event in SERVER_MESSAGE_TYPES if events is None else events:
        flag = gating_flag(event)  # for transcripts, the finals; partials follow --partials
        if flag is not None:
            messages[flag] = True
    flags["messages_config"] = messages

    body = _merge(base, flags)
    problems = init_config.validate(body) + init_config.semantic_errors(body)
    if problems:
        raise UsageError("invalid session options: " + "; ".join(problems))
    return body


def labels_for(opts: StreamOptions, source: AudioSource) -> Labels:
    channels = source.format.channels
    names: list[str] = []
    if opts.label:
        names = [name.strip() for name in opts.label.split(",")]
        if len(names) > channels:
            raise UsageError(
                f"--label names {len(names)} channels but the audio has {channels}",
                hint="give one name per channel, in channel order",
            )
    elif source.labels:
        names = list(source.labels)
    return Labels(tuple(names), channels)


def run(
    opts: StreamOptions,
    source: AudioSource,
    *,
    pace: float | None,
    base: dict[str, Any],
    live_source: bool = False,
) -> int:
    """Run a streaming job for a source that is already open (so input errors come first).

    `base` is the `--config` body, which the command already read to open its source.
    `live_source`: the audio comes from a microphone, which cannot wait for the network."""
    from rich.console import Console

    from gladia_cli.client.job import Notices, StreamJob, run_stream_job

    settings = settings_from(opts)
    wire = wire_format(opts, base, source)
    events = parse_events(opts.events or [])
    body = init_body(opts, base, wire, events)
    shown = DEFAULT_EVENTS if events == frozenset() else events
    fmt = choose_format(
        opts.format, output_path=opts.output, stdout_is_terminal=sys.stdout.isatty()
    )
    if not 20 <= opts.chunk_ms <= 1000:
        raise UsageError("--chunk-ms must be between 20 and 1000")
    if not 1 <= opts.resend_buffer <= 24 * 3600:
        raise UsageError("--resend-buffer must be between 1 and 86400 seconds")
    if not 1 <= opts.dead_after <= 600:
        raise UsageError("--dead-after must be between 1 and 600 seconds")
    notices = Notices(Console(stderr=True), opts.quiet)
    if opts.api_key:
        notices.warning(
            "--api-key is visible to other users of this machine; prefer GLADIA_API_KEY"
        )
    renderer = create_renderer(
        fmt, output_path=opts.output, labels=labels_for(opts, source), events=shown
    )
    job = StreamJob(
        settings=settings,
        body=body,
        source=source,
        wire=wire,
        renderer=renderer,
        pace=pace,
        chunk_ms=opts.chunk_ms,
        use_base64=opts.base64,
        stop_timeout=opts.stop_timeout,
        save_audio=opts.save_audio,
        quiet=opts.quiet,
        show_progress=fmt != "table" and not opts.quiet and sys.stderr.isatty(),
        live_source=live_source,
        backlog_seconds=opts.resend_buffer,
        dead_after=opts.dead_after,
    )
    try:
        return run_stream_job(job, notices)
    finally:
        renderer.close()
