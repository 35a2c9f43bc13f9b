"""From the shared options to the streaming job: settings, init body, wire format.

Two steps. `plan` takes everything the options decide without audio — the settings, the
output format and path, the `--config` body, conflicts between options — so a mistake
fails before a file is opened, a microphone records or a URL downloads. `run` then hands
the opened source to the job (jobs/streaming.py) with what it needs of the plan
(`job_plan`), among it how to build the init body for the source's format (checked with
the same validation the server uses, so a mistake fails before any network call).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any

from gladia_cli.audio.source import AudioSource
from gladia_cli.cli import speaker_labels
from gladia_cli.cli.connection import settings_for
from gladia_cli.cli.local_server import embedded_server
from gladia_cli.cli.options import StreamOptions
from gladia_cli.cli.web_captions import web_options
from gladia_cli.environment import Environment
from gladia_cli.errors import UsageError
from gladia_cli.jobs import config_body
from gladia_cli.protocol import init_config, prerecorded_config, presets
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.body_flags import body_from, key_values
from gladia_cli.protocol.messages import SERVER_MESSAGE_TYPES, gating_flag
from gladia_cli.render import (
    choose_format,
    parse_events,
)
from gladia_cli.render.captions import CaptionLimits
from gladia_cli.render.notices import Notices
from gladia_cli.render.output import check_output_path
from gladia_cli.render.screen import Screen
from gladia_cli.render.web import WebOptions
from gladia_cli.server.recognition.engines import catalog
from gladia_cli.settings import Settings

if TYPE_CHECKING:
    from gladia_cli.jobs.stream_plan import StreamPlan

ENCODINGS = {"pcm": "wav/pcm", "alaw": "wav/alaw", "ulaw": "wav/ulaw"}

# What the local server's engines accept but do not act on (server/live/live_session.py): the
# session runs, so the user is told rather than refused.
LOCAL_IGNORES = {
    "vocabulary": "--vocabulary",
    "spelling": "--spelling",
    "audio_enhancer": "--audio-enhancer",
    "region": "--region",
}
WHISPER_HONOURS = frozenset({"vocabulary"})  # as decoding hints


def writes_stdout(opts: StreamOptions) -> bool:
    return opts.output is None or str(opts.output) == "-"


@dataclass
class Plan:
    """What the options decided, checked; the source is opened after this."""

    opts: StreamOptions
    env: Environment
    settings: Settings
    base: dict[str, Any]  # the --config body
    fmt: str
    events: frozenset[str] | None  # asked for with --events (None: all; empty: none given)
    screen: Screen
    notices: Notices
    # What --vocabulary-file and --spelling-file hold: realtime_processing, read at plan time.
    terms: dict[str, Any] = dataclass_field(default_factory=dict)
    speakers: bool = False  # --speakers (live, file): jobs/speakers.py after the session
    web: WebOptions | None = None  # --web: the caption page


def plan(
    opts: StreamOptions, env: Environment, *, speakers: bool = False, output_dir: bool = False
) -> Plan:
    """`speakers`: --speakers (live, file); `output_dir`: the outputs are --output-dir's."""
    if opts.local:  # before anything: the extra that --local needs
        from gladia_cli.cli import local_requests

        local_requests.check_server(opts.local_engine, opts.local_model)
        local_requests.check_languages(opts.local_engine, opts.local_model, opts.language)
    screen = Screen(env)
    notices = Notices(screen, opts.quiet)
    # The key is asked for when the API is called: --dry-run needs none.
    settings = settings_for(opts, env, notices.warning)
    check_output_path(opts.output)
    if opts.record is not None:
        if str(opts.record) == "-":
            raise UsageError(
                "--record needs a file: stdout carries the transcript",
                hint="for example --record talk.jsonl",
            )
        check_output_path(opts.record, "--record")
    fmt = choose_format(
        opts.format, output_path=opts.output, stdout_is_terminal=bool(env.stdout_isatty)
    )
    events = parse_events(opts.events or [])
    if opts.events and fmt != "jsonl":
        raise UsageError(
            f"--events chooses the messages jsonl writes; the format here is {fmt}",
            hint="add --format jsonl, or drop --events",
        )
    base = config_body.load_body(opts.config, config_body.LIVE)
    if opts.preset is not None:
        base = _merge(presets.preset_body(opts.preset), base)  # --config goes over the preset
        if opts.preset in presets.needs_language and not opts.language and not opts.quiet:
            notices.info(
                f"--preset {opts.preset}: Gladia recommends setting the language "
                "(--language CODE) when it is known"
            )
    if opts.model and opts.model not in init_config.LIVE_MODELS:
        raise UsageError(
            f"--model {opts.model} is not a live model "
            f"(live: {', '.join(init_config.LIVE_MODELS)})",
            hint="solaria-3 is for recordings: gladia transcribe FILE --model solaria-3"
            if opts.model in prerecorded_config.MODELS
            else "drop --model: the API picks its live model",
        )
    terms = term_fragments(opts)
    if opts.local:  # the preset and --config included: what the local server would get
        from gladia_cli.cli import local_requests

        local_requests.check_body(_merge(base, processing_flags(opts, terms)))
    if opts.local:
        honoured = WHISPER_HONOURS if opts.local_engine == catalog.WHISPER else frozenset()
        ignored = [
            flag
            for name, flag in LOCAL_IGNORES.items()
            if getattr(opts, name) and name not in honoured
        ]
        tuned = [flag for name, flag in TURN_FLAGS.items() if getattr(opts, name) is not None]
        if tuned:
            notices.warning(
                f"the local server ends turns on silence (its endpointing): it accepts but "
                f"does not act on {', '.join(tuned)}"
            )
        if ignored:
            notices.warning(
                f"the local server accepts but ignores {', '.join(ignored)} "
                "(its engines do not implement them)"
            )
    if speakers:
        speaker_labels.check(opts, fmt, output_dir=output_dir)
    web = web_options(opts.web, opts.web_host, opts.web_port, env.environ)
    return Plan(opts, env, settings, base, fmt, events, screen, notices, terms, speakers, web)


