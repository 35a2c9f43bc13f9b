"""`gladia devices`: the input devices `gladia live` and `gladia mix` can record from."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from gladia_cli.cli.options import environment_of

EXAMPLES = """\
Examples:

  gladia devices                        the inputs, * marks the default
  gladia devices --json | jq '.[].name'
  gladia live 2                         record from input 2 of the list
"""


def devices_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON array on stdout, for scripts.")
    ] = False,
) -> None:
    """List audio input devices: index, name, input channels, default rate (* = default).

    With no input device, both forms exit 5 (audio input); --json still prints [] first.
    """
    from gladia_cli.audio.devices import list_input_devices, no_input_device_error
    from gladia_cli.safe_text import plain

    env = environment_of(ctx)
    devices = list_input_devices()
    if as_json:
        env.stdout.write(json.dumps([d.as_json() for d in devices], indent=2, ensure_ascii=False))
        env.stdout.write("\n")
        env.stdout.flush()
    if not devices:
        raise no_input_device_error()
    if as_json:
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("index", justify="right")
    table.add_column("name")
    table.add_column("channels", justify="right")
    table.add_column("rate (Hz)", justify="right")
    table.add_column("host API")
    for device in devices:
        cells = (
            "*" if device.is_default else "",
            str(device.index),
            plain(device.name),
            str(device.input_channels),
            str(device.default_rate),
            plain(device.host_api),
        )
        table.add_row(*(Text(cell) for cell in cells))  # Text: names are never markup
    env.stdout_console.print(table)
    env.stderr.write("gladia: * marks the default input; give its index or part of its name\n")
