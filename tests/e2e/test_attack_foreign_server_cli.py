"""Attack: an --api-url that is not the Gladia API — a web page, a proxy's login page —
answers 200 too. `sessions`/`transcriptions`/`transcribe` died with an unexpected
JSONDecodeError (exit 1); `auth status`/`auth login` and `doctor` called the key
"accepted" (login saved it). And doctor's 5 s timeout was per read: a server trickling its
answer held it for ever. Now: exit 4 naming what answered, and doctor's probe is bounded."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.e2e.conftest import DATA, Home, run_cli

KEY = "gl-secret-key-0123456789"
PAGE = b"<html>welcome</html>"


def _serve(trickle: bool) -> Iterator[str]:
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def answer(conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                if not trickle:
                    conn.sendall(head + b"Content-Length: %d\r\n\r\n" % len(PAGE) + PAGE)
                    return
                conn.sendall(head + b"Content-Length: 1000\r\n\r\n")
                while not stop.wait(1.0):  # a byte a second: each read well within 5 s
                    conn.sendall(b"x")
            except OSError:
                pass

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        listener.close()


@pytest.fixture(scope="module")
def web_page() -> Iterator[str]:
    yield from _serve(trickle=False)


@pytest.fixture
def trickling() -> Iterator[str]:
    yield from _serve(trickle=True)


@pytest.mark.parametrize(
    "command",
    [
        ["sessions", "list"],
        ["sessions", "get", "abc"],
        ["transcriptions", "list"],
        ["transcriptions", "get", "abc"],
        ["transcribe", str(DATA / "budget.wav")],
        ["auth", "status"],
    ],
)
def test_a_web_page_at_the_api_url_is_a_server_error(web_page: str, command: list[str]) -> None:
    run = run_cli(*command, "--api-url", web_page, env={"GLADIA_API_KEY": KEY})
    assert run.code == 4, run.stderr
    assert "not the Gladia API's JSON (text/html)" in run.stderr
    assert "gladia: hint: check --api-url" in run.stderr
    assert "Traceback" not in run.stderr and "accepted" not in run.stdout


def test_login_does_not_save_a_key_a_web_page_accepted(home: Home, web_page: str) -> None:
    login = home.run("auth", "login", "--api-url", web_page, stdin=f"{KEY}\n".encode())
    assert login.code == 4, login.stderr
    assert "nothing was saved" in login.stderr
    assert KEY not in home.saved_in_keyring() and not home.config.exists()


def test_doctor_fails_the_api_check_for_a_web_page(web_page: str) -> None:
    run = run_cli("doctor", "--skip-engine", "--api-url", web_page, env={"GLADIA_API_KEY": KEY})
    assert run.code == 4, run.stdout + run.stderr
    assert "it answered 200, not as the Gladia API (text/html)" in run.stdout
    assert "accepted" not in run.stdout


def test_doctor_is_bounded_by_a_server_that_trickles_its_answer(trickling: str) -> None:
    started = time.monotonic()
    # A process: doctor leaves its probe (a daemon thread, still reading the trickle) to
    # the process's exit.
    run = run_cli(
        "doctor",
        "--skip-engine",
        "--api-url",
        trickling,
        env={"GLADIA_API_KEY": KEY},
        timeout=40,
        process=True,
    )
    assert run.code == 4, run.stdout + run.stderr
    assert "no whole answer within 5 s" in run.stdout
    assert time.monotonic() - started < 30
