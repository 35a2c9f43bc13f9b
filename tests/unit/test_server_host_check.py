"""Which Host and Origin headers the server answers (DNS rebinding), with no server."""

from __future__ import annotations

import pytest

from gladia_cli.server.callback_policy import address_blocked, url_problem
from gladia_cli.server.host_check import HostPolicy, host_name


@pytest.mark.parametrize(
    ("header", "name"),
    [("LocalHost:8000", "localhost"), ("[::1]:80", "::1"), ("::1", "::1"), ("a.b", "a.b")],
)
def test_host_names(header: str, name: str) -> None:
    assert host_name(header) == name


def test_loopback_and_allowed_names_only() -> None:
    policy = HostPolicy(("gladia.lan",))
    assert policy.accepts_host(None)  # not a browser
    assert policy.accepts_host("127.0.0.1:9") and policy.accepts_host("127.1.2.3")
    assert policy.accepts_host("localhost") and policy.accepts_host("[::1]:8000")
    assert policy.accepts_host("GLADIA.lan:8000")
    assert not policy.accepts_host("attacker.example")
    assert not policy.accepts_host("localhost.attacker.example")
    assert policy.accepts_origin("http://localhost:5173")
    assert policy.accepts_origin("https://gladia.lan")
    assert not policy.accepts_origin("null")
    assert not policy.accepts_origin("http://attacker.example")
    assert not policy.accepts_origin("file://")
    anything = HostPolicy(("*",))
    assert anything.accepts_host("attacker.example")
    assert anything.accepts_origin("http://attacker.example")


def test_blocked_callback_addresses() -> None:
    assert address_blocked("169.254.169.254") and address_blocked("fe80::1%eth0")
    assert address_blocked("::ffff:169.254.1.1") and address_blocked("fd00:ec2::254")
    assert not address_blocked("127.0.0.1") and not address_blocked("10.0.0.1")
    assert not address_blocked("example.com")
    assert url_problem("http://METADATA.google.internal./x") is not None
    assert url_problem("https://hooks.example.com/x") is None
