"""Attack: hostile multipart part headers on `POST /v2/upload`. An ESC in a file name, a
10 KB file name, a 1 MB part header or thousands of headers made aiohttp's multipart
parser raise inside the handler: 500 "Server got itself in trouble" and a traceback in the
log. Each is the client's mistake: 400 in Gladia's error shape, one log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import numpy as np
import pytest
import requests
import soundfile

from gladia_cli.server.runner import LocalServer
from tests.support import HEADERS, local_server


def _wav() -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(16000, dtype=np.int16), 16000, format="WAV")
    return buffer.getvalue()


WAV = _wav()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def _upload(server: LocalServer, filename: bytes, extra_headers: bytes = b"") -> requests.Response:
    body = (
        b'--b\r\nContent-Disposition: form-data; name="audio"; filename="'
        + filename
        + b'"\r\n'
        + extra_headers
        + b"\r\n"
        + WAV
        + b"\r\n--b--\r\n"
    )
    headers = {**HEADERS, "Content-Type": "multipart/form-data; boundary=b"}
    return requests.post(f"{server.url}/v2/upload", data=body, headers=headers, timeout=20)


HOSTILE = {
    "an ESC in the file name": (b"a\x1b[31m.wav", b""),
    "a 10 KB file name": (b"a" * 10240 + b".wav", b""),
    "a 1 MB part header": (b"a.wav", b"X-Junk: " + b"j" * (1024 * 1024) + b"\r\n"),
    "20 000 part headers": (b"a.wav", b"".join(b"X-%d: y\r\n" % i for i in range(20000))),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_part_headers_get_400_in_gladias_shape_and_no_traceback(
    server: LocalServer, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    filename, extra = HOSTILE[name]
    response = _upload(server, filename, extra)
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["statusCode"] == 400
    assert set(body) >= {"timestamp", "path", "request_id", "statusCode", "message"}
    (problem,) = body["validation_errors"]
    assert problem.startswith("audio part headers")
    assert "\x1b" not in response.text and "jjjj" not in response.text
    assert not [r for r in caplog.records if r.exc_info], caplog.text
    assert "\x1b" not in caplog.text


def test_a_plain_file_name_still_uploads(server: LocalServer) -> None:
    response = _upload(server, "café talk.wav".encode())
    assert response.status_code == 200, response.text
    assert response.json()["audio_metadata"]["filename"] == "café talk.wav"
