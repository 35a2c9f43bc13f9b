"""Issue 18, item 2: the key never leaves the origin it was meant for. `x-gladia-key` went to
127.0.0.2 after a 302 (`sessions list`, `auth status`) and a 307 (`POST /v2/live`, `POST
/v2/upload` with the audio): requests' `rebuild_auth` strips only `Authorization`. Now the
key is dropped on any redirect to another scheme, host or port, a body is never re-sent
there, and the WebSocket URL the API returns must be on the API's origin."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DATA, Run, run_cli
from tests.redirecting import FAR_HOST, Redirector

KEY = "gl-redirect-secret-4242"
WAV = str(DATA / "budget.wav")

COMMANDS = {
    "sessions list": ["sessions", "list"],
    "auth status": ["auth", "status"],
    "file (POST /v2/live)": ["file", WAV, "--pace", "max"],
    "transcribe (POST /v2/upload)": ["transcribe", WAV],
    "transcribe a URL (POST /v2/pre-recorded)": ["transcribe", "https://example.com/a.wav"],
    "doctor": ["doctor", "--skip-engine"],
}


def _run(redirector: Redirector, args: list[str]) -> Run:
    return run_cli(*args, "--api-url", redirector.url, env={"GLADIA_API_KEY": KEY}, timeout=60)


def _no_key_anywhere(run: Run) -> None:
    assert KEY not in run.stdout and KEY not in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_the_key_does_not_follow_a_redirect_to_another_host(name: str, status: int) -> None:
    with Redirector(status) as redirector:
        run = _run(redirector, COMMANDS[name])
    assert "x-gladia-key" not in redirector.far.header_names(), name
    _no_key_anywhere(run)
    assert run.code == 4, run.stdout + run.stderr
    if status == 307 and COMMANDS[name][0] in ("file", "transcribe"):
        # A body (the audio, the session's options) is not re-sent to another origin either.
        assert redirector.far.requests == []
        assert f"http://{FAR_HOST}:{redirector.far_server.port}, another origin" in run.stderr
        assert "not followed" in run.stderr


def test_a_redirect_within_the_origin_keeps_the_key() -> None:
    with Redirector(302) as redirector:
        redirector.same_origin = True
        run = _run(redirector, ["sessions", "list"])
    assert run.code == 0, run.stderr
    assert [r.headers.get("x-gladia-key") for r in redirector.near.requests] == [KEY]
    assert redirector.far.requests == []


def test_a_far_host_answering_200_does_not_vouch_for_the_key() -> None:
    with Redirector(302, far_answers_with_key=True) as redirector:
        run = _run(redirector, ["auth", "status"])
    assert run.code == 4, run.stdout + run.stderr
    assert "another origin, where the key is not sent: it could not be checked" in run.stderr
    assert "accepted" not in run.stdout + run.stderr
    assert "x-gladia-key" not in redirector.far.header_names()


def test_doctor_names_the_redirect_and_does_not_follow_it() -> None:
    with Redirector(302) as redirector:
        run = _run(redirector, ["doctor", "--skip-engine"])
    assert run.code == 4, run.stdout
    assert f"redirects to http://{FAR_HOST}:{redirector.far_server.port}, another origin" in (
        run.stdout
    )
    assert redirector.far.requests == []


class _SocketElsewhere:
    """An API whose `POST /v2/live` answers a WebSocket URL on 127.0.0.2 (`far`), or on its
    own origin where the handshake is redirected to 127.0.0.2 (`redirect`)."""

    def __init__(self, mode: str) -> None:
        self.far_hits = 0
        outer = self

        class Far(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.far_hits += 1
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Api(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if mode == "far":
                    url = f"ws://{FAR_HOST}:{outer.far.server_address[1]}/v2/live?token=tok-9"
                else:
                    url = f"ws://{self.headers['Host']}/v2/live?token=tok-9"
                created = {"id": "s1", "created_at": "2026-01-01T00:00:00Z", "url": url}
                body = json.dumps(created).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # the WebSocket handshake
                self.send_response(307)
                far = f"ws://{FAR_HOST}:{outer.far.server_address[1]}{self.path}"
                self.send_header("Location", far)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.far = ThreadingHTTPServer((FAR_HOST, 0), Far)
        self.api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
        self.url = f"http://127.0.0.1:{self.api.server_address[1]}"

    def __enter__(self) -> _SocketElsewhere:
        for server in (self.far, self.api):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for server in (self.api, self.far):
            server.shutdown()
            server.server_close()


@pytest.fixture
def wav() -> Iterator[Path]:
    yield Path(WAV)


def test_a_websocket_url_on_another_origin_is_refused(wav: Path) -> None:
    with _SocketElsewhere("far") as api:
        run = run_cli("file", str(wav), "--pace", "max", "--api-url", api.url)
    assert run.code == 4, run.stderr
    assert f"WebSocket URL on another origin (ws://{FAR_HOST}:" in run.stderr
    assert "not connecting" in run.stderr and "tok-9" not in run.stderr
    assert api.far_hits == 0


def test_a_redirect_at_the_websocket_handshake_is_not_followed(wav: Path) -> None:
    with _SocketElsewhere("redirect") as api:
        run = run_cli("file", str(wav), "--pace", "max", "--api-url", api.url)
    assert run.code == 4, run.stderr
    assert "answered with a redirect, not followed" in run.stderr
    assert api.far_hits == 0
