"""`gladia version`: the version, as `gladia --version` prints it (gh and git have both)."""

from __future__ import annotations

from typing import Annotated

import typer

from gladia_cli import __version__
from gladia_cli.cli.options import environment_of

EXAMPLES = """\
Examples:

  gladia version
  gladia version --json | jq -r .python
"""


def version_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="The version, Python's and the platform's, as one JSON object."
        ),
    ] = False,
) -> None:
    """Show the version of gladia (also: gladia --version)."""
    env = environment_of(ctx)
    if as_json:
        import json
        import platform

        info = {
            "gladia": __version__,
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
        }
        env.stdout.write(json.dumps(info) + "\n")
    else:
        env.stdout.write(f"gladia {__version__}\n")
    env.stdout.flush()
