"""`gladia serve`: the local Gladia-compatible server, in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

FAULTS = "Fault injection (for testing clients)"


def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; other than loopback needs --api-key.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind; 0 picks a free one.")] = 8000,
    engine: Annotated[
        str,
        typer.Option("--engine", help="sphinx (offline recognition) or scripted (deterministic)."),
    ] = "sphinx",
    script: Annotated[
        str | None,
        typer.Option(
            "--script",
            help="Text for the scripted engine: one utterance per line, [N] for channel N.",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="GLADIA_SERVER_API_KEY",
            help="Only accept this key (any non-empty key otherwise).",
            show_default=False,
            show_envvar=True,
        ),
    ] = None,
    idle_timeout: Annotated[
        float, typer.Option("--idle-timeout", help="Seconds without audio before a session ends.")
    ] = 30.0,
    max_duration: Annotated[
        float, typer.Option("--max-duration", help="Seconds a session may record.")
    ] = 3 * 3600.0,
    max_sessions: Annotated[
        int | None,
        typer.Option(
            "--max-sessions", help="Concurrent sessions allowed (429 beyond).", show_default=False
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Reject unknown init body fields.")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", help="Threads running the recognisers.")] = 2,
    linger: Annotated[
        float,
        typer.Option(
            "--linger", help="Seconds a finished session's URL still answers a reconnect."
        ),
    ] = 60.0,
    session_ttl: Annotated[
        float,
        typer.Option("--session-ttl", help="Seconds a finished session is kept, then forgotten."),
    ] = 24 * 3600.0,
    max_stored_sessions: Annotated[
        int,
        typer.Option(
            "--max-stored-sessions", help="Finished sessions kept; the oldest go beyond.", min=1
        ),
    ] = 1000,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Accept this name in Host/Origin headers besides loopback (repeatable; * any).",
            show_default=False,
        ),
    ] = None,
    allow_link_local_callbacks: Annotated[
        bool,
        typer.Option(
            "--allow-link-local-callbacks",
            help="Allow callback URLs on link-local and cloud metadata addresses.",
        ),
    ] = False,
    fail_init: Annotated[
        list[int] | None,
        typer.Option(
            "--fail-init",
            help="Answer the next POST /v2/live with this status (repeatable, in order).",
            rich_help_panel=FAULTS,
            show_default=False,
        ),
    ] = None,
    drop_after_bytes: Annotated[
        int | None,
        typer.Option(
            "--drop-after-bytes",
            help="Drop a connection (no close frame) past this many audio bytes.",
            rich_help_panel=FAULTS,
            show_default=False,
        ),
    ] = None,
    drop_after_seconds: Annotated[
        float | None,
        typer.Option(
            "--drop-after-seconds",
            help="Drop a connection this many seconds after it opened.",
            rich_help_panel=FAULTS,
            show_default=False,
        ),
    ] = None,
    close_code: Annotated[
        int | None,
        typer.Option(
            "--close-code",
            help="Close a connection with this code…",
            rich_help_panel=FAULTS,
            show_default=False,
        ),
    ] = None,
    close_after_bytes: Annotated[
        int,
        typer.Option(
            "--close-after-bytes",
            help="…once it received this many audio bytes (0: at once).",
            rich_help_panel=FAULTS,
        ),
    ] = 0,
    fault_connections: Annotated[
        int,
        typer.Option(
            "--fault-connections",
            help="How many connections per session suffer the faults above.",
            rich_help_panel=FAULTS,
        ),
    ] = 1,
    ack_delay: Annotated[
        float,
        typer.Option(
            "--ack-delay", help="Seconds to hold back each acknowledgment.", rich_help_panel=FAULTS
        ),
    ] = 0.0,
    withhold_acks: Annotated[
        bool,
        typer.Option("--withhold-acks", help="Never acknowledge audio.", rich_help_panel=FAULTS),
    ] = False,
    slow_finish: Annotated[
        float,
        typer.Option(
            "--slow-finish", help="Seconds post-processing takes.", rich_help_panel=FAULTS
        ),
    ] = 0.0,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "info",
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Run a local Gladia-compatible server (offline recognition, fault injection)."""
    import logging
    import sys

    from gladia_cli.errors import UsageError
    from gladia_cli.server.config import Faults, ServerConfig
    from gladia_cli.server.engines import ENGINE_NAMES
    from gladia_cli.server.runner import serve_forever

    if engine not in ENGINE_NAMES:
        raise UsageError(
            f"unknown engine {engine!r}", hint=f"choose from: {', '.join(ENGINE_NAMES)}"
        )
    config = ServerConfig(
        host=host,
        port=port,
        engine=engine,
        script_path=script,
        api_key=api_key,
        idle_timeout=idle_timeout,
        max_duration=max_duration,
        max_sessions=max_sessions,
        strict_init=strict,
        workers=workers,
        linger=linger,
        session_ttl=session_ttl,
        max_stored_sessions=max_stored_sessions,
        allowed_hosts=tuple(allow_host or ()),
        allow_link_local_callbacks=allow_link_local_callbacks,
        faults=Faults(
            init_failures=tuple(fail_init or ()),
            drop_after_bytes=drop_after_bytes,
            drop_after_seconds=drop_after_seconds,
            close_code=close_code,
            close_after_bytes=close_after_bytes,
            fault_connections=fault_connections,
            ack_delay=ack_delay,
            withhold_acks=withhold_acks,
            slow_finish=slow_finish,
        ),
    )
    problem = config.describe_problem()
    if problem:
        raise UsageError(
            problem, hint="pass --api-key (or GLADIA_SERVER_API_KEY), or bind 127.0.0.1"
        )
    logging.basicConfig(
        level=log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )

    def ready(url: str) -> None:
        # On stdout, one line, so scripts can read the address when --port 0 was asked.
        print(url, flush=True)
        logging.getLogger("gladia.server").info("listening on %s (engine %s)", url, engine)

    try:
        serve_forever(config, ready)
    except OSError as exc:
        from gladia_cli.errors import NetworkError

        raise NetworkError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another --port (0 picks a free one)",
        ) from None
