"""`gladia languages`: the language codes the API and the local engines take."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from gladia_cli.cli.choices import ListFormat
from gladia_cli.cli.options import with_options
from gladia_cli.environment import Environment

EXAMPLES = """\
Examples:

  gladia languages                   every code, for the API and for --local
  gladia languages | grep -i portu   find a code
  gladia languages -f jsonl | jq -r 'select(.local | length > 0) | .code'
  gladia file talk.wav -l fr --translate en
"""


def language_rows() -> list[dict[str, Any]]:
    """One row per code: transcription and translation by the API, and by --local (Whisper
    base knows every transcription language; tiny.en and sphinx English only; the local
    server translates into English only)."""
    from gladia_cli.protocol.languages import (
        LANGUAGE_NAMES,
        TRANSCRIPTION_LANGUAGES,
        TRANSLATION_LANGUAGES,
    )
    from gladia_cli.server.recognition.engines import catalog

    # Whisper models by their name (--local-model), other engines by theirs (--local-engine).
    english_only = [*sorted(catalog.ENGLISH_ONLY_MODELS), catalog.SPHINX]
    multilingual = [m for m in catalog.MODEL_NAMES if m not in catalog.ENGLISH_ONLY_MODELS]
    rows = []
    for code in sorted(TRANSLATION_LANGUAGES):
        transcribed = code in TRANSCRIPTION_LANGUAGES
        local = (multilingual if transcribed else []) + (english_only if code == "en" else [])
        rows.append(
            {
                "code": code,
                "name": LANGUAGE_NAMES.get(code, ""),
                "transcription": transcribed,  # --language
                "translation": True,  # --translate (a target)
                "local": local,  # the --local models and engines that recognise it
                "local_translation": code == "en",  # --translate with --local
            }
        )
    return rows


@with_options
def languages_command(
    format: Annotated[
        ListFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="table (the default on a terminal), jsonl (one code per line, the default in "
            "a pipe) or json (one array).",
            show_default=False,
        ),
    ] = None,
    *,
    env: Environment,
) -> None:
    """List the language codes for --language and --translate, and what --local takes.

    The API transcribes every code but wo (a translation target only); the local server
    recognises them all with Whisper base, English only with tiny.en and sphinx, and
    translates into English only.
    """
    rows = language_rows()
    chosen = format or (ListFormat.TABLE if env.stdout_isatty else ListFormat.JSONL)
    if chosen == ListFormat.JSON:
        env.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif chosen == ListFormat.JSONL:
        env.stdout.writelines(json.dumps(row) + "\n" for row in rows)
    else:
        from rich.table import Table

        table = Table(show_edge=False, pad_edge=False)
        for column in ("code", "language", "API", "--local"):
            table.add_column(column, no_wrap=True)
        for row in rows:
            table.add_row(
                row["code"],
                row["name"],
                "yes" if row["transcription"] else "translation only",
                ", ".join(row["local"]),
            )
        env.stdout_console.print(table)
    env.stdout.flush()
