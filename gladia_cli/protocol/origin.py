"""Where the API key (and the audio) may go: the origin — scheme, host, port — the user
named with `--api-url`, and nowhere else.

- HTTP redirects: the key header is dropped on any redirect to another scheme, host or port
  (requests' own `rebuild_auth` drops only `Authorization`, so `x-gladia-key` would follow a
  302 to any host; httpx, browsers and Gladia's SDK drop credentials the same way). An
  upgrade from http to https on the same host is a change of scheme too: the key is not
  re-sent to an origin nobody named.
- The WebSocket URL `POST /v2/live` returns: it carries no key, but the session's token and
  every byte of audio go there, so it is held to the same origin — `ws` for an `http` API,
  `wss` for `https`, the same host and port (default ports are 80 and 443 for both). Gladia
  returns `wss://api.gladia.io/v2/live?token=…` for `https://api.gladia.io`, and the local
  server its own address; a URL elsewhere (a compromised or misconfigured proxy) is refused
  before any connection, and said without its token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

KEY_HEADER = "x-gladia-key"
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
SOCKET_SCHEME = {"http": "ws", "https": "wss"}  # the WebSocket scheme of an API's scheme


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of `url`, lower case, the default port filled in; an
    unparsable port is None (it matches nothing)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        return scheme, (parts.hostname or "").lower(), None
    return scheme, (parts.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme)


def shown(url: str) -> str:
    """`scheme://host:port` of `url`: what can be printed (a path or query may hold a token)."""
    scheme, host, port = origin(url)
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def same_origin(a: str, b: str) -> bool:
    """Whether a key meant for `a` may be sent to `b`."""
    first, second = origin(a), origin(b)
    return first == second and first[2] is not None and bool(first[1])


def socket_allowed(api_url: str, socket_url: str) -> bool:
    """Whether the WebSocket URL the API returned is on the API's own origin."""
    api_scheme, api_host, api_port = origin(api_url)
    scheme, host, port = origin(socket_url)
    return (
        SOCKET_SCHEME.get(api_scheme) == scheme
        and bool(host)
        and host == api_host
        and port is not None
        and port == api_port
    )
