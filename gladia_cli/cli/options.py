"""The commands' options, declared once, in groups.

An option group is a dataclass whose fields are annotated flags: `StreamOptions` (what
`file`, `live` and `mix` share), `ApiConnection` (the REST commands' connection),
`LocalConnection`, `ManyInputs`… A command names a group as the type of one parameter and
is decorated with `with_options`, which lays the group's flags into the signature Typer
reads and hands them back as one object (and the process's `Environment` to a parameter
of that type). A flag several commands word alike is an alias (`Language`, `Quiet`…); one
a command words otherwise, a function taking the help text. Everything here is cheap to
import: `--help` must start fast.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gladia_cli.cli import choices, option_checks
from gladia_cli.cli.choices import (
    BitDepth,
    CallbackMethod,
    Encoding,
    LocalEngine,
    LocalModel,
    OutputFormat,
    PreRecordedModel,
    Preset,
    Region,
    SampleRate,
    SubtitleFormat,
    SummaryType,
    TranslationModel,
)
from gladia_cli.cli.panels import ADDONS, AUDIO, CONNECTION, MANY, OUTPUT, SESSION
from gladia_cli.environment import Environment

if TYPE_CHECKING:
    from gladia_cli.render.captions import CaptionLimits


def _opt(*names: str, panel: str, help: str, **kwargs: Any) -> Any:
    return typer.Option(*names, rich_help_panel=panel, help=help, **kwargs)


def _show_tracebacks(ctx: typer.Context, value: bool) -> bool:
    # Eager: read before any other value is checked, so that the traceback of an error
    # raised by a later option's check is shown too (cli/app.py prints it).
    if value:
        environment_of(ctx).debug = True
    return value


def debug_option(panel: str | None = None) -> Any:
    """`--debug`, the same on every command that has it: read into `Environment.debug`."""
    return typer.Option(
        "--debug",
        help="Show tracebacks.",
        is_eager=True,
        callback=_show_tracebacks,
        rich_help_panel=panel,
    )


Debug = Annotated[bool, debug_option()]

# The srt/vtt cue limits (render/captions.py), shared with `sessions get` and `replay`.
MaxLineChars = Annotated[
    int,
    _opt(
        "--max-line-chars",
        panel=OUTPUT,
        metavar="N",
        help="srt/vtt: characters per subtitle line (two lines per cue at most).",
        min=10,
        max=200,
    ),
]
MaxCueSeconds = Annotated[
    float,
    _opt(
        "--max-cue-seconds",
        panel=OUTPUT,
        metavar="SECONDS",
        help="srt/vtt: longest a subtitle cue stays on screen.",
        min=1,
        max=60,
    ),
]


# `live` and `mix` (a microphone has no end of its own): stop after this much audio.
Duration = Annotated[
    float | None,
    _opt(
        "--duration",
        panel=AUDIO,
        metavar="SECONDS",
        help="Stop after this many seconds of audio, as a first Ctrl-C does (default: "
        "until Ctrl-C, or the end of the files).",
        show_default=False,
        min=0.1,
    ),
]


Profile = Annotated[
    str | None,
    _opt(
        "--profile",
        panel=CONNECTION,
        metavar="NAME",
        help="Use this profile of the config file and its saved key (env: GLADIA_PROFILE).",
        show_default=False,
    ),
]

# For the commands that only talk to the REST API (sessions, auth, doctor).
ApiKey = Annotated[
    str | None,
    _opt(
        "--api-key",
        help="API key (prefer GLADIA_API_KEY).",
        show_default=False,
        panel=CONNECTION,
        metavar="KEY",
    ),
]
ApiUrl = Annotated[
    str | None,
    _opt(
        "--api-url",
        help="API base URL (env: GLADIA_API_URL).",
        show_default=False,
        panel=CONNECTION,
        metavar="URL",
        callback=option_checks.http_url("--api-url", "https://api.gladia.io"),
    ),
]


@dataclass
class ApiConnection:
    """The connection of the commands that only talk to the REST API (sessions,
    transcriptions): cli/connection.settings_for makes it the settings in force."""

    api_key: ApiKey = None
    api_url: ApiUrl = None
    profile: Profile = None

    # Not options of these commands: what settings_for reads of every connection.
    @property
    def region(self) -> str | None:
        return None

    @property
    def local(self) -> bool:
        return False

    @property
    def local_engine(self) -> str:
        return LocalEngine.WHISPER.value

    @property
    def local_model(self) -> str:
        return LocalModel.BASE.value


# Options the streaming commands (StreamOptions) and `transcribe` both take, declared once:
# an alias where the option reads the same everywhere, a function taking the help text
# (and the panel) where one command says it otherwise.
Language = Annotated[
    list[str] | None,
    _opt(
        "--language",
        "-l",
        panel=SESSION,
        help="Language spoken, as a code: en, fr… (repeat for several; none: detect).",
        show_default=False,
        metavar="CODE",
        callback=option_checks.transcription_languages,
        autocompletion=choices.transcription_languages,
    ),
]
CodeSwitching = Annotated[
    bool, _opt("--code-switching", panel=SESSION, help="Detect the language of every utterance.")
]
Vocabulary = Annotated[
    list[str] | None,
    _opt(
        "--vocabulary",
        panel=SESSION,
        help="A word or phrase to favour (repeatable).",
        show_default=False,
        metavar="WORDS",
    ),
]
VocabularyFile = Annotated[
    Path | None,
    _opt(
        "--vocabulary-file",
        panel=SESSION,
        help="Words to favour, from a file: one a line, TERM | intensity=0.6 | "
        "pronunciations=A, B | language=en (or JSON: the API's list).",
        show_default=False,
        metavar="FILE",
    ),
]
SpellingFile = Annotated[
    Path | None,
    _opt(
        "--spelling-file",
        panel=SESSION,
        help="Custom spellings from a file: one a line, SPELLING = heard1, heard2 "
        "(or JSON: the API's dictionary).",
        show_default=False,
        metavar="FILE",
    ),
]
Metadata = Annotated[
    list[str] | None,
    _opt(
        "--metadata",
        panel=SESSION,
        help="Custom metadata KEY=VALUE (repeatable).",
        show_default=False,
        metavar="KEY=VALUE",
        callback=option_checks.key_values("--metadata", "ticket=T-1234"),
    ),
]
Translate = Annotated[
    list[str] | None,
    _opt(
        "--translate",
        panel=ADDONS,
        help="Translate into this language code (repeatable).",
        show_default=False,
        metavar="CODE",
        callback=option_checks.translation_languages,
        autocompletion=choices.translation_languages,
    ),
]
TranslationModelOption = Annotated[
    TranslationModel | None,
    _opt(
        "--translation-model",
        panel=ADDONS,
        metavar="MODEL",
        help="Translation model.",
        show_default=False,
    ),
]
Ner = Annotated[bool, _opt("--ner", panel=ADDONS, help="Named entity recognition.")]
Sentiment = Annotated[bool, _opt("--sentiment", panel=ADDONS, help="Sentiment analysis.")]
Quiet = Annotated[
    bool, _opt("--quiet", "-q", panel=OUTPUT, help="No progress or notices on stderr.")
]
OutputDebug = Annotated[bool, debug_option(OUTPUT)]
Local = Annotated[
    bool,
    _opt(
        "--local",
        panel=CONNECTION,
        help="Start a local Gladia-compatible server and use it (offline).",
    ),
]

# `--web`: the caption page (render/web.py), on the streaming commands and `replay`.
Web = Annotated[
    bool,
    _opt(
        "--web",
        panel=OUTPUT,
        help="Also show the captions on a web page (its address on stderr), for a screen or "
        "an OBS browser source; style it with URL parameters (see README).",
    ),
]
WebHost = Annotated[
    str | None,
    _opt(
        "--web-host",
        panel=OUTPUT,
        metavar="ADDR",
        help="Serve the caption page on this address (0.0.0.0: every interface) rather than "
        "loopback only; its URL then carries a random token (env: GLADIA_WEB_TOKEN). "
        "Implies --web.",
        show_default=False,
    ),
]
WebPort = Annotated[
    int,
    _opt(
        "--web-port",
        panel=OUTPUT,
        metavar="PORT",
        help="Port of the caption page (0: a free one). A fixed port keeps the page's "
        "address across runs: an open page reconnects by itself. Implies --web.",
        min=0,
        max=65535,
    ),
]


def callback_url_option(help: str) -> Any:
    return _opt(
        "--callback-url",
        panel=SESSION,
        help=help,
        show_default=False,
        metavar="URL",
        callback=option_checks.http_url("--callback-url", "https://example.com/hook"),
    )


def config_option(help: str) -> Any:
    return _opt("--config", panel=SESSION, help=help, show_default=False, metavar="FILE.json")


def summarize_option(help: str) -> Any:
    return _opt("--summarize", panel=ADDONS, metavar="KIND", help=help, show_default=False)


def chapters_option(help: str) -> Any:
    return _opt("--chapters", panel=ADDONS, help=help)


def format_option(help: str, panel: str | None = OUTPUT) -> Any:
    """`--format/-f`; the type (which formats) is the command's."""
    return typer.Option("--format", "-f", rich_help_panel=panel, help=help, show_default=False)


