"""Speech recognisers for the local server; see `base` for the interface, `catalog` for
the names (cheap to import: this package's modules are imported only when asked for)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gladia_cli.server.recognition.engines.catalog import (
    DEFAULT_MODEL,
    ENGINE_NAMES,
    SCRIPTED,
    SPHINX,
    WHISPER,
)

if TYPE_CHECKING:
    from gladia_cli.server.recognition.engines.base import Engine

__all__ = ["ENGINE_NAMES", "create_engine"]


def create_engine(
    name: str,
    *,
    script_path: str | None = None,
    model: str = DEFAULT_MODEL,
    workers: int = 1,
) -> Engine:
    """The engine called `name`; `script_path` is a script for the scripted engine, `model`
    the Whisper model, `workers` how many Whisper decodes may run at once.

    pocketsphinx and faster-whisper are imported only here, when their engine is asked
    for, so the CLI and the scripted engine work without them. Raises EngineUnavailable
    when the engine's packages or model cannot be used.
    """
    if name == WHISPER:
        from gladia_cli.server.recognition.engines.whisper import WhisperEngine

        return WhisperEngine(model, workers=workers)
    if name == SPHINX:
        try:
            from gladia_cli.server.recognition.engines.sphinx import SphinxEngine
        except ImportError as exc:
            from gladia_cli.errors import EngineUnavailable
            from gladia_cli.server.extras import SPHINX_EXTRA, install_command

            raise EngineUnavailable(
                f"the sphinx engine cannot load pocketsphinx ({exc})",
                hint=f"install it again: {install_command(SPHINX_EXTRA)}",
            ) from None
        return SphinxEngine()
    if name == SCRIPTED:
        from gladia_cli.server.recognition.engines.scripted import ScriptedEngine, load_script

        return ScriptedEngine(load_script(script_path) if script_path else None)
    raise ValueError(f"unknown engine {name!r}; valid engines: {', '.join(ENGINE_NAMES)}")
