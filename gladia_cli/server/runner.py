"""Running the server: in the foreground (`gladia serve`) or on a background thread of the
current process (`--local`, and the tests), where it binds port 0 and reports the URL it got.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from types import TracebackType

from aiohttp import web

from gladia_cli.server import slow_clients
from gladia_cli.server.app import create_app, shut_down
from gladia_cli.server.clock import Clock
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.connection_limit import (
    AcceptFailureLog,
    ConnectionLimit,
    accept_backlog,
    connection_cap,
    descriptor_limit,
    open_descriptors,
    raise_descriptor_limit,
)
from gladia_cli.server.recognition.malloc_tuning import pin_mmap_threshold

# Handlers still running once every session was closed (1001) get this long to end.
SHUTDOWN_TIMEOUT = 5.0


class Listening:
    """A started server: aiohttp's runner and the listening socket in front of it."""

    def __init__(self, runner: web.AppRunner, listener: asyncio.Server, url: str) -> None:
        self.runner = runner
        self.listener = listener
        self.url = url

    async def close(self) -> None:
        self.listener.close()  # no new connection from now on
        await shut_down(self.runner)


async def _start(config: ServerConfig, clock: Clock | None = None) -> Listening:
    runner = web.AppRunner(
        create_app(config, clock),
        handle_signals=False,
        access_log=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        # Also the deadline for a request's line and headers (slowloris): aiohttp closes a
        # connection still waiting for them when its keep-alive timer runs out.
        keepalive_timeout=slow_clients.HEADER_SECONDS,
    )
    await runner.setup()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(AcceptFailureLog(loop.time))
    handler = runner.server
    assert handler is not None
    # Instead of aiohttp's site, so that connections past the cap get a 503 (see there).
    descriptors, in_use = descriptor_limit(), open_descriptors()
    cap = connection_cap(descriptors, in_use)
    limit = ConnectionLimit(handler, lambda: len(handler.connections), cap)
    if cap is not None:
        logging.getLogger("gladia.server").debug("holding up to %d connections at once", cap)
    listener = await loop.create_server(
        limit,
        config.host,
        config.port,
        reuse_address=True,
        backlog=accept_backlog(descriptors, in_use, cap),
    )
    # The address the socket got (port 0 → the one the OS chose); IPv6 names have 4 fields.
    host, port = listener.sockets[0].getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return Listening(runner, listener, f"http://{shown}:{port}")


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is still running (a session mid-finish, a callback) and let it unwind."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


class LocalServer:
    """A server on a background thread, as a context manager: `with LocalServer() as s: s.url`.

    `clock` replaces the event loop's time for the session timers (tests: `ManualClock`).
    """

    def __init__(self, config: ServerConfig | None = None, clock: Clock | None = None) -> None:
        self.config = config or ServerConfig(port=0)
        self.clock = clock
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="gladia-local-server", daemon=True)
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self._listening: Listening | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            listening = self._loop.run_until_complete(_start(self.config, self.clock))
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self._listening, self._runner, self.url = listening, listening.runner, listening.url
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(listening.close())
        _cancel_remaining(self._loop)
        self._loop.close()

    def start(self) -> LocalServer:
        self._thread.start()
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def serve_forever(config: ServerConfig, on_ready: Callable[[str], None]) -> None:
    """Run until SIGINT or SIGTERM, then close every session and connection cleanly."""
    pin_mmap_threshold()  # a server runs for days: its memory must not creep (see there)
    raise_descriptor_limit()  # a connection is a file descriptor (see connection_limit)

    async def main() -> None:
        listening = await _start(config)
        on_ready(listening.url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        logging.getLogger("gladia.server").info("shutting down")
        await listening.close()

    asyncio.run(main())