def output_option(help: str, panel: str | None = OUTPUT) -> Any:
    return typer.Option(
        "--output", "-o", rich_help_panel=panel, help=help, show_default=False, metavar="FILE"
    )


LABEL_HELP = "Channel names, one per channel: host,guest1,guest2."


def label_option(help: str = LABEL_HELP, panel: str | None = OUTPUT) -> Any:
    return typer.Option(
        "--label",
        rich_help_panel=panel,
        help=help,
        show_default=False,
        metavar="NAMES",
        callback=option_checks.labels,
    )


# Written out (protocol/messages.py costs ~40 ms to import, too much for --help);
# tests/unit/test_cli_choices.py checks that it names every type there is.
EVENT_TYPES_TEXT = (
    "transcript, speech_start, speech_end, speech_turn_end, start_session, start_recording, "
    "end_recording, end_session, post_transcript, post_final_transcript, post_summarization, "
    "post_chapterization, translation, named_entity_recognition, sentiment_analysis, "
    "answering_machine, error, stop_recording, audio_chunk"
)
EVENTS_HELP = (
    f"Message types jsonl writes, comma-separated or repeated: {EVENT_TYPES_TEXT}; or all. "
    "Default: all but audio_chunk (the acknowledgments)."
)


def events_option(help: str, **kwargs: Any) -> Any:
    return _opt(
        "--events",
        panel=OUTPUT,
        help=help,
        show_default=False,
        metavar="TYPES",
        callback=option_checks.events,
        **kwargs,
    )