# The end-of-turn flags (protocol.md §11; the `end_of_turn` fields they set:
# init_config.LIVE_SESSION_FLAGS).
TURN_FLAGS = {
    "turn_threshold": "--turn-threshold",
    "turn_emission_threshold": "--turn-emission-threshold",
    "turn_max_wait": "--turn-max-wait",
    "turn_probe_ms": "--turn-probe-ms",
}


def term_fragments(opts: StreamOptions) -> dict[str, Any]:
    """`realtime_processing` from --vocabulary-file and --spelling-file (with --vocabulary and
    --spelling added to them), read now: a bad line fails before any audio is opened."""
    from gladia_cli.cli import term_files

    realtime: dict[str, Any] = {}
    if opts.vocabulary_file is not None:
        text = term_files.read_text(opts.vocabulary_file, "--vocabulary-file")
        found = term_files.parse_vocabulary(text, str(opts.vocabulary_file))
        config: dict[str, Any] = {"vocabulary": [*found.entries, *(opts.vocabulary or [])]}
        if found.default_intensity is not None:
            config["default_intensity"] = found.default_intensity
        realtime["custom_vocabulary"] = True
        realtime["custom_vocabulary_config"] = config
    if opts.spelling_file is not None:
        text = term_files.read_text(opts.spelling_file, "--spelling-file")
        dictionary = term_files.parse_spelling(text, str(opts.spelling_file))
        for key, heard in key_values(opts.spelling, "--spelling").items():
            dictionary.setdefault(key, []).extend(h for h in heard.split(",") if h)
        realtime["custom_spelling"] = True
        realtime["custom_spelling_config"] = {"spelling_dictionary": dictionary}
    return realtime


def target_rate(opts: StreamOptions, base: dict[str, Any]) -> int | None:
    """The rate asked for, by flag or by the config file; None lets the source decide."""
    rate = opts.sample_rate if opts.sample_rate is not None else base.get("sample_rate")
    return int(rate) if rate is not None else None


def wire_format(opts: StreamOptions, base: dict[str, Any], source: AudioSource) -> AudioFormat:
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


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def processing_flags(opts: StreamOptions, terms: dict[str, Any] | None = None) -> dict[str, Any]:
    """The realtime and post-processing sections the flags ask for (the add-ons among
    them: `--local` checks those before anything runs); `terms`: the vocabulary and
    spelling files' fragments, which go before the flags."""
    return body_from(init_config.LIVE_PROCESSING_FLAGS, _flag_values(opts, terms))


def _flag_values(opts: StreamOptions, terms: dict[str, Any] | None) -> Callable[[str], Any]:
    return lambda name: terms if name == "terms" else getattr(opts, name)


