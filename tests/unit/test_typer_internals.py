"""The private Typer names the CLI and the completions generator rely on, checked by name.

`typer._click` (Typer's vendored click), `typer.core` and `typer.main.get_command` are not
public API: pyproject.toml pins Typer to the minor series they are known to work with. When
an upgrade moves one of them, this test says which one, instead of `gladia` failing at run
time on a user's machine with an AttributeError in its error handler.
"""

from __future__ import annotations

import enum
import importlib
from pathlib import Path
from typing import Annotated

import pytest
import typer

# Module → the names imported from it (cli/app.py, cli/commands.py, cli/fast_help.py,
# tools/completions.py).
PRIVATE_IMPORTS = {
    "typer._click": ("Command",),
    "typer._click.core": ("Command", "Context", "Parameter"),
    "typer._click.formatting": ("HelpFormatter",),
    "typer._click.exceptions": (
        "BadParameter",
        "ClickException",
        "MissingParameter",
        "NoArgsIsHelpError",
        "UsageError",
    ),
    "typer.core": ("TyperArgument", "TyperCommand", "TyperGroup", "TyperOption"),
    "typer.main": ("get_command", "get_group"),
}


@pytest.mark.parametrize("module", sorted(PRIVATE_IMPORTS))
def test_the_private_names_exist(module: str) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in PRIVATE_IMPORTS[module] if not hasattr(imported, name)]
    assert not missing, f"Typer {typer.__version__} moved {module}.{missing}: see pyproject pin"


def test_typer_click_is_what_typer_attributes_expose() -> None:
    """cli/app.py reaches the exceptions through the `typer._click` attribute."""
    assert (
        typer._click.exceptions.BadParameter
        is importlib.import_module("typer._click.exceptions").BadParameter
    )


class _Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


def _tiny_app() -> typer.Typer:
    from gladia_cli.cli.fast_help import FastHelpCommand, FastHelpGroup

    app = typer.Typer(
        cls=FastHelpGroup, add_completion=False, rich_markup_mode=None, no_args_is_help=True
    )

    @app.command("paint", cls=FastHelpCommand)
    def paint(
        target: Annotated[Path, typer.Argument(help="What to paint.", metavar="TARGET")],
        colour: Annotated[_Colour, typer.Option("--colour", help="Which colour.")] = _Colour.RED,
        coats: Annotated[int, typer.Option("--coats", min=1, max=5)] = 1,
        tags: Annotated[list[str] | None, typer.Option("--tag")] = None,
    ) -> None:
        """Paint something."""

    @app.command("dry", cls=FastHelpCommand)
    def dry() -> None:
        """Let it dry."""

    return app


def test_the_parameter_attributes_read_are_there() -> None:
    from typer._click.core import Context
    from typer.core import TyperArgument, TyperOption

    group = typer.main.get_command(_tiny_app())
    root = Context(group, info_name="tiny")
    help_option = group.get_help_option(root)
    assert help_option is not None and help_option.default is False  # FastHelpGroup's fix
    paint = group.get_command(root, "paint")
    ctx = Context(paint, parent=root, info_name="paint")
    params = {p.name: p for p in paint.get_params(ctx)}
    target, colour, coats, tags = (params[n] for n in ("target", "colour", "coats", "tags"))
    assert isinstance(target, TyperArgument) and target.param_type_name == "argument"
    assert isinstance(colour, TyperOption) and colour.param_type_name == "option"
    for param in params.values():
        for attribute in ("opts", "secondary_opts", "metavar", "hidden", "help", "required"):
            assert hasattr(param, attribute), f"{param.name} has no {attribute}"
        assert hasattr(param, "type_descriptor"), "type_descriptor moved"
        assert param.get_help_record(ctx) is not None or param.hidden
    assert [c.value for c in colour.type_descriptor.choices] == ["red", "blue"]
    assert (coats.min, coats.max) == (1, 5)
    assert target.type_descriptor.is_path and not target.type_descriptor.is_file
    assert tags.type_descriptor.is_list and tags.multiple
    assert (colour.is_flag, colour.count, target.nargs) == (False, False, 1)
    assert [item.value for item in colour.shell_complete(ctx, "")] == ["red", "blue"]


def test_the_exceptions_carry_what_the_error_handler_reads() -> None:
    from typer._click.exceptions import BadParameter, MissingParameter, NoArgsIsHelpError

    group = typer.main.get_command(_tiny_app())
    with pytest.raises(BadParameter) as bad:
        group.main(["paint", "x", "--coats", "9"], standalone_mode=False, prog_name="tiny")
    assert bad.value.param is not None and bad.value.ctx is not None
    assert "--coats" in bad.value.param.opts and bad.value.ctx.command_path == "tiny paint"
    assert isinstance(bad.value.message, str) and bad.value.format_message()
    with pytest.raises(MissingParameter):
        group.main(["paint"], standalone_mode=False, prog_name="tiny")
    with pytest.raises(NoArgsIsHelpError) as empty:
        group.main([], standalone_mode=False, prog_name="tiny")
    assert empty.value.ctx is not None and "Usage: tiny" in empty.value.format_message()


def test_the_help_formatter_hooks_are_called() -> None:
    """FastHelpCommand overrides these; if Typer stops calling them, help loses its groups."""
    from typer._click.core import Context
    from typer._click.formatting import HelpFormatter

    group = typer.main.get_command(_tiny_app())
    root = Context(group, info_name="tiny")
    paint = group.get_command(root, "paint")
    text = paint.get_help(Context(paint, parent=root, info_name="paint"))
    assert "Usage: tiny paint [OPTIONS] TARGET" in text  # `TARGET`, not Typer's `{TARGET}`
    assert "[red|blue; default: red]" in text  # choices moved into the help column
    formatter = HelpFormatter()
    with formatter.section("S"):
        formatter.write_dl([("a", "b")], col_max=30)
    formatter.write_paragraph()
    formatter.write("x\n")
    assert "S:" in formatter.getvalue()
    listing = group.get_help(root)
    assert "Commands:" in listing and "Let it dry." in listing
