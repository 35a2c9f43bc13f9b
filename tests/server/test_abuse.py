"""Hostile and careless clients: floods, oversized and malformed input, wrong tokens, many
sessions at once. Each runs beside a canary session that must end byte-identical, with all
its finals: abuse of one session never costs another anything."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import websocket

from gladia_cli.server.live import session_result
from gladia_cli.server.runner import LocalServer
from tests.server.audio import AUDIO
from tests.support import (
    HEADERS,
    RawClient,
    create_session,
    get_session,
    local_server,
    stored_audio,
    tone_bursts,
)

SHORT = tone_bursts([(0.1, 0.4, 0)], total=0.8).tobytes()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


@contextmanager
def canary(server: LocalServer) -> Iterator[None]:
    """A well-behaved session streaming across the abuse: half before, half after."""
    created = create_session(server.url)
    client = RawClient(created["url"])
    half = len(AUDIO) // 2 // 3200 * 3200
    client.send_audio(AUDIO[:half])
    yield
    client.send_audio(AUDIO[half:])
    client.stop()
    client.read_until_closed()
    assert client.received.close_code == 1000
    finals = [m for m in client.received.of_type("transcript") if m["data"]["is_final"]]
    assert len(finals) == 3
    assert stored_audio(server.url, created["id"]) == AUDIO


def _post(server: LocalServer, body: bytes, path: str = "/v2/live") -> requests.Response:
    headers = {**HEADERS, "Content-Type": "application/json"}
    return requests.post(server.url + path, data=body, headers=headers, timeout=10)


def _is_gladia_error(response: requests.Response, status: int) -> None:
    assert response.status_code == status, response.text[:200]
    body = response.json()
    assert set(body) >= {"timestamp", "path", "request_id", "statusCode", "message"}
    assert body["statusCode"] == status


HOSTILE_BODIES = {
    "5000-digit integer": b'{"channels": 1' + b"0" * 5000 + b"}",
    "400-digit integer": b'{"sample_rate": 1' + b"0" * 400 + b"}",
    "integer field, 400 digits": b'{"channels": 1' + b"0" * 400 + b"}",
    "overflowing float": b'{"endpointing": 1e400}',
    "NaN": b'{"endpointing": NaN}',
    "Infinity": b'{"maximum_duration_without_endpointing": Infinity}',
    "100 000 nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "deep custom_metadata": b'{"custom_metadata": ' + b'{"a": ' * 60 + b"1" + b"}" * 61,
    "malformed JSON": b'{"sample_rate": 16000',
    "not UTF-8": b'{"custom_metadata": {"a": "\xff\xfe"}}',
    "a JSON array": b"[1, 2, 3]",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_init_bodies_get_400_never_500(server: LocalServer, name: str) -> None:
    with canary(server):
        _is_gladia_error(_post(server, HOSTILE_BODIES[name]), 400)


def test_oversized_bodies_get_413_in_gladias_shape(server: LocalServer) -> None:
    with canary(server):
        huge = b'{"custom_metadata": {"a": "' + b"x" * (3 * 1024 * 1024) + b'"}}'
        _is_gladia_error(_post(server, huge), 413)
        created = create_session(server.url)
        response = requests.patch(
            f"{server.url}/v2/live/{created['id']}",
            data=huge,
            headers={**HEADERS, "Content-Type": "application/json"},
            timeout=10,
        )
        _is_gladia_error(response, 413)


def test_unknown_paths_and_methods_answer_in_gladias_shape(server: LocalServer) -> None:
    with canary(server):
        response = requests.get(f"{server.url}/v3/nothing", headers=HEADERS, timeout=5)
        _is_gladia_error(response, 404)
        _is_gladia_error(requests.put(f"{server.url}/v2/live", headers=HEADERS, timeout=5), 405)


@pytest.mark.parametrize("mib", [2, 20, 80])
def test_an_oversized_frame_gets_1009(server: LocalServer, mib: int) -> None:
    """Over 4 MiB aiohttp refuses the frame unread; the client still gets its 1009."""
    with canary(server):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.ws.send_bytes(b"\0" * (mib * 1024 * 1024))
        client.read_until_closed()
        assert client.received.close_code == 1009


@pytest.mark.parametrize(
    "frame",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"type": "audio_chunk", "data": {"chunk": 1' + "0" * 5000 + "}}",
        '{"type": "stop_recording", "x": NaN',
        "\ud800 not even text",
    ],
)
def test_malformed_messages_get_4400(server: LocalServer, frame: str) -> None:
    with canary(server):
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.ws.send(frame.encode("utf-8", "surrogatepass"), websocket.ABNF.OPCODE_TEXT)
        client.read_until_closed()
        assert client.received.close_code in (4400, 1007)  # 1007: not UTF-8 at all


@pytest.mark.parametrize("token", ["nope", "", "x" * 4000, "../../admin", "%00"])
def test_wrong_tokens_get_4401(server: LocalServer, token: str) -> None:
    with canary(server):
        base = server.url.replace("http", "ws")
        client = RawClient(f"{base}/v2/live?token={token}")
        client.read_until_closed()
        assert client.received.close_code == 4401


def test_a_flood_of_unknown_messages_is_cut_off_and_costs_nothing(server: LocalServer) -> None:
    """200 000 small unknown-type messages: closed with 4400 after 100 of them; the
    session's stored messages and its GET body stay small."""
    with canary(server):
        created = create_session(server.url)
        client = RawClient(created["url"])
        frame = json.dumps({"type": "x" * 200})
        try:
            for _ in range(200_000):
                client.ws.send(frame)
        except (websocket.WebSocketConnectionClosedException, OSError):
            pass  # the server closed meanwhile
        errors, close = _frames_until_close(client.ws)
        assert close[:2] == (4400).to_bytes(2, "big")
        assert b"too many invalid messages" in close
        assert 0 < len(errors) <= 100
        assert len(errors[0]["error"]["message"]) < 120  # the echoed type is cut short
        session = get_session(server.url, created["id"])
        assert session["status"] == "processing"
        response = requests.get(
            f"{server.url}/v2/live/{created['id']}", headers=HEADERS, timeout=10
        )
        assert len(response.content) < 100_000


