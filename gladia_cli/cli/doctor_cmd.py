"""`gladia doctor`: what works on this machine and what to do about what does not.

The checks are gladia_cli/diagnostics.py's; this module runs them and shows them: a table on
a terminal, one line per check in a pipe (and a `fix:` line under each that has one), or
one JSON object with --json.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from gladia_cli.cli.choices import LocalModel
from gladia_cli.cli.options import ApiUrl, Profile, with_options
from gladia_cli.environment import Environment

if TYPE_CHECKING:
    from gladia_cli.diagnostics import Check

EXAMPLES = """\
Examples:

  gladia doctor                       every check, as a table
  gladia doctor --skip-engine         without the model hashes and the engine self-test
  gladia doctor --json | jq '.checks[] | select(.status != "ok")'
  gladia doctor --profile work --skip-network
  gladia doctor --local               the embedded server instead of the API
"""


def _table(env: Environment, checks: list[Check]) -> None:
    from rich.table import Table
    from rich.text import Text

    styles = {"ok": "green", "warn": "yellow", "fail": "bold red"}
    table = Table(box=None, pad_edge=False, show_header=True)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result")
    for check in checks:
        result = Text(check.detail)
        if check.fix:
            result.append(f"\nfix: {check.fix}", style="cyan")
        table.add_row(Text(check.status, style=styles[check.status]), Text(check.name), result)
    env.stdout_console.print(table)


def _lines(env: Environment, checks: list[Check]) -> None:
    from gladia_cli.safe_text import plain

    width = max(len(c.name) for c in checks)
    for check in checks:
        env.stdout.write(f"{check.status:<4}  {check.name:<{width}}  {plain(check.detail)}\n")
        if check.fix:
            env.stdout.write(f"{'':<4}  {'':<{width}}  fix: {plain(check.fix)}\n")
    env.stdout.flush()


@with_options
def doctor_command(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    skip_network: Annotated[
        bool, typer.Option("--skip-network", help="No request to the API (offline).")
    ] = False,
    skip_engine: Annotated[
        bool,
        typer.Option(
            "--skip-engine",
            help="Neither the model hashes nor the engine self-test (about 2 s).",
        ),
    ] = False,
    local_model: Annotated[
        LocalModel,
        typer.Option("--local-model", metavar="MODEL", help="Whisper model to self-test."),
    ] = LocalModel.BASE,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Check the embedded server --local starts instead of the API (no key needed).",
        ),
    ] = False,
    profile: Profile = None,
    api_url: ApiUrl = None,
    *,
    env: Environment,
) -> int:
    """Check the set-up: key, API, microphones, local engine, config file, versions.

    Each check is ok, warn or fail, with a fix. Exits 0 when nothing fails (warnings
    allowed); else 3 when the key is missing or refused, 4 when the API cannot be
    reached, 2 when the config file or profile cannot be used, 1 for any other failure.
    """
    from gladia_cli import diagnostics as d
    from gladia_cli.credentials import KeyringStore
    from gladia_cli.errors import GladiaError
    from gladia_cli.settings import read_config, read_key_file, resolve

    keyring = KeyringStore()
    checks = [d.versions_check()]
    try:
        settings = resolve(api_url=api_url, profile=profile, environ=env.environ, key_store=keyring)
        checks.append(d.config_check(read_config(env.environ)))
    except GladiaError as exc:
        # A broken config file, profile or key is what doctor is run for: it is one failed
        # check (the API's need those settings), and the other checks still run.
        checks.append(
            d.Check("settings", d.FAIL, exc.message, fix=exc.hint, exit_code=exc.exit_code)
        )
        settings = None
    if settings is not None:
        key_file = d.key_file_check(read_key_file(env.environ), settings)
        if key_file is not None:
            checks.append(key_file)
        checks += [
            d.keyring_check(keyring, settings.profile),
            *(
                d.local_server_checks()
                if local
                else d.api_checks(settings, None if skip_network else d.probe_api(settings))
            ),
        ]
    checks += d.audio_checks()
    if not skip_engine:
        checks += d.engine_checks(local_model.value)
    code = d.exit_code(checks)
    if as_json:
        report = {"ok": code == 0, "exit_code": code, "checks": [c.as_json() for c in checks]}
        env.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
        env.stdout.flush()
    elif env.stdout_isatty:
        _table(env, checks)
    else:
        _lines(env, checks)
    failed = [c.name for c in checks if c.status == d.FAIL]
    if failed:
        env.stderr.write(f"gladia: {len(failed)} check(s) failed: {', '.join(failed)}\n")
    return code
