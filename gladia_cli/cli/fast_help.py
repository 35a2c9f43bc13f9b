"""Keeping `gladia … --help` fast (the design's target: under 150 ms)."""

from __future__ import annotations

from typer._click.core import Context
from typer.core import TyperGroup, TyperOption


class FastHelpGroup(TyperGroup):
    """A group whose `--help` flag has a plain False default.

    Typer 0.29 coerces a flag whose default is None through pydantic on every run, even
    when the flag is absent: importing pydantic for nothing cost ~65 ms per command.
    """

    def get_help_option(self, ctx: Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.default = False
        return option
