"""The `--web` caption server in-process over loopback, read with a plain HTTP client:
the page and its policy, the event stream, resuming with Last-Event-ID, who may look."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import socket
import threading
from collections.abc import Iterator

import pytest

from gladia_cli.errors import UsageError
from gladia_cli.protocol.messages import parse_server_message
from gladia_cli.render.caption_events import CaptionEvents
from gladia_cli.render.caption_server import CaptionServer
from tests.caption_session import meeting, transcript
from tests.sse_client import SseStream


@pytest.fixture
def captions() -> Iterator[CaptionServer]:
    server = CaptionServer(CaptionEvents("run7"))
    server.update(lambda events: events.session("s-1", ["Ann", "Bob"], 2, True))
    try:
        yield server
    finally:
        server.close(grace=0)


def _feed(server: CaptionServer, *messages: dict[str, object]) -> None:
    for message in messages:
        parsed = parse_server_message(json.dumps(message))
        server.update(lambda events, m=parsed: events.message(m))  # type: ignore[misc]


def _get(
    server: CaptionServer, path: str, host: str | None = None
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path, headers={"Host": host} if host else {})
    response = connection.getresponse()
    body = response.read().decode()
    connection.close()
    return response.status, dict(response.getheaders()), body


def test_the_page_is_self_contained_and_its_policy_allows_nothing_else(
    captions: CaptionServer,
) -> None:
    status, headers, page = _get(captions, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy and "http" not in policy
    # Exactly the page's own inline script and style may run: by their hash.
    for kind, content in re.findall(r"<(style|script)>(.*?)</\1>", page, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(content.encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}'" in policy
    # Nothing is fetched from elsewhere: no external script, style, font or image.
    assert not re.search(r"(src|href)=\"(?!data:)", page)
    assert "@import" not in page and "url(" not in page and "innerHTML" not in page
    assert _get(captions, "/nothing")[0] == 404


def test_events_start_with_the_session_then_the_messages_verbatim(
    captions: CaptionServer,
) -> None:
    _feed(captions, *meeting())
    stream = SseStream(f"http://127.0.0.1:{captions.port}/events")
    assert stream.status == 200
    assert stream.response.getheader("Content-Type") == "text/event-stream; charset=utf-8"
    session, *messages = stream.take(1 + 7)  # the meeting's 9 messages, 2 partials superseded
    assert stream.retry == 2000
    assert session.name == "session" and session.json["labels"] == ["Ann", "Bob"]
    assert all(e.id.startswith("run7-") for e in (session, *messages))
    kept = [m for m in meeting() if m["data"].get("is_final", True) or m["data"]["id"] == "01_2"]
    assert [e.json for e in messages] == kept
    # Then each new message as it comes.
    _feed(captions, transcript("01_2", " I think we should", final=True, start=4.0, channel=1))
    (live,) = stream.take(1)
    assert live.json["data"]["utterance"]["text"] == " I think we should"
    stream.close()


def test_a_page_that_comes_back_with_last_event_id_gets_only_what_it_missed(
    captions: CaptionServer,
) -> None:
    _feed(captions, transcript("00_1", " one", final=True), transcript("00_2", " two", final=True))
    first = SseStream(f"http://127.0.0.1:{captions.port}/events")
    seen = first.take(3)[-1]
    first.close()  # the page reloads, or the network drops
    _feed(captions, transcript("00_3", " three", final=True))
    again = SseStream(f"http://127.0.0.1:{captions.port}/events", last_event_id=seen.id)
    (missed,) = again.take(1)
    assert missed.json["data"]["utterance"]["text"] == " three"
    again.close()
    # An id from another run (the CLI restarted): the whole history, session first.
    other = SseStream(f"http://127.0.0.1:{captions.port}/events", last_event_id="old1-3")
    assert [e.name for e in other.take(4)] == ["session", "message", "message", "message"]
    other.close()


def test_closing_delivers_the_end_then_ends_the_stream(captions: CaptionServer) -> None:
    stream = SseStream(f"http://127.0.0.1:{captions.port}/events")
    stream.take(1)
    _feed(captions, transcript("00_1", " last words", final=True))
    captions.update(lambda events: events.end("done"))
    closer = threading.Thread(target=captions.close, kwargs={"grace": 10})
    closer.start()
    rest = stream.rest()  # returns once the server ends the stream
    closer.join(10)
    assert not closer.is_alive()
    assert [e.name for e in rest] == ["message", "end"]
    assert rest[-1].json == {"session_id": "s-1", "state": "done"}


def test_an_idle_stream_gets_keep_alive_comments() -> None:
    server = CaptionServer(CaptionEvents("r"), heartbeat=0.05)
    try:
        stream = SseStream(f"http://127.0.0.1:{server.port}/events")
        lines = [stream.response.readline() for _ in range(6)]
        assert lines[:2] == [b"retry: 2000\n", b"\n"]
        assert lines[2:] == [b": keep-alive\n", b"\n"] * 2
        stream.close()
    finally:
        server.close(grace=0)


@pytest.mark.parametrize(
    "host", ["evil.example:80", "attacker.example", "192.168.1.20:8000", "localhost.evil.example"]
)
def test_on_loopback_only_loopback_names_are_answered(captions: CaptionServer, host: str) -> None:
    # A web page cannot reach the captions by pointing its own name at 127.0.0.1.
    status, _, body = _get(captions, "/", host=host)
    assert status == 403 and "loopback" in body
    assert _get(captions, "/events", host=host)[0] == 403
    for name in ("127.0.0.1", "localhost", "LOCALHOST"):
        assert _get(captions, "/", host=f"{name}:{captions.port}")[0] == 200


def test_beyond_loopback_every_request_needs_the_token() -> None:
    server = CaptionServer(CaptionEvents("r"), host="0.0.0.0", token="s3cret-token-123456")
    try:
        assert server.url.endswith(f":{server.port}/?token=s3cret-token-123456")
        assert server.url.startswith(f"http://{socket.gethostname()}:")
        for path in ("/", "/events", "/?token=wrong", "/events?token=s3cret-token-12345"):
            status, _, body = _get(server, path, host="meeting-room:1")
            assert status == 403 and "token" in body, path
        assert _get(server, "/?token=s3cret-token-123456", host="meeting-room:1")[0] == 200
        stream = SseStream(f"http://127.0.0.1:{server.port}/events?token=s3cret-token-123456")
        assert stream.status == 200
        stream.close()
    finally:
        server.close(grace=0)


def test_viewers_are_counted_and_bounded() -> None:
    counted: list[int] = []
    server = CaptionServer(CaptionEvents("r"), max_viewers=2, on_viewer=counted.append)
    try:
        url = f"http://127.0.0.1:{server.port}/events"
        first, second = SseStream(url), SseStream(url)
        assert (first.status, second.status) == (200, 200)
        third = SseStream(url)
        assert third.status == 503
        assert counted == [1, 2]
        for stream in (first, second, third):
            stream.close()
    finally:
        server.close(grace=0)


def test_a_port_in_use_is_refused_with_a_hint() -> None:
    taken = CaptionServer(CaptionEvents("r"))
    try:
        with pytest.raises(UsageError) as caught:
            CaptionServer(CaptionEvents("r"), port=taken.port)
        assert f"127.0.0.1:{taken.port}" in caught.value.message
        assert "--web-port" in (caught.value.hint or "")
    finally:
        taken.close(grace=0)
