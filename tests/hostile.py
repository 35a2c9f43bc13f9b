"""A hostile live API on loopback: speaks Gladia's protocol just well enough to be believed,
and lies where a test asks it to (acknowledges part of the audio, never acknowledges, ends
with 1000 and no end messages, claims a duration in its REST view).

Unlike the project's server (whose faults are its own options), everything here is the
test's choice; it runs aiohttp on a background thread, on 127.0.0.1 port 0.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import WSMsgType, web

BYTES_PER_SECOND = 32000  # 16 kHz, mono, 16-bit: what `gladia file` sends a mono WAV as


@dataclass
class Lies:
    """What the server does; the defaults are an honest (if terse) server."""

    acks_up_to: int | None = None  # audio bytes acknowledged at most (None: all of them)
    stop_ack: bool = True  # acknowledge stop_recording (with the bytes received as duration)
    end_messages: bool = True  # end_recording, post_final_transcript, end_session
    # `GET /v2/live/{id}`: the audio duration it claims (None: the bytes received), or an
    # HTTP status to answer instead (e.g. 404, 500).
    rest_duration: float | None = None
    rest_status: int | None = None


@dataclass
class Seen:
    """What the server received."""

    audio_bytes: int = 0
    stops: int = 0
    inits: list[dict[str, Any]] = field(default_factory=list)
    gets: int = 0


class HostileLiveServer:
    def __init__(self, lies: Lies) -> None:
        self.lies = lies
        self.seen = Seen()
        self.url = ""
        self._sessions: dict[str, str] = {}  # token → id
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)
        self._runner: web.AppRunner | None = None

    def __enter__(self) -> HostileLiveServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile server did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        async def stop() -> None:
            if self._runner is not None:
                await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v2/live", self._init)
        app.router.add_get("/v2/live", self._socket)
        app.router.add_get("/v2/live/{id}", self._get)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    async def _init(self, request: web.Request) -> web.Response:
        self.seen.inits.append(await request.json())
        session_id, token = str(uuid.uuid4()), str(uuid.uuid4())
        self._sessions[token] = session_id
        body = {
            "id": session_id,
            "created_at": "2026-01-01T00:00:00.000Z",
            "url": f"ws://{request.host}/v2/live?token={token}",
        }
        return web.json_response(body, status=201)

    def _message(self, session_id: str, kind: str, **fields: Any) -> str:
        return json.dumps(
            {"type": kind, "session_id": session_id, "created_at": "2026-01-01T00:00:01.000Z"}
            | fields
        )

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        session_id = self._sessions.get(request.query.get("token", ""))
        if session_id is None:
            raise web.HTTPUnauthorized()
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        lies = self.lies
        async for frame in ws:
            if frame.type == WSMsgType.BINARY:
                start = self.seen.audio_bytes
                self.seen.audio_bytes += len(frame.data)
                end = self.seen.audio_bytes
                if lies.acks_up_to is not None:
                    end = min(end, lies.acks_up_to)
                if end > start:
                    ack = self._message(
                        session_id,
                        "audio_chunk",
                        acknowledged=True,
                        error=None,
                        data={
                            "byte_range": [start, end],
                            "time_range": [start / BYTES_PER_SECOND, end / BYTES_PER_SECOND],
                        },
                    )
                    await ws.send_str(ack)
            elif frame.type == WSMsgType.TEXT and json.loads(frame.data).get("type") == (
                "stop_recording"
            ):
                self.seen.stops += 1
                await self._end(ws, session_id)
                await ws.close(code=1000)
                break
        return ws

    async def _end(self, ws: web.WebSocketResponse, session_id: str) -> None:
        duration = self.seen.audio_bytes / BYTES_PER_SECOND
        if self.lies.stop_ack:
            await ws.send_str(
                self._message(
                    session_id,
                    "stop_recording",
                    acknowledged=True,
                    error=None,
                    data={"recording_duration": duration, "recording_left_to_process": 0},
                )
            )
        if self.lies.end_messages:
            metadata = {
                "audio_duration": duration,
                "number_of_distinct_channels": 1,
                "billing_time": duration,
                "transcription_time": 0.1,
            }
            for kind, data in (
                ("end_recording", {"recording_duration": duration}),
                ("post_final_transcript", {"metadata": metadata}),
                ("end_session", None),
            ):
                fields = {"data": data} if data is not None else {}
                await ws.send_str(self._message(session_id, kind, **fields))

    async def _get(self, request: web.Request) -> web.Response:
        self.seen.gets += 1
        if self.lies.rest_status is not None:
            return web.json_response({"message": "no"}, status=self.lies.rest_status)
        duration = self.lies.rest_duration
        if duration is None:
            duration = self.seen.audio_bytes / BYTES_PER_SECOND
        body = {
            "id": request.match_info["id"],
            "status": "done",
            "kind": "live",
            "file": {"audio_duration": duration, "number_of_channels": 1},
            "result": {
                "metadata": {"audio_duration": duration},
                "transcription": {"full_transcript": "", "utterances": [], "languages": []},
            },
        }
        return web.json_response(body)
