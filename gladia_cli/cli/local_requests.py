"""What `--local` can serve, checked before anything runs.

The embedded server would otherwise start, take the whole file, and only then answer what
it cannot do (an add-on error at the end, exit 4) — or, with an extra missing, fail with an
import error. Each check here is one usage error (exit 2) naming what to do instead.
"""

from __future__ import annotations

from typing import Any

from gladia_cli.errors import UsageError
from gladia_cli.server import extras
from gladia_cli.server.recognition.engines import catalog

OFFLINE_TRANSLATION_TARGET = "en"  # Whisper's translate task (server/addons/translation.py)


def check_server(engine: str, model: str) -> None:
    """The extra of the engine (and its Whisper model) is installed."""
    needs = "--local" if engine == catalog.WHISPER else f"--local-engine {engine}"
    extras.require_server(engine, model, needs=needs)


def check_languages(engine: str, model: str, languages: list[str] | None) -> None:
    """An English-only model would transcribe other languages as English, and say so: not
    what was asked for."""
    foreign = [code for code in languages or () if code != "en"]
    if foreign and engine == catalog.WHISPER and model in catalog.ENGLISH_ONLY_MODELS:
        raise UsageError(
            f"--local-model {model} only recognises English (asked: {', '.join(foreign)})",
            hint="use --local-model base for other languages",
        )


def check_body(body: dict[str, Any]) -> None:
    """A live init body or a pre-recorded job body asks only what the local server does."""
    extras.require_addons(extras.addons_asked(body), needs="with --local")
    targets = _translation_targets(body)
    others = [t for t in targets if t != OFFLINE_TRANSLATION_TARGET]
    if others:
        raise UsageError(
            f"--local translates into English only (asked: {', '.join(others)})",
            hint="use --translate en, or the API for other languages (drop --local)",
        )
    if body.get("diarization") and not _speaker_model_installed():
        from gladia_cli.server.prerecorded.diarization import INSTALL_HINT

        raise UsageError(
            "--local cannot tell speakers apart: its speaker model is not installed",
            hint=f"{INSTALL_HINT}; or drop --diarization, or use the API",
        )


def _speaker_model_installed() -> bool:
    from gladia_cli.server.prerecorded import diarization

    try:
        return diarization.available()
    except ImportError:  # a broken install of its package: as good as none
        return False


def _translation_targets(body: dict[str, Any]) -> list[str]:
    """Live: realtime_processing.translation(_config); pre-recorded: at the top level."""
    for section in (body.get("realtime_processing"), body):
        if isinstance(section, dict) and section.get("translation"):
            config = section.get("translation_config")
            targets = config.get("target_languages") if isinstance(config, dict) else None
            return [str(t) for t in targets] if isinstance(targets, list) else []
    return []
