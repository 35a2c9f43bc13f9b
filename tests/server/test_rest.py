"""Init and the REST endpoints around live sessions; auth, limits, callbacks."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import soundfile as sf
from aiohttp import web

from gladia_cli.server.runner import LocalServer
from tests.support import HEADERS, RawClient, create_session, get_session, local_server, tone_bursts

AUDIO = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0)], total=2.6).tobytes()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def _complete(server: LocalServer, body: dict[str, Any] | None = None) -> dict[str, Any]:
    created = create_session(server.url, body)
    client = RawClient(created["url"])
    client.send_audio(AUDIO)
    client.stop()
    client.read_until_closed()
    return created


def test_init_answers_201_with_a_url_built_from_the_host_asked(server: LocalServer) -> None:
    port = server.url.rsplit(":", 1)[1]
    response = requests.post(
        f"http://localhost:{port}/v2/live", json={}, headers=HEADERS, timeout=5
    )
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {"id", "created_at", "url"}
    assert created["url"].startswith(f"ws://localhost:{port}/v2/live?token=")
    assert created["url"].split("token=")[1] != created["id"]
    assert created["created_at"].endswith("Z") and len(created["created_at"]) == 24


def test_init_errors_have_gladias_shape(server: LocalServer) -> None:
    bad = requests.post(
        f"{server.url}/v2/live", json={"sample_rate": 1}, headers=HEADERS, timeout=5
    )
    assert bad.status_code == 400
    body = bad.json()
    assert set(body) >= {
        "timestamp",
        "path",
        "request_id",
        "statusCode",
        "message",
        "validation_errors",
    }
    assert body["statusCode"] == 400 and body["path"] == "/v2/live"
    assert body["request_id"].startswith("G-") and len(body["request_id"]) == 10
    assert body["validation_errors"][0].startswith("sample_rate must be one of")
    semantic = requests.post(
        f"{server.url}/v2/live",
        json={"encoding": "wav/alaw", "bit_depth": 16},
        headers=HEADERS,
        timeout=5,
    )
    assert semantic.status_code == 422
    not_json = requests.post(f"{server.url}/v2/live", data=b"{", headers=HEADERS, timeout=5)
    assert not_json.status_code == 400
    region = requests.post(f"{server.url}/v2/live?region=mars", json={}, headers=HEADERS, timeout=5)
    assert region.status_code == 400
    assert requests.post(
        f"{server.url}/v2/live?region=eu-west", json={}, headers=HEADERS, timeout=5
    ).ok


@pytest.mark.parametrize("headers", [{}, {"x-gladia-key": ""}])
def test_every_endpoint_wants_a_key(server: LocalServer, headers: dict[str, str]) -> None:
    for method, path in [
        ("POST", "/v2/live"),
        ("GET", "/v2/live"),
        ("GET", "/v2/live/x"),
        ("DELETE", "/v2/live/x"),
        ("GET", "/v2/live/x/file"),
        ("PATCH", "/v2/live/x"),
    ]:
        response = requests.request(method, server.url + path, headers=headers, json={}, timeout=5)
        assert response.status_code == 401, (method, path)
        assert response.json()["message"] == "gladia key not found"


@pytest.mark.parametrize("headers", [{}, HEADERS])
def test_paths_and_methods_without_a_route_keep_their_404_and_405(
    server: LocalServer, headers: dict[str, str]
) -> None:
    missing = requests.get(f"{server.url}/v2/nothing", headers=headers, timeout=5)
    assert missing.status_code == 404 and missing.json()["statusCode"] == 404
    wrong = requests.put(f"{server.url}/v2/live", headers=headers, timeout=5)
    assert wrong.status_code == 405 and wrong.json()["statusCode"] == 405


def test_header_name_is_case_insensitive(server: LocalServer) -> None:
    response = requests.post(
        f"{server.url}/v2/live", json={}, headers={"X-Gladia-Key": "k"}, timeout=5
    )
    assert response.status_code == 201


def test_a_server_with_a_key_accepts_only_that_key() -> None:
    with local_server(api_key="s3cret") as server:
        wrong = requests.post(f"{server.url}/v2/live", json={}, headers=HEADERS, timeout=5)
        assert wrong.status_code == 401
        right = requests.post(
            f"{server.url}/v2/live", json={}, headers={"x-gladia-key": "s3cret"}, timeout=5
        )
        assert right.status_code == 201


def test_get_the_full_result(server: LocalServer) -> None:
    created = _complete(server, {"custom_metadata": {"ticket": "T-1"}})
    session = get_session(server.url, created["id"])
    assert session["status"] == "done" and session["kind"] == "live" and session["version"] == 2
    assert session["custom_metadata"] == {"ticket": "T-1"}
    assert session["post_session_metadata"] == {}
    assert session["request_params"]["endpointing"] == 0.05
    assert session["file"]["audio_duration"] == pytest.approx(2.6)
    result = session["result"]
    assert result["metadata"]["billing_time"] == pytest.approx(2.6)
    assert len(result["transcription"]["utterances"]) == 2
    assert result["transcription"]["full_transcript"]
    assert all(isinstance(m, str) for m in result["messages"])


def test_status_moves_from_queued_to_processing_to_done(server: LocalServer) -> None:
    created = create_session(server.url)
    assert get_session(server.url, created["id"])["status"] == "queued"
    client = RawClient(created["url"])
    client.send_audio(AUDIO[:3200])
    client.read(1)
    assert get_session(server.url, created["id"])["status"] == "processing"
    assert get_session(server.url, created["id"])["result"] is None
    client.stop()
    client.read_until_closed()
    assert get_session(server.url, created["id"])["status"] == "done"


def test_the_stored_audio_is_a_wav_file(server: LocalServer) -> None:
    created = _complete(server, {"sample_rate": 16000})
    response = requests.get(
        f"{server.url}/v2/live/{created['id']}/file", headers=HEADERS, timeout=5
    )
    assert response.status_code == 200
    data, rate = sf.read(io.BytesIO(response.content), dtype="int16")
    assert rate == 16000 and data.tobytes() == AUDIO
    empty = create_session(server.url)
    missing = requests.get(f"{server.url}/v2/live/{empty['id']}/file", headers=HEADERS, timeout=5)
    assert missing.status_code == 404


def test_list_pagination_and_filters() -> None:
    with local_server() as server:
        ids = [
            _complete(server, {"custom_metadata": {"user": "ann" if i % 2 else "bob"}})["id"]
            for i in range(5)
        ]
        queued = create_session(server.url)["id"]
        page = requests.get(f"{server.url}/v2/live?limit=2", headers=HEADERS, timeout=5).json()
        assert len(page["items"]) == 2
        assert page["items"][0]["id"] == queued  # newest first
        assert page["first"].startswith(server.url) and "offset=0" in page["first"]
        seen = []
        url: str | None = page["first"]
        while url:
            page = requests.get(url, headers=HEADERS, timeout=5).json()
            seen += [item["id"] for item in page["items"]]
            url = page["next"]
        assert sorted(seen) == sorted([*ids, queued])

        def count(query: str) -> int:
            response = requests.get(f"{server.url}/v2/live?{query}", headers=HEADERS, timeout=5)
            assert response.status_code == 200, response.text
            return len(response.json()["items"])

        assert count("status=done") == 5
        assert count("status=queued&status=done") == 6
        assert count("custom_metadata=" + json.dumps({"user": "ann"})) == 2
        assert count("custom_metadata[user]=bob") == 3
        assert count("after_date=2000-01-01T00:00:00Z") == 6
        assert count("before_date=2000-01-01T00:00:00Z") == 0
        today = get_session(server.url, queued)["created_at"][:10]
        assert count(f"date={today}") == 6
        bad = requests.get(f"{server.url}/v2/live?status=sleeping", headers=HEADERS, timeout=5)
        assert bad.status_code == 400
        bad = requests.get(f"{server.url}/v2/live?limit=0", headers=HEADERS, timeout=5)
        assert bad.status_code == 400


def test_delete(server: LocalServer) -> None:
    created = create_session(server.url)
    client = RawClient(created["url"])
    client.send_audio(AUDIO[:3200])
    client.read(1)
    busy = requests.delete(f"{server.url}/v2/live/{created['id']}", headers=HEADERS, timeout=5)
    assert busy.status_code == 403
    client.stop()
    client.read_until_closed()
    done = requests.delete(f"{server.url}/v2/live/{created['id']}", headers=HEADERS, timeout=5)
    assert done.status_code == 202 and done.content == b""
    gone = requests.get(f"{server.url}/v2/live/{created['id']}", headers=HEADERS, timeout=5)
    assert gone.status_code == 404
    again = requests.delete(f"{server.url}/v2/live/{created['id']}", headers=HEADERS, timeout=5)
    assert again.status_code == 404


def test_patch_post_session_metadata(server: LocalServer) -> None:
    created = _complete(server)
    url = f"{server.url}/v2/live/{created['id']}"
    response = requests.patch(
        url, json={"post_session_metadata": {"rating": 5}}, headers=HEADERS, timeout=5
    )
    assert response.status_code == 204
    assert get_session(server.url, created["id"])["post_session_metadata"] == {"rating": 5}
    big = requests.patch(
        url, json={"post_session_metadata": {"x": "y" * 200_000}}, headers=HEADERS, timeout=5
    )
    assert big.status_code == 413


def test_concurrency_limit() -> None:
    with local_server(max_sessions=2) as server:
        first = create_session(server.url)
        create_session(server.url)
        refused = requests.post(f"{server.url}/v2/live", json={}, headers=HEADERS, timeout=5)
        assert refused.status_code == 429
        client = RawClient(first["url"])
        client.send_audio(AUDIO)
        client.stop()
        client.read_until_closed()
        assert create_session(server.url)["id"]


class CallbackReceiver:
    """A small HTTP server collecting the callbacks the local server POSTs."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.url = ""
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import asyncio

        async def collect(request: web.Request) -> web.Response:
            self.bodies.append(await request.json())
            return web.Response(status=200)

        async def main() -> None:
            app = web.Application()
            app.router.add_post("/hook", collect)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self.url = f"http://127.0.0.1:{port}/hook"
            self._ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    def start(self) -> CallbackReceiver:
        self._thread.start()
        self._ready.wait(5)
        return self


def test_callbacks_are_posted_in_order_with_their_own_flags(server: LocalServer) -> None:
    receiver = CallbackReceiver().start()
    created = _complete(
        server,
        {
            "callback": True,
            "callback_config": {"url": receiver.url, "receive_speech_events": True},
            "messages_config": {"receive_speech_events": False},
        },
    )
    deadline = time.monotonic() + 5
    while not receiver.bodies or receiver.bodies[-1]["event"] != "live.end_session":
        assert time.monotonic() < deadline, receiver.bodies
        time.sleep(0.05)
    events = [body["event"] for body in receiver.bodies]
    assert all(body["id"] == created["id"] for body in receiver.bodies)
    assert "live.speech_start" in events  # on for the callback, off for the socket
    assert "live.audio_chunk" not in events  # the callback's default: no acknowledgments
    assert "live.start_recording" in events  # lifecycle: on by default for callbacks
    assert events.index("live.post_final_transcript") < events.index("live.end_session")
    payload = receiver.bodies[events.index("live.transcript")]["payload"]
    assert payload["type"] == "transcript" and payload["session_id"] == created["id"]
