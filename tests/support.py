"""Helpers shared by the tests: synthetic audio, a raw WebSocket client, REST calls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import requests
import websocket

from gladia_cli.server.config import ServerConfig
from gladia_cli.server.runner import LocalServer

KEY = "test-key"
HEADERS = {"x-gladia-key": KEY}


def tone_bursts(
    bursts: list[tuple[float, float, int]],
    *,
    total: float,
    rate: int = 16000,
    channels: int = 1,
    level: float = 0.2,
) -> npt.NDArray[np.int16]:
    """Silence with tone bursts `(start s, duration s, channel)`: what the scripted engine's
    voice activity detection sees as one utterance each."""
    audio = np.zeros((int(total * rate), channels), dtype=np.float64)
    for index, (start, duration, channel) in enumerate(bursts):
        begin, end = int(start * rate), int((start + duration) * rate)
        t = np.arange(end - begin) / rate
        frequency = 220.0 * (index + 2)  # a different pitch per burst: no two alike
        audio[begin:end, channel] = level * np.sin(2 * np.pi * frequency * t)
    pcm: npt.NDArray[np.int16] = np.round(audio * 32767).astype(np.int16)
    return pcm


def chunks(data: bytes, size: int = 3200) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@dataclass
class ReceivedMessages:
    messages: list[dict[str, Any]] = field(default_factory=list)
    close_code: int | None = None  # None: the connection dropped without a close frame
    close_reason: str = ""

    def of_type(self, *types: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] in types]

    @property
    def types(self) -> list[str]:
        return [m["type"] for m in self.messages]


class RawClient:
    """A bare WebSocket client: the test decides every frame."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=15)
        self.received = ReceivedMessages()

    def send_audio(self, data: bytes, size: int = 3200) -> None:
        """Send in chunks; stops quietly if the server dropped the connection meanwhile
        (the fault tests provoke exactly that, and read what arrived afterwards)."""
        for piece in chunks(data, size):
            try:
                self.ws.send_bytes(piece)
            except (websocket.WebSocketConnectionClosedException, OSError):
                return

    def send_json(self, payload: Any) -> None:
        self.ws.send(json.dumps(payload))

    def stop(self) -> None:
        self.send_json({"type": "stop_recording"})

    def read_until_closed(self) -> ReceivedMessages:
        while True:
            try:
                opcode, data = self.ws.recv_data(control_frame=True)
            except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
                return self.received
            if opcode == websocket.ABNF.OPCODE_TEXT:
                self.received.messages.append(json.loads(data))
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                self.received.close_code = (
                    int.from_bytes(data[:2], "big") if len(data) >= 2 else 1005
                )
                self.received.close_reason = data[2:].decode()
                return self.received

    def read(self, count: int) -> list[dict[str, Any]]:
        """The next `count` text messages."""
        out: list[dict[str, Any]] = []
        while len(out) < count:
            opcode, data = self.ws.recv_data()
            if opcode == websocket.ABNF.OPCODE_TEXT:
                message = json.loads(data)
                self.received.messages.append(message)
                out.append(message)
        return out

    def close(self, code: int = 1000) -> None:
        self.ws.close(status=code)


@contextmanager
def local_server(**config: Any) -> Iterator[LocalServer]:
    settings = {"port": 0, "engine": "scripted", **config}
    with LocalServer(ServerConfig(**settings)) as server:
        yield server


def create_session(base_url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = requests.post(f"{base_url}/v2/live", json=body or {}, headers=HEADERS, timeout=10)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def get_session(base_url: str, session_id: str) -> dict[str, Any]:
    response = requests.get(f"{base_url}/v2/live/{session_id}", headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def stored_audio(base_url: str, session_id: str) -> bytes:
    response = requests.get(f"{base_url}/v2/live/{session_id}/file", headers=HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    assert response.content[:4] == b"RIFF"
    return response.content[44:]


GLADIA = [sys.executable, "-m", "gladia_cli"]


@contextmanager
def serve_process(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """`gladia serve --port 0 …` as a subprocess; yields the URL it printed on stdout."""
    process = subprocess.Popen(
        [*GLADIA, "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://"), process.stderr.read() if process.stderr else ""
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def session_ids(base_url: str) -> set[str]:
    """The ids the server lists now (to tell a new session from earlier ones)."""
    response = requests.get(f"{base_url}/v2/live?limit=100", headers=HEADERS, timeout=10)
    return {item["id"] for item in response.json()["items"]}


def wait_until_streamed(
    base_url: str, known: set[str], seconds: float, *, timeout: float = 30.0
) -> None:
    """Until a session not in `known` holds at least `seconds` of audio on the server.

    Signal tests act on what the server received, not on a guess of how long the CLI takes
    to start (which a loaded machine stretches). `timeout` only bounds a broken run.
    """
    import time

    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(f"{base_url}/v2/live?limit=10", headers=HEADERS, timeout=10)
        for item in response.json()["items"]:
            heard = (item.get("file") or {}).get("audio_duration") or 0.0
            if item["id"] not in known and heard >= seconds:
                return
        assert time.monotonic() < deadline, f"no new session reached {seconds} s of audio"
        time.sleep(0.02)
