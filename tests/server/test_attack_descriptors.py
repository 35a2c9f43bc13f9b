"""Attack: the server out of file descriptors while handling a request (a session's files,
an upload's): 503 in Gladia's shape and one log line per episode, not a 500 with a
traceback each time. (Connections beyond the descriptors: tests/e2e/test_attack_fd_cli.py.)
The exhaustion is injected: OSError(EMFILE) where the session's folder is made."""

from __future__ import annotations

import errno
import logging
from typing import Any

import pytest
import requests

from gladia_cli.server.live import session_files
from tests.support import HEADERS, local_server


def test_a_request_that_cannot_open_its_files_gets_503_and_one_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    real = session_files.tempfile.mkdtemp

    def exhausted(*args: Any, **kwargs: Any) -> str:
        raise OSError(errno.EMFILE, "Too many open files")

    with local_server() as server:
        monkeypatch.setattr(session_files.tempfile, "mkdtemp", exhausted)
        answers = [
            requests.post(f"{server.url}/v2/live", json={}, headers=HEADERS, timeout=10)
            for _ in range(20)
        ]
        monkeypatch.setattr(session_files.tempfile, "mkdtemp", real)
        recovered = requests.post(f"{server.url}/v2/live", json={}, headers=HEADERS, timeout=10)
    assert {a.status_code for a in answers} == {503}
    body = answers[0].json()
    assert body["statusCode"] == 503 and "out of file descriptors" in body["message"]
    assert recovered.status_code == 201
    said = [r.getMessage() for r in caplog.records if "file descriptors" in r.getMessage()]
    assert len(said) == 2, said  # the episode's start, and its end with the count
    assert "20 requests got 503" in said[1]
    assert not [r for r in caplog.records if r.exc_info], caplog.text
