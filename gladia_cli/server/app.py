"""The local server put together: the shared resources, the live and the pre-recorded
routes on one router, and what every request goes through.

Errors use Gladia's body, aiohttp's own ones (413, 404, 405) included; bodies are parsed
defensively (server/http.py: what both rooms' routes share). Every endpoint needs
`x-gladia-key`; when the server was given a key, only that key is accepted, and without
one a session is visible only to the key that created it (others get 404). Only loopback
`Host` and `Origin` headers are answered unless more are allowed (host_check).

The rooms (live/, prerecorded/) are each handed one `ServerResources`, opened in the app's
cleanup context as it starts; neither imports the other, nor this module.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from gladia_cli.server.clock import Clock, LoopClock
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.connection_limit import OUT_OF_DESCRIPTORS
from gladia_cli.server.host_check import HostPolicy
from gladia_cli.server.http import MAX_BODY_BYTES, gladia_error
from gladia_cli.server.live import routes as live_routes
from gladia_cli.server.live.routes import LiveRoutes, is_socket_upgrade
from gladia_cli.server.prerecorded import routes as prerecorded_routes
from gladia_cli.server.prerecorded.routes import PreRecordedApi
from gladia_cli.server.resources import ServerResources

log = logging.getLogger("gladia.server")

RESOURCES: web.AppKey[ServerResources] = web.AppKey("resources", ServerResources)
API: web.AppKey[LiveRoutes] = web.AppKey("api", LiveRoutes)
PRERECORDED: web.AppKey[PreRecordedApi] = web.AppKey("prerecorded", PreRecordedApi)

R = TypeVar("R", LiveRoutes, PreRecordedApi)
RouteHandler = Callable[[R, web.Request], Awaitable[web.StreamResponse]]


def _on(key: web.AppKey[R], method: RouteHandler[R]) -> Handler:
    """A router handler for a route class's method: the class is made as the server starts
    (`_server`), after the router is frozen."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await method(request.app[key], request)

    return handle


_INIT = _on(API, LiveRoutes.init)  # the handler of POST /v2/live (see require_key)


def _authorized(request: web.Request, api_key: str | None) -> bool:
    key = request.headers.get("x-gladia-key", "")
    if not key:
        return False
    return api_key is None or secrets.compare_digest(key, api_key)


def _middlewares(config: ServerConfig) -> list[Middleware]:
    hosts = list(config.allowed_hosts)
    if not config.loopback and config.host not in ("0.0.0.0", "::", ""):
        hosts.append(config.host)  # the address the server was bound to
    policy = HostPolicy(tuple(hosts))
    out_of_descriptors = OutOfDescriptors()

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not policy.accepts_host(request.headers.get(hdrs.HOST)):
            return gladia_error(request, 403, "host not allowed (see gladia serve --allow-host)")
        if not policy.accepts_origin(request.headers.get(hdrs.ORIGIN)):
            return gladia_error(request, 403, "origin not allowed (see gladia serve --allow-host)")
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            # aiohttp's own errors (413 body too large, 404, 405) in Gladia's shape.
            return gladia_error(request, exc.status, exc.reason)
        except OSError as exc:
            if exc.errno not in OUT_OF_DESCRIPTORS:
                raise
            # A file the request needed could not be opened: the client may retry.
            out_of_descriptors.failed(request.path)
            return gladia_error(request, 503, "the server is out of file descriptors: retry later")
        out_of_descriptors.succeeded()
        return response

    @web.middleware
    async def require_key(request: web.Request, handler: Handler) -> web.StreamResponse:
        """Every route wants `x-gladia-key` but the WebSocket; paths and methods that match
        no route keep their 404 and 405."""
        needs_key = (
            request.match_info.http_exception is None
            and not is_socket_upgrade(request)
            # An injected init failure answers before the key is read, as a failing proxy.
            and not (request.app[API].init_failures and request.match_info.handler is _INIT)
        )
        if needs_key and not _authorized(request, config.api_key):
            return gladia_error(request, 401, "gladia key not found")
        return await handler(request)

    return [guard, require_key]


class OutOfDescriptors:
    """Requests that failed for want of a file descriptor: one log line per episode."""

    def __init__(self) -> None:
        self.failures = 0

    def failed(self, path: str) -> None:
        if not self.failures:
            log.error(
                "out of file descriptors (at %s): requests get 503 until some close; "
                "raise the limit (ulimit -n)",
                path,
            )
        self.failures += 1

    def succeeded(self) -> None:
        if self.failures:
            log.warning("file descriptors available again (%d requests got 503)", self.failures)
            self.failures = 0


def _server(config: ServerConfig, clock: Clock) -> Callable[[web.Application], AsyncIterator[None]]:
    """The app's cleanup context: the resources, then both rooms' routes over them; the
    resources closed when the app is cleaned up (or earlier: `shut_down`)."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        resources = ServerResources.open(config, clock)
        app[RESOURCES] = resources
        try:
            app[API] = LiveRoutes(resources)
            app[PRERECORDED] = PreRecordedApi(resources)
            await app[PRERECORDED].start()
            await app[API].start()
            yield
        finally:
            resources.close()

    return context


async def _shutdown_prerecorded(app: web.Application) -> None:
    await app[PRERECORDED].shutdown()


async def _shutdown_live(app: web.Application) -> None:
    await app[API].shutdown()


def create_app(config: ServerConfig, clock: Clock | None = None) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=_middlewares(config))
    app.cleanup_ctx.append(_server(config, clock or LoopClock()))
    for method, path, handler in live_routes.ROUTES:
        route = _INIT if handler is LiveRoutes.init else _on(API, handler)
        app.router.add_route(method, path, route)
    for method, path, job_handler in prerecorded_routes.ROUTES:
        app.router.add_route(method, path, _on(PRERECORDED, job_handler))
    # Jobs stop starting before the live sessions close (the order of aiohttp's shutdown).
    app.on_shutdown.append(_shutdown_prerecorded)
    app.on_shutdown.append(_shutdown_live)
    return app


async def shut_down(runner: web.AppRunner) -> None:
    """Stop a server: sessions and their connections first (1001), the engine and the
    folder, then aiohttp (whose shutdown stops reading every connection first, and waits
    for the handlers: the engine closed lets a handler waiting on it end)."""
    app = runner.app
    if API in app:  # started
        await app[API].shutdown()
        app[RESOURCES].close()
    await runner.cleanup()