def api_key_option(help: str) -> Any:
    return _opt("--api-key", panel=CONNECTION, help=help, show_default=False, metavar="KEY")


def local_engine_option(help: str) -> Any:
    return _opt("--local-engine", panel=CONNECTION, metavar="ENGINE", help=help)


def local_model_option(help: str) -> Any:
    return _opt("--local-model", panel=CONNECTION, metavar="MODEL", help=help)


# `file` and `live`: after the session, who spoke (jobs/speakers.py).
Speakers = Annotated[
    bool,
    _opt(
        "--speakers",
        panel=ADDONS,
        help="One-channel audio: after the session, its recording goes through a "
        "pre-recorded job with diarization, and -o's transcript (and the session, for "
        "gladia sessions get) names who spoke (--label names them); the live view is "
        "unchanged.",
    ),
]

# Gladia's paid plans allow 30 concurrent live sessions (the free plan 1): more than that
# would only wait for a free slot.
MAX_JOBS = 30


@dataclass
class ManyInputs:
    """Several inputs for one command (`file`; `transcribe`: ManyJobs): jobs/many_run.py."""

    from_list: Annotated[
        str | None,
        _opt(
            "--from-list",
            panel=MANY,
            help="Also transcribe the paths or URLs in this file, one a line (- reads "
            "standard input; blank lines and # comments are skipped).",
            show_default=False,
            metavar="FILE",
        ),
    ] = None
    jobs: Annotated[
        int,
        _opt(
            "--jobs",
            "-j",
            panel=MANY,
            help="Sessions at once (Gladia allows 1 on the free plan, 30 on paid ones; "
            "a refused one waits for a free slot).",
            min=1,
            max=MAX_JOBS,
        ),
    ] = 1
    output_dir: Annotated[
        Path | None,
        _opt(
            "--output-dir",
            "-d",
            panel=MANY,
            help="Write each input's output to DIR/<name>.<format's extension>.",
            show_default=False,
            metavar="DIR",
            file_okay=False,
        ),
    ] = None
    skip_existing: Annotated[
        bool,
        _opt(
            "--skip-existing",
            panel=MANY,
            help="Skip inputs whose output is already in --output-dir (resumes a run).",
        ),
    ] = False


