"""Live callbacks: with `callback: true`, each message is also POSTed to `callback_config.url`
as `{"id", "event": "live.<type>", "payload": <message>}`, in order, gated by the
callback's own flags (quieter defaults than the socket's; protocol.md §2.5)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp

from gladia_cli.protocol.messages import message_gating_flag
from gladia_cli.server.callback_policy import GuardedResolver

if TYPE_CHECKING:
    from gladia_cli.server.live.live_session import LiveSession

log = logging.getLogger("gladia.server")


class CallbackPoster:
    def __init__(self, timeout: float = 10.0, *, allow_link_local: bool = False) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._allow_link_local = allow_link_local
        self._client: aiohttp.ClientSession | None = None
        self._queues: dict[str, asyncio.Queue[dict[str, Any] | None]] = {}
        self._workers: set[asyncio.Task[None]] = set()

    def __call__(self, session: LiveSession, message: dict[str, Any]) -> None:
        config = session.config
        callback = config.get("callback_config") or {}
        if not config.get("callback") or not callback.get("url"):
            return
        flag = message_gating_flag(message)
        if flag is not None and not callback.get(flag, False):
            return
        queue = self._queues.get(session.id)
        if queue is None:
            queue = self._queues[session.id] = asyncio.Queue()
            worker = asyncio.get_running_loop().create_task(self._post_all(callback["url"], queue))
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        body = {"id": session.id, "event": f"live.{message['type']}", "payload": message}
        queue.put_nowait(body)
        if message["type"] == "end_session":
            queue.put_nowait(None)
            del self._queues[session.id]

    async def _post_all(self, url: str, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        if self._client is None:
            # Names are checked as they resolve (see callback_policy); literals at init.
            connector = (
                aiohttp.TCPConnector()
                if self._allow_link_local
                else aiohttp.TCPConnector(resolver=GuardedResolver())
            )
            self._client = aiohttp.ClientSession(timeout=self._timeout, connector=connector)
        while (body := await queue.get()) is not None:
            try:
                async with self._client.post(url, json=body) as response:
                    if response.status >= 400:
                        log.warning("callback %s answered %d", url, response.status)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("callback %s failed: %s", url, exc)

    async def close(self) -> None:
        for worker in list(self._workers):
            worker.cancel()
        if self._client is not None:
            await self._client.close()