def _frames_until_close(ws: websocket.WebSocket) -> tuple[list[dict], bytes]:
    """Text messages and the close frame's payload, read without answering pings (the
    server may be gone by then, and a failed pong would hide the close frame)."""
    texts = []
    while (frame := ws.recv_frame()).opcode != websocket.ABNF.OPCODE_CLOSE:
        if frame.opcode == websocket.ABNF.OPCODE_TEXT:
            texts.append(json.loads(frame.data))
    return [t for t in texts if t["type"] == "error"], frame.data


def test_result_messages_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(session_result, "MAX_RESULT_MESSAGES", 30)
    with local_server() as server:
        created = create_session(server.url)
        for _ in range(3):  # each connection may earn 99 errors before its 4400
            client = RawClient(created["url"])
            for _ in range(50):
                client.send_json({"type": "nonsense"})
            client.read(50)
            client.close(4000)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)
        client.stop()
        client.read_until_closed()
        messages = get_session(server.url, created["id"])["result"]["messages"]
        types = [json.loads(m)["type"] for m in messages]
        assert len(types) <= 30 + 2  # the cap, plus the closing messages kept past it
        assert types[-2:] == ["post_transcript", "post_final_transcript"]


def test_partials_are_not_kept_in_the_result(server: LocalServer) -> None:
    created = create_session(server.url, {"messages_config": {"receive_partial_transcripts": True}})
    client = RawClient(created["url"])
    client.send_audio(AUDIO)
    client.stop()
    client.read_until_closed()
    assert any(not m["data"]["is_final"] for m in client.received.of_type("transcript"))
    kept = [json.loads(m) for m in get_session(server.url, created["id"])["result"]["messages"]]
    assert all(m["data"]["is_final"] for m in kept if m["type"] == "transcript")


def _open_fds() -> int:
    gc.collect()  # client sockets of finished tests
    return len(list(Path("/proc/self/fd").iterdir()))


def test_many_sessions_hold_no_file_descriptors(server: LocalServer) -> None:
    def one() -> None:
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(SHORT)
        client.stop()
        client.read_until_closed()
        client.ws.shutdown()
        assert client.received.close_code == 1000
        assert stored_audio(server.url, created["id"]) == SHORT

    one()
    before = _open_fds()
    for _ in range(40):
        one()
    assert _open_fds() <= before + 2  # none per finished session


def test_delete_removes_the_audio_file(server: LocalServer) -> None:
    created = create_session(server.url)
    client = RawClient(created["url"])
    client.send_audio(SHORT)
    client.stop()
    client.read_until_closed()
    files = {p.name for p in Path(server_directory(server)).iterdir()}
    assert requests.delete(f"{server.url}/v2/live/{created['id']}", headers=HEADERS, timeout=5).ok
    assert len({p.name for p in Path(server_directory(server)).iterdir()}) == len(files) - 1


def server_directory(server: LocalServer) -> str:
    from gladia_cli.server.app import API

    assert server._runner is not None
    return server._runner.app[API].directory


def test_a_hundred_concurrent_sessions(server: LocalServer) -> None:
    def one(_: int) -> tuple[int | None, bool]:
        created = create_session(server.url)
        client = RawClient(created["url"])
        client.send_audio(SHORT)
        client.stop()
        client.read_until_closed()
        finals = [m for m in client.received.of_type("transcript") if m["data"]["is_final"]]
        same = stored_audio(server.url, created["id"]) == SHORT
        return client.received.close_code, same and len(finals) == 1

    with canary(server), ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(one, range(100)))
    assert results == [(1000, True)] * 100
