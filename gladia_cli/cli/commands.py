"""The subcommands of `gladia`, and the group that imports each one only when it is used.

Importing every command module to print `gladia --help` cost more than Typer and rich
themselves (issue 20: 2.4x a bare `import typer, rich`). `SUBCOMMANDS` names each
command's module and the line `gladia --help` lists for it; `LazyGroup` lists the commands
from that table and imports a module when its command runs, shows its own help, or is
walked by the completions generator. The summaries are copies of each command's first help
paragraph: tests/unit/test_startup.py checks them against the loaded commands, and the
whole `--help` of every command against the eager declaration (`declare_all`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import typer
from typer._click.core import Command, Context

from gladia_cli.cli.fast_help import FastHelpCommand, FastHelpGroup, summary_of


@dataclass(frozen=True)
class Subcommand:
    name: str
    module: str  # under gladia_cli.cli
    summary: str  # its help's first paragraph on one line: what `gladia --help` lists
    function: str = ""  # NAME_command; "" for a group of commands (the module's `app`)
    cls: str = ""  # a command class of the module's own; "" for FastHelpCommand
    no_args_is_help: bool = False


# In the order `gladia --help` lists them (Typer's: commands, then groups).
SUBCOMMANDS = (
    Subcommand(
        "file",
        "file_cmd",
        "Transcribe an audio file through the live API, as if it were being spoken.",
        "file_command",
        cls="FileCommand",
        no_args_is_help=True,
    ),
    Subcommand(
        "live",
        "live_cmd",
        "Transcribe a microphone (or the computer's sound) live. Ctrl-C stops and waits for"
        " the last words; twice aborts.",
        "live_command",
    ),
    Subcommand(
        "mix",
        "mix_cmd",
        "Interleave several sources into one session, one channel each.",
        "mix_command",
        no_args_is_help=True,
    ),
    Subcommand(
        "devices",
        "devices_cmd",
        "List audio input devices: index, name, input channels, default rate (* = default).",
        "devices_command",
    ),
    Subcommand(
        "serve",
        "serve_cmd",
        "Run a local Gladia-compatible server (offline recognition, fault injection).",
        "serve_command",
    ),
    Subcommand(
        "transcribe",
        "transcribe_cmd",
        "Transcribe files through the pre-recorded API: upload, then wait for the result.",
        "transcribe_command",
        no_args_is_help=True,
    ),
    Subcommand(
        "replay",
        "replay_cmd",
        "Render a session recorded with --record again, in any format, with no server.",
        "replay_command",
        no_args_is_help=True,
    ),
    Subcommand(
        "doctor",
        "doctor_cmd",
        "Check the set-up: key, API, microphones, local engine, config file, versions.",
        "doctor_command",
    ),
    Subcommand(
        "languages",
        "languages_cmd",
        "List the language codes for --language and --translate, and what --local takes.",
        "languages_command",
    ),
    Subcommand(
        "version",
        "version_cmd",
        "Show the version of gladia (also: gladia --version).",
        "version_command",
    ),
    Subcommand(
        "sessions",
        "sessions_cmd",
        "Look up, list and delete live sessions; render a stored one again.",
    ),
    Subcommand(
        "transcriptions",
        "transcriptions_cmd",
        "Look up, list and delete pre-recorded transcriptions (gladia transcribe's jobs).",
    ),
    Subcommand(
        "auth",
        "auth_cmd",
        "Save, check and remove the API key (the OS keyring, or the config file).",
    ),
)


def declare(app: typer.Typer, sub: Subcommand) -> None:
    """Register `sub` on `app` (importing its module), as app.py once did for all of them."""
    module = importlib.import_module(f"gladia_cli.cli.{sub.module}")
    if not sub.function:
        app.add_typer(module.app, name=sub.name)
        return
    cls = getattr(module, sub.cls) if sub.cls else FastHelpCommand
    app.command(sub.name, cls=cls, epilog=module.EXAMPLES, no_args_is_help=sub.no_args_is_help)(
        getattr(module, sub.function)
    )


def declare_all(app: typer.Typer) -> typer.Typer:
    """Every subcommand registered up front: the eager app the lazy one must equal."""
    for sub in SUBCOMMANDS:
        declare(app, sub)
    return app


def load(sub: Subcommand) -> Command:
    """The click command of `sub`, built by Typer as it builds a subcommand of the app
    (plain help: `rich_markup_mode=None`, as the app declares)."""
    holder = typer.Typer(rich_markup_mode=None, add_completion=False)
    declare(holder, sub)
    return typer.main.get_group(holder).commands[sub.name]


class LazyCommands(MutableMapping[str, Command]):
    """A group's `commands`: every name known from the table, a command built on first
    access. Typer and click read `commands` directly (suggestions for a mistyped name, the
    completions generator), so the laziness lives here rather than in `get_command` alone."""

    def __init__(self, table: tuple[Subcommand, ...]) -> None:
        self._table = {sub.name: sub for sub in table}
        self._loaded: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._loaded:
            self._loaded[name] = load(self._table[name])  # KeyError for an unknown name
        return self._loaded[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        known = name in self._table or name in self._loaded
        self._table.pop(name, None)
        self._loaded.pop(name, None)
        if not known:
            raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        yield from self._table
        yield from (name for name in self._loaded if name not in self._table)

    def __len__(self) -> int:
        return len(self._table) + sum(1 for name in self._loaded if name not in self._table)

    def summary(self, name: str) -> str | None:
        """The line `--help` lists for `name` when its command is not loaded yet."""
        sub = self._table.get(name)
        return sub.summary if sub is not None and name not in self._loaded else None


class LazyGroup(FastHelpGroup):
    """The `gladia` group: its subcommands come from `SUBCOMMANDS`, imported when used."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        if self.commands:
            raise TypeError("LazyGroup: declare its subcommands in SUBCOMMANDS")
        self.commands = LazyCommands(SUBCOMMANDS)

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self.commands)  # names only: Typer's iterates the items (loads all)

    def command_rows(self, ctx: Context) -> list[tuple[str, str]]:
        if not isinstance(self.commands, LazyCommands):  # replaced (a test's copy of the tree)
            return super().command_rows(ctx)
        rows = []
        for name in self.list_commands(ctx):
            summary = self.commands.summary(name)  # None once loaded: read the command
            if summary is not None:
                rows.append((name, summary))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary_of(command)))
        return rows
