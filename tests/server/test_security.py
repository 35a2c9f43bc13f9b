"""Who may see a session, which Host and Origin the server answers, where callbacks may go."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import websocket

from gladia_cli.server.runner import LocalServer
from tests.support import HEADERS, RawClient, create_session, local_server, tone_bursts

AUDIO = tone_bursts([(0.3, 0.8, 0)], total=1.5).tobytes()
OTHER = {"x-gladia-key": "someone-else"}


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def test_sessions_belong_to_the_key_that_created_them(server: LocalServer) -> None:
    created = create_session(server.url)
    client = RawClient(created["url"])
    client.send_audio(AUDIO)
    client.stop()
    client.read_until_closed()
    session_url = f"{server.url}/v2/live/{created['id']}"
    for method, url in [
        ("GET", session_url),
        ("GET", session_url + "/file"),
        ("PATCH", session_url),
        ("DELETE", session_url),
    ]:
        response = requests.request(method, url, headers=OTHER, json={}, timeout=5)
        assert response.status_code == 404, (method, url)
        assert response.json()["message"] == "Not found"
    listed = requests.get(f"{server.url}/v2/live", headers=OTHER, timeout=5).json()
    assert created["id"] not in [item["id"] for item in listed["items"]]
    mine = requests.get(f"{server.url}/v2/live?limit=100", headers=HEADERS, timeout=5).json()
    assert created["id"] in [item["id"] for item in mine["items"]]
    assert requests.get(session_url, headers=HEADERS, timeout=5).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"Host": "evil.example:8000"},
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Host": "127.0.0.1.evil.example"},
    ],
)
def test_foreign_host_or_origin_headers_are_refused(
    server: LocalServer, headers: dict[str, str]
) -> None:
    """DNS rebinding: a web page's requests carry its own name as Host and Origin."""
    response = requests.post(
        f"{server.url}/v2/live", json={}, headers={**HEADERS, **headers}, timeout=5
    )
    assert response.status_code == 403
    body = response.json()
    assert body["statusCode"] == 403 and "not allowed" in body["message"]


def test_the_websocket_checks_origin_too(server: LocalServer) -> None:
    created = create_session(server.url)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(created["url"], timeout=5, origin="http://evil.example")
    assert refused.value.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "localhost:1234"},
        {"Host": "[::1]:1234"},
        {"Host": "127.0.0.2"},
        {"Origin": "http://localhost:3000"},
    ],
)
def test_loopback_names_are_accepted(server: LocalServer, headers: dict[str, str]) -> None:
    response = requests.post(
        f"{server.url}/v2/live", json={}, headers={**HEADERS, **headers}, timeout=5
    )
    assert response.status_code == 201


def test_allowed_hosts_are_accepted() -> None:
    with local_server(allowed_hosts=("gladia.test",)) as server:
        response = requests.post(
            f"{server.url}/v2/live",
            json={},
            headers={**HEADERS, "Host": "gladia.test:80", "Origin": "https://gladia.test"},
            timeout=5,
        )
        assert response.status_code == 201
        assert response.json()["url"].startswith("ws://gladia.test:80/")


def _init(server: LocalServer, url: str) -> requests.Response:
    body = {"callback": True, "callback_config": {"url": url}}
    return requests.post(f"{server.url}/v2/live", json=body, headers=HEADERS, timeout=5)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/hook", "must be an http or https URL"),
        ("file:///etc/passwd", "must be an http or https URL"),
        ("http://", "must be an http or https URL"),
        ("http://169.254.169.254/latest/meta-data/", "link-local or cloud metadata"),
        ("http://[fe80::1]/hook", "link-local or cloud metadata"),
        ("http://[fd00:ec2::254]/", "link-local or cloud metadata"),
        ("http://100.100.100.200/", "link-local or cloud metadata"),
        ("http://[::ffff:169.254.169.254]/", "link-local or cloud metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "link-local or cloud metadata"),
    ],
)
def test_callback_urls_are_checked(server: LocalServer, url: str, message: str) -> None:
    response = _init(server, url)
    assert response.status_code == 400
    body = response.json()
    assert body["statusCode"] == 400 and body["path"] == "/v2/live"
    assert body["validation_errors"][0].startswith("callback_config.url ")
    assert message in body["validation_errors"][0]


def test_loopback_callbacks_stay_allowed_and_link_local_can_be_allowed(
    server: LocalServer,
) -> None:
    assert _init(server, "http://127.0.0.1:9/hook").status_code == 201
    assert _init(server, "https://example.com/hook").status_code == 201
    with local_server(allow_link_local_callbacks=True) as permissive:
        assert _init(permissive, "http://169.254.169.254/").status_code == 201
