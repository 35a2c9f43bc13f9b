"""Plain help that teaches, and stays fast (the design's target: under 150 ms).

Typer's grouped help ("panels") needs its rich formatter, which loads markdown-it and
pygments (~65 ms per `--help`); the app uses plain help (`rich_markup_mode=None`), where
Typer prints every option in one block. These classes keep the plain formatter and lay it
out: options grouped under the `rich_help_panel` each one declares, in `PANELS` order,
their first column aligned across groups; examples as written; command descriptions in
full in the list of commands (Typer cuts them at a fixed width).
"""

from __future__ import annotations

import re

from typer._click.core import Command, Context, Parameter
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand, TyperGroup, TyperOption

from gladia_cli.cli.panels import PANELS

GENERAL = "Options"  # options without a group (--help, --version)
_COLUMN_MAX = 30  # as click: a longer option's help starts on the next line


# Typer's names for value types, as words a person reads in a help line.
_TYPE_WORDS = {
    "<int range>": "N",
    "<int>": "N",
    "<float range>": "NUMBER",
    "<float>": "NUMBER",
    "<str>": "TEXT",
    "<list[str]>": "TEXT",
    "<path>": "PATH",
}


def _help_record(param: Parameter, ctx: Context) -> tuple[str, str] | None:
    """Typer's record, with choices moved from the first column (`<a|b|c>`, which pushes
    the help to the next line) into the help (`[a|b|c; default: a]`)."""
    record = param.get_help_record(ctx)
    if record is None:
        return None
    first, second = record
    if param.param_type_name == "argument":
        return first.split(" ", 1)[0], second  # `PATH`, not `PATH <str>`
    descriptor = getattr(param, "type_descriptor", None)
    choices = getattr(descriptor, "choices", None)
    if choices:
        listing = "|".join(str(getattr(choice, "value", choice)) for choice in choices)
        if getattr(param, "metavar", None) is None:
            name = (param.name or "value").upper().replace("_", "-")
            first = re.sub(r" <[^ ]*>$", f" {name}", first)
        if second.endswith("]") and "  [" in second:
            head, _, extra = second.rpartition("  [")
            second = f"{head}  [{listing}; {extra}"
        else:
            second = f"{second}  [{listing}]"
    for typed, word in _TYPE_WORDS.items():
        first = first.replace(typed, word)
    return first, second


def _format_options(command: TyperCommand | TyperGroup, ctx: Context, fmt: HelpFormatter) -> None:
    arguments: list[tuple[str, str]] = []
    groups: dict[str, list[tuple[str, str]]] = {}
    for param in command.get_params(ctx):
        record = _help_record(param, ctx)
        if record is None:
            continue
        if param.param_type_name == "argument":
            arguments.append(record)
        else:
            panel = getattr(param, "rich_help_panel", None) or GENERAL
            groups.setdefault(panel, []).append(record)
    rows = [*arguments, *(row for group in groups.values() for row in group)]
    fitting = [len(first) for first, _ in rows if len(first) <= _COLUMN_MAX]
    width = max(fitting, default=0)

    def aligned(records: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(first.ljust(width), second) for first, second in records]

    if arguments:
        with fmt.section("Arguments"):
            fmt.write_dl(aligned(arguments), col_max=_COLUMN_MAX)
    order = {name: index for index, name in enumerate(PANELS)}
    for panel in sorted(groups, key=lambda p: (p == GENERAL, order.get(p, len(order)))):
        with fmt.section(panel):
            fmt.write_dl(aligned(groups[panel]), col_max=_COLUMN_MAX)


def _format_epilog(command: TyperCommand | TyperGroup, fmt: HelpFormatter) -> None:
    """Examples exactly as written: commands must not be re-wrapped."""
    if command.epilog:
        fmt.write_paragraph()
        for line in command.epilog.strip("\n").splitlines():
            fmt.write(f"{line}\n" if line.strip() else "\n")


def _usage_pieces(pieces: list[str]) -> list[str]:
    """`PATH`, not Typer's `{PATH}`, for a required argument."""
    return [re.sub(r"^\{(.*)\}(\.\.\.)?$", r"\1\2", piece) for piece in pieces]


def summary_of(command: Command) -> str:
    """A command's line in its group's help: the first paragraph of its help, whole."""
    help_text = command.short_help or (command.help or "").strip()
    return help_text.split("\n\n", 1)[0].replace("\n", " ")


def _help_option(option: TyperOption | None) -> TyperOption | None:
    """`--help` with a plain False default. Typer 0.29 builds the coercion of a flag whose
    default is None on every run, even when the flag is absent: that imports pydantic for
    nothing (~65 ms per command, `gladia version` 2.6x a bare `import typer, rich`)."""
    if option is not None:
        option.default = False
    return option


class FastHelpCommand(TyperCommand):
    """A command whose help is laid out in groups, and whose `--help` costs no pydantic."""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        return _help_option(super().get_help_option(ctx))

    def collect_usage_pieces(self, ctx: Context) -> list[str]:
        return _usage_pieces(super().collect_usage_pieces(ctx))

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        _format_options(self, ctx, formatter)

    def format_epilog(self, ctx: Context, formatter: HelpFormatter) -> None:
        _format_epilog(self, formatter)


class FastHelpGroup(TyperGroup):
    """A group whose `--help` flag has a plain False default (`_help_option`), and whose
    help lists the commands with their whole first line."""

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        return _help_option(super().get_help_option(ctx))

    def format_options(self, ctx: Context, formatter: HelpFormatter) -> None:
        _format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        rows = self.command_rows(ctx)
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def command_rows(self, ctx: Context) -> list[tuple[str, str]]:
        """(name, summary) of each visible subcommand, in the order of the listing."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, summary_of(command)))
        return rows

    def format_epilog(self, ctx: Context, formatter: HelpFormatter) -> None:
        _format_epilog(self, formatter)
