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

from gladia_cli.server.app import create_app, shut_down
from gladia_cli.server.clock import Clock
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.malloc_tuning import pin_mmap_threshold

# Handlers still running once every session was closed (1001) get this long to end.
SHUTDOWN_TIMEOUT = 5.0


async def _start(config: ServerConfig, clock: Clock | None = None) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(
        create_app(config, clock),
        handle_signals=False,
        access_log=None,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
    )
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
    await site.start()
    # The address the socket got (port 0 → the one the OS chose); IPv6 names have 4 fields.
    host, port = runner.addresses[0][:2]
    shown = f"[{host}]" if ":" in host else host
    return runner, f"http://{shown}:{port}"


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

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._runner, self.url = self._loop.run_until_complete(_start(self.config, self.clock))
        except BaseException as exc:
            self._failure = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(shut_down(self._runner))
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

    async def main() -> None:
        runner, url = await _start(config)
        on_ready(url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        logging.getLogger("gladia.server").info("shutting down")
        await shut_down(runner)

    asyncio.run(main())