@dataclass
class ManyJobs(ManyInputs):
    """`transcribe`'s: what runs at once is jobs, which the server queues."""

    jobs: Annotated[
        int,
        _opt(
            "--jobs",
            "-j",
            panel=MANY,
            help="Jobs submitted and waited for at once (the server runs as many as it "
            "allows; the others wait in its queue).",
            min=1,
            max=MAX_JOBS,
        ),
    ] = 1


@dataclass
class LocalConnection:
    """`transcribe`'s connection: the API, or a server of its own (--local)."""

    api_key: Annotated[
        str | None,
        api_key_option("API key. Prefer the GLADIA_API_KEY variable: options show in `ps`."),
    ] = None
    api_url: ApiUrl = None
    profile: Profile = None
    local: Local = False
    local_engine: Annotated[
        LocalEngine,
        local_engine_option("Recogniser of the --local server: whisper, sphinx or scripted."),
    ] = LocalEngine.WHISPER
    local_model: Annotated[
        LocalModel,
        local_model_option("Whisper model of the --local server: base or tiny.en."),
    ] = LocalModel.BASE

    @property
    def region(self) -> str | None:  # not an option of transcribe's
        return None


@dataclass
class JobFlags:
    """`transcribe`'s flags that make each job's `POST /v2/pre-recorded` body: the same
    names as cli/transcribing.JobOptions, which takes their values (job_options)."""

    language: Language = None
    code_switching: CodeSwitching = False
    model: Annotated[
        PreRecordedModel | None,
        _opt(
            "--model",
            panel=SESSION,
            metavar="MODEL",
            help="Model: solaria-1 (the default, 100+ languages), solaria-3 (en, fr, de, es, "
            "it; no code switching) or solaria-fusion.",
            show_default=False,
        ),
    ] = None
    vocabulary: Vocabulary = None
    vocabulary_file: VocabularyFile = None
    spelling_file: SpellingFile = None
    callback_url: Annotated[
        str | None,
        callback_url_option(
            "The API POSTs the result (or the error) to this http(s) URL at the end."
        ),
    ] = None
    callback_method: Annotated[
        CallbackMethod | None,
        _opt(
            "--callback-method",
            panel=SESSION,
            help="HTTP method of the callback (default POST).",
            show_default=False,
            metavar="METHOD",
        ),
    ] = None
    metadata: Metadata = None
    config: Annotated[
        Path | None,
        config_option("A JSON file holding a POST /v2/pre-recorded body; flags override it."),
    ] = None
    diarization: Annotated[
        bool, _opt("--diarization", panel=ADDONS, help="Tell the speakers apart.")
    ] = False
    speakers: Annotated[
        int | None,
        _opt(
            "--speakers",
            panel=ADDONS,
            help="Diarization: the number of speakers, when known.",
            show_default=False,
            min=1,
            metavar="N",
        ),
    ] = None
    min_speakers: Annotated[
        int | None,
        _opt(
            "--min-speakers",
            panel=ADDONS,
            help="Diarization: at least this many speakers.",
            show_default=False,
            min=1,
            metavar="N",
        ),
    ] = None
    max_speakers: Annotated[
        int | None,
        _opt(
            "--max-speakers",
            panel=ADDONS,
            help="Diarization: at most this many speakers.",
            show_default=False,
            min=1,
            metavar="N",
        ),
    ] = None
    translate: Translate = None
    translation_model: TranslationModelOption = None
    subtitles: Annotated[
        list[SubtitleFormat] | None,
        _opt(
            "--subtitles",
            panel=ADDONS,
            help="Ask the API for subtitles in this format too, in the job's result "
            "(repeatable; -f srt renders them here).",
            show_default=False,
            metavar=choices.metavar(SubtitleFormat),
        ),
    ] = None
    summarize: Annotated[SummaryType | None, summarize_option("A summary, of this kind.")] = None
    ner: Ner = False
    sentiment: Sentiment = False
    chapters: Annotated[bool, chapters_option("Chapters.")] = False


