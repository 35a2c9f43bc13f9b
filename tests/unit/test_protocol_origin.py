"""Where the key and the audio may go (protocol/origin.py): pure URL rules."""

from __future__ import annotations

from gladia_cli.protocol.origin import same_origin, shown, socket_allowed


def test_an_origin_is_scheme_host_and_port_with_default_ports() -> None:
    assert same_origin("https://api.gladia.io/v2/live", "https://API.gladia.io:443/v2/upload")
    assert same_origin("http://127.0.0.1:8080/a", "http://127.0.0.1:8080/b?x=1")
    assert not same_origin("http://127.0.0.1:8080", "http://127.0.0.2:8080")  # host
    assert not same_origin("http://127.0.0.1:8080", "http://127.0.0.1:8081")  # port
    assert not same_origin("http://api.gladia.io", "https://api.gladia.io")  # scheme, even up
    assert not same_origin("http://h:99999", "http://h:99999")  # an impossible port
    assert not same_origin("/relative", "/relative")  # no host: nothing to trust


def test_the_websocket_must_be_on_the_apis_origin() -> None:
    assert socket_allowed("https://api.gladia.io", "wss://api.gladia.io/v2/live?token=t")
    assert socket_allowed("http://127.0.0.1:8000", "ws://127.0.0.1:8000/v2/live?token=t")
    assert not socket_allowed("https://api.gladia.io", "ws://api.gladia.io/v2/live")  # clear
    assert not socket_allowed("https://api.gladia.io", "wss://eu.gladia.io/v2/live")
    assert not socket_allowed("http://127.0.0.1:8000", "ws://127.0.0.1:8001/v2/live")
    assert not socket_allowed("http://127.0.0.1:8000", "http://127.0.0.1:8000/v2/live")


def test_what_is_shown_never_holds_a_path_or_a_token() -> None:
    assert shown("wss://api.gladia.io/v2/live?token=secret") == "wss://api.gladia.io:443"
    assert shown("http://[::1]:8000/x?token=1") == "http://[::1]:8000"
