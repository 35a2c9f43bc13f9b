"""Speech recognisers for the local server; see `base` for the interface."""

from __future__ import annotations

from gladia_cli.server.engines.base import Engine

ENGINE_NAMES = ("sphinx", "scripted")


def create_engine(name: str, *, script_path: str | None = None) -> Engine:
    """The engine called `name`; `script_path` is a script for the scripted engine.

    pocketsphinx is imported only here, when the sphinx engine is asked for, so the CLI and
    the scripted engine work without it.
    """
    if name == "sphinx":
        from gladia_cli.server.engines.sphinx import SphinxEngine

        return SphinxEngine()
    if name == "scripted":
        from gladia_cli.server.engines.scripted import ScriptedEngine, load_script

        return ScriptedEngine(load_script(script_path) if script_path else None)
    raise ValueError(f"unknown engine {name!r}; valid engines: {', '.join(ENGINE_NAMES)}")
