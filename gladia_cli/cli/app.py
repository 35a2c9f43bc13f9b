"""The `gladia` command: the Typer app and the one place errors are printed.

Commands live one per module and only turn options into objects; imports of heavy modules
(numpy, requests, sounddevice, aiohttp) happen inside the commands, so `--help` is fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated

import typer

from gladia_cli import __version__
from gladia_cli.cli import devices_cmd, file_cmd, live_cmd, mix_cmd, serve_cmd, sessions_cmd
from gladia_cli.cli.fast_help import FastHelpGroup
from gladia_cli.errors import ExitCode, GladiaError

app = typer.Typer(
    name="gladia",
    cls=FastHelpGroup,
    help="Live speech-to-text from the terminal with Gladia's real-time API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # our handler below; never show local variables
    rich_markup_mode=None,  # rich help loads markdown-it and pygments: ~65 ms per --help
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("live", no_args_is_help=False)(live_cmd.live_command)
app.command("mix", no_args_is_help=True)(mix_cmd.mix_command)
app.command("devices")(devices_cmd.devices_command)
app.command("file", no_args_is_help=True)(file_cmd.file_command)
app.command("serve")(serve_cmd.serve_command)
app.add_typer(sessions_cmd.app, name="sessions")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gladia {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Live speech-to-text from the terminal with Gladia's real-time API.

    Set GLADIA_API_KEY, or add --local to run everything on this machine.
    """


def _print_error(message: str, hint: str | None) -> None:
    from gladia_cli.safe_text import plain

    sys.stderr.write(f"gladia: error: {plain(message)}\n")
    if hint:
        sys.stderr.write(f"gladia: hint: {plain(hint)}\n")
    sys.stderr.flush()


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (errors printed, never raised)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or bool(os.environ.get("GLADIA_DEBUG"))
    click = typer._click
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="gladia", standalone_mode=False)
    except GladiaError as exc:
        if debug:
            traceback.print_exc()
        _print_error(exc.message, exc.hint)
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()
        return int(ExitCode.OK)
    except click.exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "gladia"
        _print_error(exc.format_message(), f"see '{where} --help'")
        return int(ExitCode.USAGE)
    except click.exceptions.ClickException as exc:
        _print_error(exc.format_message(), None)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _print_error("interrupted", None)
        return int(ExitCode.ABORTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except SystemExit as exc:
        # rich exits with 1 when its output pipe closes (`gladia --help | head`): not an error.
        if isinstance(exc.__context__, BrokenPipeError):
            return int(ExitCode.OK)
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc()
        _print_error(
            f"unexpected {type(exc).__name__}: {exc}",
            None if debug else "run again with --debug for the traceback, and report it",
        )
        return int(ExitCode.UNEXPECTED)
    return result if isinstance(result, int) else int(ExitCode.OK)


def main() -> None:
    sys.exit(run())
