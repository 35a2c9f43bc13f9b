"""`gladia auth login|status|logout`: a key checked, then saved in the keyring (or the file).

The key is never an argument (process arguments are visible to every user): `login` reads
it from a prompt that does not echo on a terminal, else from the first line of stdin.
It is checked against the API before anything is saved. Messages go to stderr; `status`
writes its report on stdout (lines, or one JSON object with --json).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gladia_cli.cli.choices import Region
from gladia_cli.cli.fast_help import FastHelpCommand, FastHelpGroup
from gladia_cli.cli.options import ApiKey, ApiUrl, Profile, with_options
from gladia_cli.cli.panels import CONNECTION
from gladia_cli.environment import Environment

if TYPE_CHECKING:
    from gladia_cli.credentials import KeyStore
    from gladia_cli.settings import Settings

EXAMPLES = """\
Examples:

  gladia auth login                         paste the key at the prompt (not echoed)
  pass show gladia | gladia auth login      or pipe it in
  gladia auth login --profile work --region us-west
  gladia auth status --json
  gladia auth logout --profile work
"""

LOGIN_EXAMPLES = """\
Examples:

  gladia auth login                         paste the key at the prompt (not echoed)
  pass show gladia | gladia auth login      or pipe it in
  gladia auth login --profile work --region us-west
  gladia auth login --api-url http://127.0.0.1:8000 --profile local
"""
STATUS_EXAMPLES = """\
Examples:

  gladia auth status
  gladia auth status --json | jq .key_from
  gladia auth status --profile work
"""
LOGOUT_EXAMPLES = """\
Examples:

  gladia auth logout
  gladia auth logout --profile work
"""

app = typer.Typer(
    help="Save, check and remove the API key (the OS keyring, or the config file).",
    epilog=EXAMPLES,
    no_args_is_help=True,
    cls=FastHelpGroup,
    rich_markup_mode=None,
)

_MAX_KEY_BYTES = 4096
_LOGIN_HINT = "check the key (app.gladia.io, API keys) and run `gladia auth login` again"


def _say(env: Environment, text: str) -> None:
    from gladia_cli.safe_text import plain

    env.stderr.write(f"gladia: {plain(text)}\n")
    env.stderr.flush()


def _warn(env: Environment) -> Callable[[str], None]:
    from gladia_cli.render.notices import Notices
    from gladia_cli.render.screen import Screen

    return Notices(Screen(env), quiet=False).warning


def read_key(env: Environment) -> str:
    """The key, from a prompt that does not echo (a terminal) or stdin's first line."""
    from gladia_cli.credentials import key_problem
    from gladia_cli.errors import UsageError

    if env.stdin_isatty:
        import getpass

        try:
            key = getpass.getpass("Gladia API key (not shown): ")
        except EOFError:
            key = ""
    else:
        line = env.stdin.readline(_MAX_KEY_BYTES + 2).rstrip(b"\r\n")
        if len(line) > _MAX_KEY_BYTES:  # cut there, it would be saved as a wrong key
            raise UsageError(
                f"the first line of stdin is longer than {_MAX_KEY_BYTES} bytes: not a key, "
                "nothing was saved",
                hint="give the key alone, on one line",
            )
        key = line.decode("utf-8", "replace").strip()
    if not key:
        raise UsageError(
            "no key given: nothing was saved",
            hint="paste it at the prompt, or pipe it in: gladia auth login < key.txt",
        )
    problem = key_problem(key)
    if problem is not None:
        raise UsageError(
            f"the key {problem}: nothing was saved", hint="give the key alone, on one line"
        )
    return key


def _checked(settings: Settings, *, then: str) -> float:
    """The key checked against the API (round trip in seconds); errors say `then`."""
    from gladia_cli.client.api import LiveApi
    from gladia_cli.errors import AuthError, NetworkError

    try:
        return LiveApi(settings).check_key()
    except AuthError as exc:
        raise AuthError(f"{exc.message}; {then}", hint=_LOGIN_HINT) from None
    except NetworkError as exc:
        raise NetworkError(
            f"{exc.message}; {then}",
            hint="check --api-url (or the profile's api_url) and your network",
        ) from None


