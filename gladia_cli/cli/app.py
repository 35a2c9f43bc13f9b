"""The `gladia` command: the Typer app, the Environment, and the one place errors are printed.

Commands live one per module (listed in cli/commands.py, each imported only when used)
and only turn options into objects; imports of heavy modules (numpy, requests,
sounddevice, aiohttp) happen inside the commands, so `--help` is fast.
The Environment (standard streams, terminals, consoles, environment variables) is made
here, once, and reaches the commands through the click context.
"""

from __future__ import annotations

import errno
import re
import traceback
from collections.abc import Sequence
from typing import Annotated

import typer
from typer._click.core import Parameter

from gladia_cli import __version__
from gladia_cli.cli.commands import LazyGroup, declare_all
from gladia_cli.cli.fast_help import FastHelpGroup
from gladia_cli.environment import Environment
from gladia_cli.errors import ExitCode, GladiaError

EXAMPLES = """\
Examples:

  gladia file talk.wav --local       transcribe on this machine, no account
  gladia live                        the microphone, live (needs GLADIA_API_KEY)
  gladia file talk.wav -o talk.srt   subtitles
  gladia file talk.wav | jq -c .     every server message, one JSON per line
  gladia COMMAND --help              the options and examples of a command
"""


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gladia {__version__}")
        raise typer.Exit()


def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Live speech-to-text from the terminal with Gladia's real-time API.

    Set GLADIA_API_KEY, or add --local to run everything on this machine. Transcripts go
    to stdout (a live table on a terminal, JSON lines in a pipe); messages for people go
    to stderr.
    """


def _typer(cls: type[FastHelpGroup]) -> typer.Typer:
    app = typer.Typer(
        name="gladia",
        cls=cls,
        help="Live speech-to-text from the terminal with Gladia's real-time API.",
        epilog=EXAMPLES,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,  # our handler below; never show local variables
        rich_markup_mode=None,  # rich help loads markdown-it and pygments: ~65 ms per --help
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(root)
    return app


# The subcommands are in cli/commands.py, each imported only when it is used.
app = _typer(LazyGroup)


def eager_app() -> typer.Typer:
    """The app with every subcommand imported and declared up front (what this module
    did before `LazyGroup`): the tests check that the lazy app reads exactly the same."""
    return declare_all(_typer(FastHelpGroup))


def _print_error(env: Environment, message: str, hint: str | None) -> None:
    from gladia_cli.safe_text import plain

    env.stderr.write(f"gladia: error: {plain(message)}\n")
    if hint:
        env.stderr.write(f"gladia: hint: {plain(hint)}\n")
    env.stderr.flush()


def _option_name(param: Parameter | None) -> str:
    if param is None:
        return "a value"
    if param.param_type_name == "argument":
        return str(param.metavar or param.name or "argument").upper()
    spellings = sorted(getattr(param, "opts", []) or [], key=lambda n: not n.startswith("--"))
    return spellings[0] if spellings else str(param.name)


def _given(args: Sequence[str], param: Parameter | None) -> str | None:
    """The value the user gave `param` (the last one), read back from the command line."""
    names = set(getattr(param, "opts", None) or ())
    found = None
    for index, arg in enumerate(args):
        name, sep, value = arg.partition("=")
        if name in names:
            found = value if sep else (args[index + 1] if index + 1 < len(args) else None)
    return found


def _range_text(param: Parameter | None) -> str | None:
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        return f"from {low:g} to {high:g}"
    if low is not None:
        return f"of at least {low:g}"
    if high is not None:
        return f"of at most {high:g}"
    return None


def _bad_parameter(
    exc: typer._click.exceptions.BadParameter, args: Sequence[str]
) -> tuple[str, str]:
    """Typer's (pydantic's) wording, made into `gladia: error: --port 99999 …` + a hint."""
    param = exc.param
    name = _option_name(param)
    given = _given(args, param)
    shown = f"{name} {given}" if given is not None else name
    quoted = f"{name}: {given!r}" if given is not None else name
    detail = re.sub(r"^Value error, ", "", exc.message).strip()
    where = exc.ctx.command_path if exc.ctx is not None else "gladia"
    choices = (
        param.type_descriptor.choices
        if param is not None and hasattr(param, "type_descriptor")
        else None
    )
    if choices:
        values = ", ".join(str(getattr(c, "value", c)) for c in choices)
        return f"{quoted} is not one of its values", f"choose from: {values}"
    bounds = _range_text(param)
    if bounds and ("less than" in detail or "greater than" in detail):
        return f"{shown} is out of range", f"{name} takes a value {bounds}"
    if "valid integer" in detail:
        return f"{quoted} is not a whole number", f"see '{where} --help'"
    if "valid number" in detail:
        return f"{quoted} is not a number", f"see '{where} --help'"
    return f"invalid value for {name}: {detail}", f"see '{where} --help'"


def run(argv: Sequence[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI and return its exit code (errors printed, never raised). The `-o` files
    it wrote are renamed into place only with exit 0 (render/output.py)."""
    import sys

    env = env or Environment()
    code = _run(argv, env)
    output = sys.modules.get("gladia_cli.render.output")  # imported: an output was opened
    if output is not None:
        output.settle_outputs(complete=code == ExitCode.OK)
    return code


