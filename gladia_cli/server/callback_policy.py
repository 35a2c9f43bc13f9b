"""Where the server may POST callbacks: not to link-local or cloud-metadata addresses.

A callback URL is chosen by whoever creates a session; without this rule the server would
fetch `http://169.254.169.254/…` for them (the cloud's credentials) from inside its own
network. Loopback stays allowed (tests and local tools listen there). `serve
--allow-link-local-callbacks` lifts the rule. Literal addresses are checked at init; names
are checked when resolved, each time a callback is posted (a name may change its address).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

BLOCKED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",  # IPv4 link-local: AWS, GCP, Azure, OpenStack metadata
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "192.0.0.192/32",  # Oracle Cloud metadata
    )
)
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)


def address_blocked(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in BLOCKED_NETWORKS)


def url_problem(url: str) -> str | None:
    """Why a callback URL is refused (as the end of a validation message), or None."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if host in METADATA_NAMES or address_blocked(host):
        return "must not be a link-local or cloud metadata address"
    return None


class GuardedResolver(ThreadedResolver):
    """Resolves callback hosts, refusing names that lead to a blocked address."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        infos = await super().resolve(host, port, family)
        if any(address_blocked(str(info["host"])) for info in infos):
            raise OSError(f"callback host {host} resolves to a link-local or metadata address")
        return infos
