"""The one connection step of every command that talks to an API: its connection options
(`--api-key`, `--api-url`, `--profile`, and where a command has them `--region`, `--local`)
become the Settings in force (settings.py: flags > environment > profile > defaults).

`settings_for` is where the rules about them live, said the same way for every command:
`--local` and `--api-url` conflict; the saved key is read from the OS keyring; a command
that cannot run without a key says so ("no API key", exit 3) before anything starts, and
one that may (`--dry-run`) leaves it to the API client, warning when the keyring could not
be read; a key given as `--api-key` is visible in the process list, which is worth a
warning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from gladia_cli.errors import AuthError, UsageError

if TYPE_CHECKING:
    from gladia_cli.credentials import KeyStore
    from gladia_cli.environment import Environment
    from gladia_cli.settings import Settings

KEY_VISIBLE = "--api-key is visible to other users of this machine; prefer GLADIA_API_KEY"


class ConnectionChoices(Protocol):
    """What a command's options say of its connection (cli/options.py: ApiConnection,
    LocalConnection, StreamOptions)."""

    @property
    def api_key(self) -> str | None: ...

    @property
    def api_url(self) -> str | None: ...

    @property
    def profile(self) -> str | None: ...

    @property
    def region(self) -> str | None: ...

    @property
    def local(self) -> bool: ...

    @property
    def local_engine(self) -> str: ...

    @property
    def local_model(self) -> str: ...


def settings_for(
    conn: ConnectionChoices,
    env: Environment,
    warn: Callable[[str], None],
    *,
    key_hint: str | None = None,
    say_key_visible: bool = True,
    key_store: KeyStore | None = None,
) -> Settings:
    """The settings in force for `conn`; `warn`: where warnings go (Notices.warning).

    `key_hint`: the command needs a key before it starts (unless `--local`), and this is
    the "no API key" error's hint; None: the API client asks for it when it is used.
    `say_key_visible`: warn about `--api-key`. `key_store`: the OS keyring by default."""
    from gladia_cli.settings import resolve

    if key_store is None:
        from gladia_cli.credentials import KeyringStore

        key_store = KeyringStore()

    if conn.local and conn.api_url:
        raise UsageError(
            "--local runs its own server: --api-url has no effect with it",
            hint="drop one of --local and --api-url",
        )
    settings = resolve(
        api_key=conn.api_key,
        api_url=conn.api_url,
        region=conn.region,
        profile=conn.profile,
        local=conn.local,
        local_engine=conn.local_engine,
        local_model=conn.local_model,
        environ=env.environ,
        key_store=key_store,
        warn=warn,  # a config file holding a key that others can read
    )
    problem = settings.keyring_problem
    if not settings.has_key and key_hint is not None:
        if not settings.local:
            raise AuthError(
                f"no API key (the keyring could not be read: {problem})"
                if problem
                else "no API key",
                hint=key_hint,
            )
    elif not settings.has_key and problem:
        warn(f"the keyring could not be read: {problem}")
    if conn.api_key and say_key_visible:
        warn(KEY_VISIBLE)
    return settings