@dataclass
class TranscribeOutput:
    """How `transcribe` writes each job's result."""

    format: Annotated[
        OutputFormat | None,
        format_option(
            "Default: the extension of -o, else table on a terminal and jsonl (the "
            "job, one line each) otherwise; json is the job as the API returns it."
        ),
    ] = None
    output: Annotated[
        Path | None,
        output_option(
            "Write to this file (one input); .srt .vtt .txt .json .jsonl .tsv pick the format."
        ),
    ] = None
    label: Annotated[str | None, label_option()] = None
    max_line_chars: MaxLineChars = 42
    max_cue_seconds: MaxCueSeconds = 7.0
    quiet: Quiet = False
    debug: OutputDebug = False

    @property
    def captions(self) -> CaptionLimits:
        from gladia_cli.render.captions import CaptionLimits

        return CaptionLimits(self.max_line_chars, self.max_cue_seconds)


@dataclass
class StoredOutput:
    """Where and how `sessions get` and `transcriptions get` write a stored transcript (their
    --format is their own: its help speaks of a session or of a job)."""

    output: Annotated[
        Path | None,
        output_option("Write to this file; .srt .vtt .txt .json .tsv pick the format.", panel=None),
    ] = None
    label: Annotated[str | None, label_option(panel=None)] = None
    max_line_chars: MaxLineChars = 42
    max_cue_seconds: MaxCueSeconds = 7.0

    @property
    def captions(self) -> CaptionLimits:
        from gladia_cli.render.captions import CaptionLimits

        return CaptionLimits(self.max_line_chars, self.max_cue_seconds)