def _run(argv: Sequence[str] | None, env: Environment) -> int:
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    click = typer._click
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="gladia", standalone_mode=False, obj=env)
    except GladiaError as exc:
        if env.debug:
            traceback.print_exc(file=env.stderr)
        _print_error(env, exc.message, exc.hint)
        return int(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        # Called without what it needs: the help, on stderr, and a usage error (a script
        # that lost its argument must not pass for a success).
        where = exc.ctx.command_path if exc.ctx is not None else "gladia"
        env.stderr.write(exc.format_message() + "\n\n")
        needs = "a command" if isinstance(exc.ctx.command, FastHelpGroup) else "arguments"
        _print_error(env, f"{where} needs {needs}", f"see the usage above, or '{where} --help'")
        return int(ExitCode.USAGE)
    except click.exceptions.BadParameter as exc:
        if isinstance(exc, click.exceptions.MissingParameter):
            where = exc.ctx.command_path if exc.ctx is not None else "gladia"
            _print_error(env, f"missing {_option_name(exc.param)}", f"see '{where} --help'")
            return int(ExitCode.USAGE)
        message, hint = _bad_parameter(exc, args)
        _print_error(env, message, hint)
        return int(ExitCode.USAGE)
    except click.exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "gladia"
        text = exc.format_message()
        _print_error(env, text[:1].lower() + text[1:], f"see '{where} --help'")
        return int(ExitCode.USAGE)
    except click.exceptions.ClickException as exc:
        _print_error(env, exc.format_message(), None)
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        _print_error(env, "interrupted", None)
        return int(ExitCode.ABORTED)
    except BrokenPipeError:
        return int(ExitCode.OK)
    except SystemExit as exc:
        # rich exits with 1 when its output pipe closes (`gladia --help | head`): not an error.
        if isinstance(exc.__context__, BrokenPipeError):
            return int(ExitCode.OK)
        raise
    except Exception as exc:
        if env.debug:
            traceback.print_exc(file=env.stderr)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            # An output without its own check (--save-audio, --record): still one line.
            where = f" to write {exc.filename}" if exc.filename else ""
            _print_error(env, f"no space left on the device{where}", "free some space there")
            return int(ExitCode.AUDIO_INPUT)
        _print_error(
            env,
            f"unexpected {type(exc).__name__}: {exc}",
            None
            if env.debug
            else "run again with GLADIA_DEBUG=1 (or --debug) for the traceback, and report it",
        )
        return int(ExitCode.UNEXPECTED)
    return result if isinstance(result, int) else int(ExitCode.OK)


def main() -> None:
    import signal
    import sys

    # A shell without job control starts a background command (`gladia … &` in a script, a
    # CI runner) with SIGINT ignored, and Python then never raises KeyboardInterrupt: a
    # `kill -INT` would stop a streaming command (jobs/signals installs its own handler) but
    # not `replay` or `transcribe`. Every command answers SIGINT the same way.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.exit(run())
