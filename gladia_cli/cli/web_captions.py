"""`--web`, `--web-host`, `--web-port` (live, file, mix, replay): checked once, before
anything starts (the job wraps the format's renderer so that the captions reach the page:
jobs/streaming.with_web)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from gladia_cli.errors import UsageError
from gladia_cli.render.web import WebOptions

TOKEN_VARIABLE = "GLADIA_WEB_TOKEN"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,128}")


def web_options(
    web: bool, host: str | None, port: int, environ: Mapping[str, str]
) -> WebOptions | None:
    """None without --web (nor an option implying it). `GLADIA_WEB_TOKEN`, when set, is the
    token beyond loopback, so that a room screen's address survives a restart of the CLI."""
    if not (web or host is not None or port):
        return None
    if host is not None and not host.strip():
        raise UsageError(
            "--web-host is empty", hint="give an address, e.g. --web-host 0.0.0.0 (every interface)"
        )
    token = environ.get(TOKEN_VARIABLE) or None
    if token is not None and host is not None and not _TOKEN.fullmatch(token):
        raise UsageError(
            f"{TOKEN_VARIABLE} must be 16 to 128 letters, digits, - or _",
            hint="unset it for a random token, or: export "
            f"{TOKEN_VARIABLE}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')",
        )
    return WebOptions(host=host.strip() if host is not None else None, port=port, token=token)
