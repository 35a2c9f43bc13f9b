"""Which `Host` and `Origin` headers the server answers (no I/O).

A server on loopback without a key is reachable from any web page the user opens, through
DNS rebinding: a name the attacker controls first resolves to the attacker, then to
127.0.0.1, and the browser sends that name as `Host`. So only loopback names are accepted,
plus the names the operator allows (`serve --allow-host`) and the address the server was
bound to. A request without these headers (the CLI, the official SDK, curl) is not a
browser's and passes; an `Origin` must name an accepted host too (`null` never does).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.", "ip6-localhost"})
ANY_HOST = "*"


def host_name(header: str) -> str:
    """The name in a `Host` header, without the port, brackets or case."""
    value = header.strip().lower()
    if value.startswith("["):  # [::1]:8000
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def is_loopback(name: str) -> bool:
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class HostPolicy:
    def __init__(self, allowed: tuple[str, ...] = ()) -> None:
        self._any = ANY_HOST in allowed
        self._allowed = frozenset(host_name(a) for a in allowed if a != ANY_HOST)

    def accepts_host(self, header: str | None) -> bool:
        if header is None or self._any:
            return True
        name = host_name(header)
        return is_loopback(name) or name in self._allowed

    def accepts_origin(self, header: str | None) -> bool:
        if header is None or self._any:
            return True
        parts = urlsplit(header.strip())
        if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
            return False
        return is_loopback(parts.hostname) or parts.hostname.lower() in self._allowed
