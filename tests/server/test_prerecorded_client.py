"""The pre-recorded client's retries over real HTTP: a transient 503 on upload is retried
with the whole file again (a consumed file object must not be re-sent empty), and a 413 is
an audio input error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from gladia_cli.client.prerecorded import PreRecordedApi
from gladia_cli.errors import AudioInputError
from gladia_cli.protocol.retry import Backoff
from gladia_cli.settings import Settings


class Flaky(BaseHTTPRequestHandler):
    """Answers the first uploads with the statuses in `failures`, then 200 with what came."""

    failures: ClassVar[list[int]] = []
    bodies: ClassVar[list[int]] = []

    def do_POST(self) -> None:
        left, count = int(self.headers["Content-Length"]), 0
        while left:  # in pieces: the test measures the client's memory, not this server's
            piece = self.rfile.read(min(left, 1 << 16))
            left -= len(piece)
            count += piece.count(b"A")
        type(self).bodies.append(count)
        status = type(self).failures.pop(0) if type(self).failures else 200
        answer = json.dumps(
            {"audio_url": "http://x/file/1"} if status == 200 else {"message": "busy"}
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Flaky.bodies = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def api(url: str, slept: list[float]) -> PreRecordedApi:
    settings = Settings(api_url=url, api_key="k")
    return PreRecordedApi(settings, backoff=Backoff(base=0.01, attempts=3), sleep=slept.append)


def test_a_transient_failure_is_retried_with_the_whole_file(flaky: str, tmp_path: Path) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"A" * 100_000)
    Flaky.failures = [503, 429]
    slept: list[float] = []
    assert api(flaky, slept).upload(audio)["audio_url"] == "http://x/file/1"
    assert Flaky.bodies == [100_000, 100_000, 100_000]
    assert len(slept) == 2


def test_a_refused_upload_is_an_audio_input_error(flaky: str, tmp_path: Path) -> None:
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"A" * 10)
    Flaky.failures = [413]
    with pytest.raises(AudioInputError, match=r"a.wav: the API refused the request \(413\)"):
        api(flaky, []).upload(audio)


def test_an_upload_streams_the_file_from_disk(flaky: str, tmp_path: Path) -> None:
    import tracemalloc

    audio = tmp_path / "big.wav"
    with audio.open("wb") as out:
        for _ in range(40):
            out.write(b"A" * (1 << 20))  # 40 MiB
    Flaky.failures = []
    tracemalloc.start()
    try:
        api(flaky, []).upload(audio)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert Flaky.bodies == [40 << 20]
    assert peak < 4 << 20, f"{peak / (1 << 20):.1f} MiB held for a 40 MiB upload"
