"""`gladia transcribe PATH|URL…`: files through Gladia's pre-recorded API (upload, job,
poll), for recordings that need no live pace. The options become a job body
(cli/transcribing.py); the work is in jobs/prerecorded.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gladia_cli.cli import choices
from gladia_cli.cli.choices import (
    CallbackMethod,
    LocalEngine,
    LocalModel,
    OutputFormat,
    PreRecordedModel,
    SubtitleFormat,
    SummaryType,
)
from gladia_cli.cli.file_cmd import MAX_JOBS
from gladia_cli.cli.options import (
    ApiUrl,
    CodeSwitching,
    Language,
    Local,
    MaxCueSeconds,
    MaxLineChars,
    Metadata,
    Ner,
    OutputDebug,
    Profile,
    Quiet,
    Sentiment,
    SpellingFile,
    Translate,
    TranslationModelOption,
    Vocabulary,
    VocabularyFile,
    _opt,
    api_key_option,
    callback_url_option,
    chapters_option,
    config_option,
    environment_of,
    format_option,
    label_option,
    local_engine_option,
    local_model_option,
    output_option,
    summarize_option,
)
from gladia_cli.cli.panels import ADDONS, MANY, SESSION

EXAMPLES = """\
Examples:

  gladia transcribe talk.wav --local               on this machine, no account
  gladia transcribe talk.mp3 -o talk.srt           subtitles (-o picks the format)
  gladia transcribe a.wav b.wav -f jsonl > all.jsonl   one job per line, with "source"
  gladia transcribe recordings/ -j 4 -d out -f srt     out/<name>.srt, one per file
  gladia transcribe https://example.com/talk.mp3 --summarize concise
  gladia transcribe call.wav --model solaria-3 -l fr   Solaria-3: en fr de es it
  gladia transcribe talk.wav --no-wait             the job's id; later:
  gladia transcriptions get ID -f text
"""


def transcribe_command(
    ctx: typer.Context,
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Audio files (WAV, FLAC, OGG, MP3…) to upload, directories (their audio "
            "files), quoted globs ('rec/*.wav'), or http(s) URLs the API fetches itself; "
            "--jobs of them at a time.",
            show_default=False,
            metavar="INPUT",
        ),
    ] = None,
    language: Language = None,
    code_switching: CodeSwitching = False,
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
    ] = None,
    vocabulary: Vocabulary = None,
    vocabulary_file: VocabularyFile = None,
    spelling_file: SpellingFile = None,
    callback_url: Annotated[
        str | None,
        callback_url_option(
            "The API POSTs the result (or the error) to this http(s) URL at the end."
        ),
    ] = None,
    callback_method: Annotated[
        CallbackMethod | None,
        _opt(
            "--callback-method",
            panel=SESSION,
            help="HTTP method of the callback (default POST).",
            show_default=False,
            metavar="METHOD",
        ),
    ] = None,
    metadata: Metadata = None,
    config: Annotated[
        Path | None,
        config_option("A JSON file holding a POST /v2/pre-recorded body; flags override it."),
    ] = None,
    no_wait: Annotated[
        bool,
        _opt(
            "--no-wait",
            panel=SESSION,
            help="Print each job's id once created, and exit (gladia transcriptions get ID).",
        ),
    ] = False,
    timeout: Annotated[
        float | None,
        _opt(
            "--timeout",
            panel=SESSION,
            help="Seconds to wait for each job (default: no limit).",
            show_default=False,
            min=1,
            metavar="SECONDS",
        ),
    ] = None,
    diarization: Annotated[
        bool, _opt("--diarization", panel=ADDONS, help="Tell the speakers apart.")
    ] = False,
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
    ] = None,
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
    ] = None,
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
    ] = None,
    translate: Translate = None,
    translation_model: TranslationModelOption = None,
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
    ] = None,
    summarize: Annotated[SummaryType | None, summarize_option("A summary, of this kind.")] = None,
    ner: Ner = False,
    sentiment: Sentiment = False,
    chapters: Annotated[bool, chapters_option("Chapters.")] = False,
    format: Annotated[
        OutputFormat | None,
        format_option(
            "Default: the extension of -o, else table on a terminal and jsonl (the "
            "job, one line each) otherwise; json is the job as the API returns it."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        output_option(
            "Write to this file (one input); .srt .vtt .txt .json .jsonl .tsv pick the format."
        ),
    ] = None,
    label: Annotated[str | None, label_option()] = None,
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
    ] = None,
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
    ] = 1,
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
    ] = None,
    skip_existing: Annotated[
        bool,
        _opt(
            "--skip-existing",
            panel=MANY,
            help="Skip inputs whose output is already in --output-dir (resumes a run).",
        ),
    ] = False,
    max_line_chars: MaxLineChars = 42,
    max_cue_seconds: MaxCueSeconds = 7.0,
    quiet: Quiet = False,
    debug: OutputDebug = False,
    api_key: Annotated[
        str | None,
        api_key_option("API key. Prefer the GLADIA_API_KEY variable: options show in `ps`."),
    ] = None,
    api_url: ApiUrl = None,
    profile: Profile = None,
    local: Local = False,
    local_engine: Annotated[
        LocalEngine,
        local_engine_option("Recogniser of the --local server: whisper, sphinx or scripted."),
    ] = LocalEngine.WHISPER,
    local_model: Annotated[
        LocalModel,
        local_model_option("Whisper model of the --local server: base or tiny.en."),
    ] = LocalModel.BASE,
) -> int:
    """Transcribe files through the pre-recorded API: upload, then wait for the result.

    For recordings that need no live pace: each file is uploaded, transcribed as a job
    (as fast as the server goes), and its result rendered.
    """
    from gladia_cli.cli import transcribing
    from gladia_cli.jobs.prerecorded import ManyOptions, OutputOptions
    from gladia_cli.render.captions import CaptionLimits

    env = environment_of(ctx)
    job = transcribing.JobOptions(
        language=language,
        code_switching=code_switching,
        diarization=diarization,
        speakers=speakers,
        min_speakers=min_speakers,
        max_speakers=max_speakers,
        translate=translate,
        translation_model=translation_model,
        subtitles=[s.value for s in subtitles] if subtitles else None,
        summarize=summarize,
        ner=ner,
        sentiment=sentiment,
        chapters=chapters,
        vocabulary=vocabulary,
        vocabulary_file=vocabulary_file,
        spelling_file=spelling_file,
        model=model.value if model else None,
        callback_url=callback_url,
        callback_method=callback_method,
        metadata=metadata,
        config=config,
    )
    out = OutputOptions(
        format=format,
        output=output,
        label=label,
        captions=CaptionLimits(max_line_chars, max_cue_seconds),
        quiet=quiet,
    )
    conn = transcribing.ConnectionOptions(
        api_key=api_key,
        api_url=api_url,
        profile=profile,
        local=local,
        local_engine=local_engine,
        local_model=local_model,
        debug=debug,
    )
    many = ManyOptions(
        from_list=from_list, output_dir=output_dir, skip_existing=skip_existing, jobs=jobs
    )
    planned = transcribing.plan(
        list(inputs or []), job, out, conn, env, wait=not no_wait, timeout=timeout, many=many
    )
    return transcribing.run(planned, env)