def init_body(
    opts: StreamOptions,
    base: dict[str, Any],
    wire: AudioFormat,
    events: frozenset[str] | None,
    terms: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The config file's body with every given flag laid over it, validated.

    `events` are the message types explicitly asked for with `--events` (None: all); their
    `messages_config` flags are turned on, since a type not sent cannot be shown.
    """
    fmt = {
        "encoding": wire.encoding,
        "bit_depth": wire.bit_depth,
        "sample_rate": wire.sample_rate,
        "channels": wire.channels,
    }
    flags = body_from(init_config.LIVE_FLAGS, _flag_values(opts, terms), fmt)
    # What the user asked to see must be sent; acknowledgments are always needed to resume.
    # Errors too: an `error` from the server ends the run non-zero (jobs/stream_job.py).
    messages: dict[str, bool] = {"receive_acknowledgments": True, "receive_errors": True}
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


def dry_run(plan: Plan, *, channels: int) -> int:
    """--dry-run with no source opened (a microphone): the body for `channels` channels at
    the rate asked for, else 16000 (the device's own may differ; it is resampled to one
    the API takes)."""
    rate = target_rate(plan.opts, plan.base) or 16000
    fmt = AudioFormat(sample_rate=rate, channels=channels)
    wire = replace(
        fmt,
        encoding=ENCODINGS[plan.opts.encoding],
        bit_depth=8 if plan.opts.encoding != "pcm" else plan.opts.bit_depth,
    )
    from gladia_cli.jobs.streaming import show_body

    show_body(plan.env, init_body(plan.opts, plan.base, wire, plan.events, plan.terms), True)
    return 0


@contextlib.contextmanager
def one_local_server(plan: Plan) -> Iterator[Plan]:
    """With --local, one embedded server for a whole run over many inputs (not one per
    input): the plan returned points at it. It sets no session limit, so every --jobs
    session is let in."""
    if not plan.opts.local:
        yield plan
        return
    with embedded_server(
        plan.settings, warn=plan.notices.warning, debug=plan.opts.debug
    ) as settings:
        yield replace(
            plan, opts=replace(plan.opts, local=False), settings=replace(settings, local=False)
        )


def _request(plan: Plan, source: AudioSource) -> tuple[AudioFormat, dict[str, Any]]:
    """The wire format for `source`, and the init body for it (validated)."""
    wire = wire_format(plan.opts, plan.base, source)
    return wire, init_body(plan.opts, plan.base, wire, plan.events, plan.terms)


def job_plan(plan: Plan) -> StreamPlan:
    """What the streaming job needs of the plan (jobs/streaming.py)."""
    from gladia_cli.jobs.stream_plan import StreamPlan

    opts = plan.opts
    return StreamPlan(
        env=plan.env,
        settings=plan.settings,
        request=functools.partial(_request, plan),
        fmt=plan.fmt,
        events=plan.events,
        screen=plan.screen,
        notices=plan.notices,
        output=opts.output,
        record=opts.record,
        save_audio=opts.save_audio,
        label=opts.label,
        captions=CaptionLimits(opts.max_line_chars, opts.max_cue_seconds),
        quiet=opts.quiet,
        dry_run=opts.dry_run,
        show_body=opts.show_body,
        chunk_ms=opts.chunk_ms,
        use_base64=opts.base64,
        stop_timeout=opts.stop_timeout,
        resend_buffer=opts.resend_buffer,
        dead_after=opts.dead_after,
        speakers=plan.speakers,
        web=plan.web,
        server_for=functools.partial(embedded_server, warn=plan.notices.warning, debug=opts.debug),
    )


def run(
    plan: Plan,
    source: AudioSource,
    *,
    pace: float | None,
    merged: bool = False,
    live_source: bool = False,
) -> int:
    """The streaming job (jobs/streaming.py) for a source that is already open (so input
    errors come first); `live_source`: a microphone, which cannot wait for the network."""
    from gladia_cli.jobs.streaming import run_stream

    pin_memory()
    return run_stream(job_plan(plan), source, pace=pace, merged=merged, live_source=live_source)


def pin_memory() -> None:
    """A session may run for hours: freed frame buffers (a long session's end messages are
    megabytes) go back to the system instead of raising glibc's threshold and staying."""
    from gladia_cli.server.recognition.malloc_tuning import pin_mmap_threshold

    pin_mmap_threshold()