@dataclass
class StreamOptions:
    sample_rate: Annotated[
        SampleRate | None,
        _opt(
            "--sample-rate",
            panel=AUDIO,
            metavar="HZ",
            help="Rate to send; default: the source's if the API takes it, else 16000.",
            show_default=False,
        ),
    ] = None
    encoding: Annotated[
        Encoding, _opt("--encoding", panel=AUDIO, help="Encoding to send (alaw/ulaw are 8-bit).")
    ] = Encoding.PCM
    bit_depth: Annotated[
        BitDepth,
        _opt("--bit-depth", panel=AUDIO, metavar="BITS", help="PCM bits per sample to send."),
    ] = 16
    chunk_ms: Annotated[
        int,
        _opt("--chunk-ms", panel=AUDIO, help="Audio per WebSocket frame, in ms.", min=20, max=1000),
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
            metavar="FILE.wav",
        ),
    ] = None

    language: Language = None
    code_switching: CodeSwitching = False
    partials: Annotated[
        bool | None,
        _opt(
            "--partials/--no-partials",
            panel=SESSION,
            help="Receive partial transcripts (default: on).",
            show_default=False,
        ),
    ] = None
    endpointing: Annotated[
        float | None,
        _opt(
            "--endpointing",
            panel=SESSION,
            help="Seconds of silence that end an utterance.",
            show_default=False,
            min=0.01,
            max=10,
            metavar="SECONDS",
        ),
    ] = None
    max_utterance: Annotated[
        float | None,
        _opt(
            "--max-utterance",
            panel=SESSION,
            help="Longest utterance without endpointing, in seconds.",
            show_default=False,
            min=5,
            max=60,
            metavar="SECONDS",
        ),
    ] = None
    preset: Annotated[
        Preset | None,
        _opt(
            "--preset",
            panel=SESSION,
            metavar="USE",
            help="Gladia's recommended parameters for a use case (table below); flags "
            "and --config override them.",
            show_default=False,
        ),
    ] = None
    end_of_turn: Annotated[
        bool,
        _opt(
            "--end-of-turn",
            panel=SESSION,
            help="Semantic end of turn: hold a turn through pauses, and a speech_turn_end "
            "when the speaker is done (shown as ⏎ end of turn).",
        ),
    ] = False
    turn_threshold: Annotated[
        float | None,
        _opt(
            "--turn-threshold",
            panel=SESSION,
            help="End of turn: how sure the model must be that a turn is over (default 0.5; "
            "implies --end-of-turn).",
            show_default=False,
            min=0,
            max=1,
            metavar="0-1",
        ),
    ] = None
    turn_emission_threshold: Annotated[
        float | None,
        _opt(
            "--turn-emission-threshold",
            panel=SESSION,
            help="End of turn: how sure, for speech_turn_end to be sent (default: "
            "--turn-threshold).",
            show_default=False,
            min=0,
            max=1,
            metavar="0-1",
        ),
    ] = None
    turn_max_wait: Annotated[
        float | None,
        _opt(
            "--turn-max-wait",
            panel=SESSION,
            help="End of turn: seconds of speech after which a turn ends anyway (default 8).",
            show_default=False,
            min=1,
            max=30,
            metavar="SECONDS",
        ),
    ] = None
    turn_probe_ms: Annotated[
        int | None,
        _opt(
            "--turn-probe-ms",
            panel=SESSION,
            help="End of turn: how often, in ms, the model checks for the end (default 900).",
            show_default=False,
            min=100,
            max=5000,
            metavar="MS",
        ),
    ] = None
    model: Annotated[
        str | None,
        _opt(
            "--model",
            panel=SESSION,
            help="Model (solaria-1).",
            show_default=False,
            metavar="NAME",
            autocompletion=choices.model_names,
        ),
    ] = None
    speech_threshold: Annotated[
        float | None,
        _opt(
            "--speech-threshold",
            panel=SESSION,
            help="Voice activity strictness (1: strictest).",
            show_default=False,
            min=0,
            max=1,
            metavar="0-1",
        ),
    ] = None
    audio_enhancer: Annotated[
        bool,
        _opt("--audio-enhancer", panel=SESSION, help="Enhance the audio before transcription."),
    ] = False
    vocabulary: Vocabulary = None
    vocabulary_file: VocabularyFile = None
    spelling: Annotated[
        list[str] | None,
        _opt(
            "--spelling",
            panel=SESSION,
            help="Custom spelling SPELLING=heard1,heard2 (repeatable), e.g. SQL=sequel.",
            show_default=False,
            metavar="KEY=VALUES",
            callback=option_checks.key_values("--spelling", "SQL=sequel"),
        ),
    ] = None
    spelling_file: SpellingFile = None
    callback_url: Annotated[
        str | None, callback_url_option("Also POST every message to this http(s) URL.")
    ] = None
    metadata: Metadata = None
    config: Annotated[
        Path | None, config_option("A JSON file holding a full init body; flags override it.")
    ] = None
    dry_run: Annotated[
        bool,
        _opt(
            "--dry-run",
            panel=SESSION,
            help="Print the init body that would be sent (stdout), and stop: no session.",
        ),
    ] = False
    show_body: Annotated[
        bool,
        _opt("--show-body", panel=SESSION, help="Print the init body sent, on stderr."),
    ] = False
    stop_timeout: Annotated[
        float,
        _opt(
            "--stop-timeout",
            panel=SESSION,
            help="Give up after this many seconds without progress from the server "
            "(no acknowledgment, no new message) while waiting for it: for the results "
            "after stopping, or while it is behind. A server that is slow but working is "
            "waited for.",
            min=0.1,
            metavar="SECONDS",
        ),
    ] = 120.0

    translate: Translate = None
    translation_model: TranslationModelOption = None
    ner: Ner = False
    sentiment: Sentiment = False
    summarize: Annotated[
        SummaryType | None, summarize_option("A summary at the end, of this kind.")
    ] = None
    chapters: Annotated[bool, chapters_option("Chapters at the end.")] = False

    format: Annotated[
        OutputFormat | None,
        format_option(
            "Default: the extension of -o, else table on a terminal and jsonl otherwise."
        ),
    ] = None
    output: Annotated[
        Path | None,
        output_option("Write to this file; .srt .vtt .txt .json .jsonl .tsv pick the format."),
    ] = None
    events: Annotated[
        list[str] | None,
        events_option(EVENTS_HELP, autocompletion=choices.event_types),
    ] = None
    label: Annotated[str | None, label_option()] = None
    record: Annotated[
        Path | None,
        _opt(
            "--record",
            panel=OUTPUT,
            help="Also keep every server message, with its arrival time, in this JSON "
            "lines file (for gladia replay; no key or token is written).",
            show_default=False,
            metavar="FILE.jsonl",
        ),
    ] = None
    max_line_chars: MaxLineChars = 42
    max_cue_seconds: MaxCueSeconds = 7.0
    web: Web = False
    web_host: WebHost = None
    web_port: WebPort = 0
    quiet: Quiet = False
    debug: OutputDebug = False

    api_key: Annotated[
        str | None,
        api_key_option(
            "API key. Prefer `gladia auth login` or GLADIA_API_KEY: options show in `ps`."
        ),
    ] = None
    api_url: ApiUrl = None
    profile: Profile = None
    region: Annotated[
        Region | None,
        _opt(
            "--region",
            panel=CONNECTION,
            metavar="REGION",
            help="Region processing the audio (env: GLADIA_REGION).",
            show_default=False,
        ),
    ] = None
    local: Local = False
    local_engine: Annotated[
        LocalEngine,
        local_engine_option(
            "Recogniser of the --local server: whisper (real recognition), sphinx "
            "(plumbing checks) or scripted (deterministic text, for tests)."
        ),
    ] = LocalEngine.WHISPER
    local_model: Annotated[
        LocalModel,
        local_model_option(
            "Whisper model of the --local server: base (multilingual) or tiny.en "
            "(English only, faster)."
        ),
    ] = LocalModel.BASE
    resend_buffer: Annotated[
        float,
        _opt(
            "--resend-buffer",
            panel=CONNECTION,
            metavar="SECONDS",
            help="Seconds of unacknowledged audio kept in memory for re-sending after a "
            "drop; beyond, it waits in a temporary file.",
            min=1,
            max=24 * 3600,
        ),
    ] = 300.0
    dead_after: Annotated[
        float,
        _opt(
            "--dead-after",
            panel=CONNECTION,
            metavar="SECONDS",
            help="Seconds without any frame from the server before a connection is "
            "deemed dead and replaced.",
            min=1,
            max=600,
        ),
    ] = 10.0


