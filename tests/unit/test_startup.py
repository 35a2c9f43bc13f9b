"""Start-up: `gladia --help` imports no command module, and the lazy app reads exactly as
the eager declaration of every command does (cli/commands.py).

Timings are benchmarks/startup.py's (a timed test would flake on a shared machine); what
is checked here is what makes them: which modules a run imports.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer._click.core import Command
from typer.testing import CliRunner

from gladia_cli.cli.app import app, eager_app
from gladia_cli.cli.commands import SUBCOMMANDS, LazyCommands, Subcommand, load
from gladia_cli.cli.fast_help import summary_of

# Run in a fresh interpreter: the modules `gladia ARGS` leaves imported (its stdout dropped).
_IMPORTED = """
import contextlib, io, json, sys
from gladia_cli.cli.app import run
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = run(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""

HEAVY = ("numpy", "requests", "websocket", "aiohttp", "sounddevice", "pydantic", "rich")


def _imported_by(*args: str) -> tuple[int, set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORTED, *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    found = json.loads(done.stdout)
    return found["code"], set(found["modules"])


def _command_modules(modules: set[str]) -> set[str]:
    return {m for m in modules if m.startswith("gladia_cli.cli.") and m.endswith("_cmd")}


@pytest.mark.parametrize("args", [["--help"], [], ["--version"]])
def test_the_top_level_help_imports_no_command(args: list[str]) -> None:
    code, modules = _imported_by(*args)
    assert code == (2 if not args else 0)  # no command: the help, and a usage error
    assert _command_modules(modules) == set()
    assert not {m for m in modules if m.startswith("gladia_cli.server")}
    assert "gladia_cli.cli.options" not in modules  # every command's options
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


@pytest.mark.parametrize(
    ("args", "module"),
    [(["version"], "version_cmd"), (["file", "--help"], "file_cmd"), (["auth"], "auth_cmd")],
)
def test_a_command_imports_its_own_module_only(args: list[str], module: str) -> None:
    _, modules = _imported_by(*args)
    assert _command_modules(modules) == {f"gladia_cli.cli.{module}"}


def _paths(command: Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the tree: (), ("file",), ("sessions", "get")…"""
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _paths(sub, (*path, name))
    return found


EAGER_PATHS = _paths(typer.main.get_command(eager_app()))


def _output(application: typer.Typer, args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(application, args, prog_name="gladia")
    return result.exit_code, result.output


def test_the_tree_is_walked() -> None:
    assert len(EAGER_PATHS) > len(SUBCOMMANDS) + 6  # the groups' commands too
    assert ("sessions", "get") in EAGER_PATHS


@pytest.mark.parametrize("path", EAGER_PATHS, ids=lambda p: " ".join(p) or "gladia")
def test_every_help_is_the_eager_one(path: tuple[str, ...]) -> None:
    lazy = _output(app, [*path, "--help"])
    assert lazy == _output(eager_app(), [*path, "--help"])
    assert lazy[0] == 0 and "Usage: gladia" in lazy[1]


@pytest.mark.parametrize("args", [[], ["fil"], ["transcriptions"], ["--nope"]])
def test_usage_errors_read_as_the_eager_ones(args: list[str]) -> None:
    # `fil`: Typer's "Did you mean 'file'?" reads the names of the lazy commands too.
    lazy = _output(app, args)
    assert lazy == _output(eager_app(), args)
    assert lazy[0] == 2


@pytest.mark.parametrize("sub", SUBCOMMANDS, ids=lambda s: s.name)
def test_each_summary_is_the_first_paragraph_of_the_help(sub: Subcommand) -> None:
    loaded = load(sub)
    assert sub.summary == summary_of(loaded)
    assert loaded.name == sub.name


def test_the_commands_are_loaded_one_at_a_time() -> None:
    commands = LazyCommands(SUBCOMMANDS)
    assert list(commands) == [sub.name for sub in SUBCOMMANDS]
    assert len(commands) == len(SUBCOMMANDS)
    version_entry = next(sub for sub in SUBCOMMANDS if sub.name == "version")
    assert commands.summary("version") == version_entry.summary
    version = commands["version"]
    assert commands["version"] is version  # built once
    assert commands.summary("version") is None  # loaded: read from the command itself
    assert commands.get("nosuch") is None
    del commands["version"]
    assert "version" not in list(commands) and len(commands) == len(SUBCOMMANDS) - 1


@pytest.mark.parametrize("args", [["version"], ["version", "--json"]])
def test_a_command_without_typed_values_imports_no_pydantic(args: list[str]) -> None:
    # Typer builds its pydantic coercion for a flag whose default is None, even absent:
    # every command's `--help` flag, until fast_help gave it a False default.
    code, modules = _imported_by(*args)
    assert code == 0
    assert "pydantic" not in modules
