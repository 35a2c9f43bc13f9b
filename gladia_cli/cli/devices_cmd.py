"""`gladia devices`: the input devices `gladia live` and `gladia mix` can record from, and
apart, the outputs' monitors (the computer's sound: `system`)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from gladia_cli.cli.options import with_options
from gladia_cli.environment import Environment

EXAMPLES = """\
Examples:

  gladia devices                        the inputs, * marks the default
  gladia devices --json | jq '.[].name'
  gladia live 2                         record from input 2 of the list
  gladia live system                    what the computer plays (a monitor)
"""


@with_options
def devices_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON array on stdout, for scripts.")
    ] = False,
    *,
    env: Environment,
) -> None:
    """List audio input devices: index, name, input channels, default rate (* = default).

    Then, apart, the monitors of the outputs (PulseAudio, PipeWire): what `system` records.
    With no input device, both forms exit 5 (audio input); --json (the input devices only)
    still prints [] first.
    """
    from gladia_cli.audio.devices import list_input_devices, no_input_device_error
    from gladia_cli.safe_text import plain

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
    _monitors(env)


def _monitors(env: Environment) -> None:
    """The outputs' monitors, or on stderr why the computer's sound cannot be recorded."""
    from rich.table import Table
    from rich.text import Text

    from gladia_cli.audio.monitors import list_monitor_sources, unavailable
    from gladia_cli.errors import AudioInputError
    from gladia_cli.safe_text import plain

    try:
        if not sys.platform.startswith("linux"):
            raise unavailable(sys.platform)
        monitors = list_monitor_sources()
    except AudioInputError as exc:
        env.stderr.write(f"gladia: the computer's sound (system): {exc.message}\n")
        if exc.hint:
            env.stderr.write(f"gladia: hint: {exc.hint}\n")
        return
    if not monitors:
        env.stderr.write("gladia: the computer's sound (system): the sound server has no output\n")
        return
    table = Table(box=None, pad_edge=False, title="monitors (the computer's sound)")
    table.add_column("", no_wrap=True)
    table.add_column("name")
    table.add_column("channels", justify="right")
    table.add_column("rate (Hz)", justify="right")
    table.add_column("record with")
    for monitor in monitors:
        spec = "system" if monitor.is_default else f"system:{monitor.output}"
        cells = (
            "*" if monitor.is_default else "",
            plain(monitor.name),
            str(monitor.channels),
            str(monitor.rate),
            plain(spec),
        )
        table.add_row(*(Text(cell) for cell in cells))
    env.stdout_console.print()
    env.stdout_console.print(table)
    env.stderr.write("gladia: * marks the default output's monitor, which `system` records\n")