@app.command("login", cls=FastHelpCommand, epilog=LOGIN_EXAMPLES)
@with_options
def login_command(
    profile: Profile = None,
    api_url: ApiUrl = None,
    region: Annotated[
        Region | None,
        typer.Option(
            "--region",
            help="Region to save in the profile.",
            show_default=False,
            metavar="REGION",
            rich_help_panel=CONNECTION,
        ),
    ] = None,
    *,
    env: Environment,
) -> None:
    """Check an API key, then save it for the profile in the OS keyring (else the config file).

    The key is read from a prompt that does not echo, or from stdin; never give it as an
    argument. --api-url and --region are saved in the profile too. Exits 3 when the API
    refuses the key and 4 when it cannot be reached; nothing is saved then.
    """
    import stat
    from dataclasses import replace

    from gladia_cli.credentials import (
        DEFAULT_PROFILE,
        KeyringStore,
        KeyStoreError,
        set_config_value,
    )
    from gladia_cli.settings import read_config, resolve

    settings = resolve(
        api_url=api_url,
        region=region.value if region else None,
        profile=profile,
        environ=env.environ,
        new_profile=True,
    )
    key = read_key(env)
    rtt = _checked(replace(settings, api_key=key), then="nothing was saved")
    name = settings.profile
    _say(env, f"the API at {settings.api_url} accepted the key ({rtt * 1000:.0f} ms)")
    file = read_config(env.environ)
    path = file.path
    store = KeyringStore()
    try:
        store.set(name, key)
    except KeyStoreError as exc:
        _warn(env)(f"the keyring cannot be used ({exc}); saving the key in the config file")
        written = set_config_value(path, name, "api_key", key)
        if written.narrowed_from is not None:
            _say(env, f"{path} was mode {written.narrowed_from:04o}: now readable by you only")
        mode = stat.S_IMODE(path.stat().st_mode)
        where = f"the config file {file.where(name)} (mode {mode:04o})"
    else:
        where = f"the {store.describe()}"
        if file.values_of(name).get("api_key"):  # one place per key: the older one goes
            set_config_value(path, name, "api_key", None)
            _say(env, f"removed the older key from the config file {file.where(name)}")
    for value_name, value in (("api_url", api_url), ("region", region.value if region else None)):
        if value is not None:
            set_config_value(path, name, value_name, value.rstrip("/"))
    if name != DEFAULT_PROFILE and name not in read_config(env.environ).profiles:
        set_config_value(path, name, "api_url", None)  # an empty table: the profile exists
    _say(env, f"saved the key for profile {name} in {where}")
    if where.startswith("the keyring") and store.stores_plaintext():
        _warn(env)("this keyring keeps keys in a plain file: `gladia doctor` says more")
    if env.environ.get("GLADIA_API_KEY"):
        _warn(env)("GLADIA_API_KEY is set in this environment and goes before the saved key")


def status_report(settings: Settings, keyring: KeyStore) -> dict[str, Any]:
    """What `auth status` shows, before the check (never the key itself)."""
    from gladia_cli.credentials import mask

    return {
        "profile": settings.profile,
        "profile_from": settings.profile_source,
        "api_url": settings.api_url,
        "region": settings.region,
        "key": mask(settings.api_key) if settings.api_key else None,
        "key_from": settings.key_source,
        "keyring": keyring.describe(),
        "keyring_problem": settings.keyring_problem,
        "check": "not checked",
        "round_trip_ms": None,
    }