def environment_of(ctx: typer.Context) -> Environment:
    """The Environment the app put in the context (a default one when run otherwise)."""
    found = ctx.find_object(Environment)
    return found if found is not None else Environment()


def _is_group(annotation: Any) -> bool:
    return isinstance(annotation, type) and is_dataclass(annotation)


def with_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Declare `command`'s options by groups, the same way for every command.

    Typer reads a signature: each parameter of `command` whose annotation is an option
    group (a dataclass of annotated flags: StreamOptions, ApiConnection, ManyInputs…) is
    replaced, where it stands, by the group's flags, and `command` receives them as one
    object of the group; a parameter annotated `Environment` receives the process's (from
    the click context, cli/app.py). The flags keep their names, so the help, the
    completions and the tests see the same options as when they were written out."""
    hints = typing.get_type_hints(command, include_extras=True)
    groups: dict[str, type[Any]] = {}
    environment: str | None = None
    context: str | None = None
    parameters: list[inspect.Parameter] = []
    for param in inspect.signature(command).parameters.values():
        annotation = hints.get(param.name, param.annotation)
        if annotation is Environment:
            environment = param.name
            continue
        if annotation is typer.Context:
            context = param.name
        if not _is_group(annotation):
            parameters.append(
                param.replace(kind=inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
            )
            continue
        groups[param.name] = annotation
        flags = typing.get_type_hints(annotation, include_extras=True)
        parameters += [
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=field.default,
                annotation=flags[field.name],
            )
            for field in fields(annotation)
        ]
    names = [p.name for p in parameters]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    assert not duplicated, f"{command.__name__}: options declared twice: {duplicated}"
    if context is None:
        context = "ctx"
        parameters.append(
            inspect.Parameter(context, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context)
        )
    members = {name: [f.name for f in fields(group)] for name, group in groups.items()}
    takes_context = any(p.name == context for p in inspect.signature(command).parameters.values())

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        ctx = kwargs[context] if takes_context else kwargs.pop(context)
        for name, group in groups.items():
            kwargs[name] = group(**{flag: kwargs.pop(flag) for flag in members[name]})
        if environment is not None:
            kwargs[environment] = environment_of(ctx)
        return command(**kwargs)

    wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    # Resolved, not strings: Typer evaluates string annotations in this module's globals.
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    del wrapper.__wrapped__  # Typer must read the new signature, not the original one
    return wrapper