def _status_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"profile:  {report['profile']} (from {report['profile_from']})",
        f"API:      {report['api_url']} (region: {report['region'] or 'the API default'})",
        f"key:      {report['key']} from {report['key_from']}"
        if report["key"]
        else "key:      none",
        f"keyring:  {report['keyring']}"
        + (
            f" — could not be read: {report['keyring_problem']}"
            if report["keyring_problem"]
            else ""
        ),
    ]
    rtt = report["round_trip_ms"]
    lines.append(f"check:    {report['check']}" + (f" ({rtt} ms)" if rtt is not None else ""))
    return lines


@app.command("status", cls=FastHelpCommand, epilog=STATUS_EXAMPLES)
@with_options
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    profile: Profile = None,
    api_key: ApiKey = None,
    api_url: ApiUrl = None,
    *,
    env: Environment,
) -> None:
    """Which key is in force and where it comes from (masked), and whether the API takes it.

    Exits 3 when there is no key or the API refuses it, 4 when the API cannot be reached.
    """
    from gladia_cli.credentials import KeyringStore
    from gladia_cli.errors import AuthError, GladiaError, NetworkError
    from gladia_cli.settings import resolve

    keyring = KeyringStore()
    settings = resolve(
        api_key=api_key,
        api_url=api_url,
        profile=profile,
        environ=env.environ,
        key_store=keyring,
        warn=_warn(env),
    )
    if api_key:
        _warn(env)("--api-key is visible to other users of this machine; prefer GLADIA_API_KEY")
    report = status_report(settings, keyring)
    failure: GladiaError | None = None
    if not settings.has_key:
        report["check"] = "no key"
        failure = AuthError("no API key", hint="run `gladia auth login`, or set GLADIA_API_KEY")
    else:
        try:
            report["round_trip_ms"] = round(_checked(settings, then="see above") * 1000)
            report["check"] = "accepted"
        except AuthError as exc:
            report["check"], failure = "refused", exc
        except NetworkError as exc:
            report["check"], failure = "unreachable", exc
    if as_json:
        env.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        from gladia_cli.safe_text import plain

        env.stdout.write("".join(plain(line) + "\n" for line in _status_lines(report)))
    env.stdout.flush()
    if failure is not None:
        raise failure


@app.command("logout", cls=FastHelpCommand, epilog=LOGOUT_EXAMPLES)
@with_options
def logout_command(
    profile: Profile = None,
    *,
    env: Environment,
) -> None:
    """Remove the profile's saved key, from the keyring and from the config file.

    Removing a key that is not there is not an error: it says so, and exits 0.
    """
    from gladia_cli.credentials import (
        DEFAULT_PROFILE,
        KeyringStore,
        KeyStoreError,
        set_config_value,
    )
    from gladia_cli.errors import GladiaError
    from gladia_cli.settings import chosen_profile, read_config, read_key_file, unknown_profile

    name, _ = chosen_profile(profile, env.environ)
    file = read_config(env.environ)
    store = KeyringStore()
    removed: list[str] = []
    failure = None
    try:
        if store.delete(name):
            removed.append(f"the {store.describe()}")
    except KeyStoreError as exc:
        failure = GladiaError(
            f"cannot remove the key of profile {name} from the keyring: {exc}",
            hint="unlock the keyring and run `gladia auth logout` again",
        )
    if file.values_of(name).get("api_key"):
        set_config_value(file.path, name, "api_key", None)
        removed.append(f"the config file {file.where(name)}")
    if removed:
        _say(env, f"removed the key of profile {name} from {' and '.join(removed)}")
    elif failure is None:
        if name != DEFAULT_PROFILE and name not in file.profiles:
            raise unknown_profile(name, file)
        _say(env, f"no key is saved for profile {name}: nothing to remove")
    if env.environ.get("GLADIA_API_KEY"):
        _warn(env)("GLADIA_API_KEY is still set in this environment")
    key_file = read_key_file(env.environ) if name == DEFAULT_PROFILE else None
    if key_file is not None and key_file.key:
        _warn(env)(
            f"{key_file.path}, Gladia's CLI key file, still holds a key, used when no other "
            "is set; remove that file to stop it"
        )
    if failure is not None:
        raise failure
