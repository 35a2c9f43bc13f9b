"""`gladia serve`: the local Gladia-compatible server, in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gladia_cli.cli.choices import LocalEngine, LocalModel, LogLevel
from gladia_cli.cli.options import Debug, with_options
from gladia_cli.environment import Environment

SERVER = "Server"
FAULT_INJECTION = "Fault injection (for testing clients)"

EXAMPLES = """\
Examples:

  gladia serve                             http://127.0.0.1:8000, offline
  gladia serve --port 0 --engine scripted  a free port (printed), fixed text
  gladia serve --drop-after-seconds 2      test a client's reconnection
  GLADIA_API_URL=http://127.0.0.1:8000 gladia file talk.wav    (elsewhere)
"""


def parse_verdict(value: str) -> tuple[str, float]:
    """`machine:0.8` → ("machine", 0.8); ValueError with what is wrong."""
    from gladia_cli.server.config import ANSWERING_MACHINE_KINDS

    kind, _, score = value.partition(":")
    if kind not in ANSWERING_MACHINE_KINDS:
        raise ValueError(f"the kind is human or machine (got {kind!r})")
    try:
        confidence = float(score) if score else 0.9
    except ValueError:
        raise ValueError(f"the score is a number from 0 to 1 (got {score!r})") from None
    if not 0 <= confidence <= 1:
        raise ValueError(f"the score is a number from 0 to 1 (got {score})")
    return kind, confidence


def _answering_machine(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_verdict(value)
        except ValueError as exc:
            raise typer.BadParameter(f"{exc}; for example machine:0.8") from None
    return value


@with_options
def serve_command(
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to bind; other than loopback needs --api-key.",
            rich_help_panel=SERVER,
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            help="Port to bind; 0 picks a free one.",
            min=0,
            max=65535,
            rich_help_panel=SERVER,
        ),
    ] = 8000,
    engine: Annotated[
        LocalEngine,
        typer.Option(
            "--engine",
            help="whisper (offline recognition), sphinx (a small install, for plumbing checks) "
            "or scripted (deterministic text, for protocol tests).",
            rich_help_panel=SERVER,
        ),
    ] = LocalEngine.WHISPER,
    model: Annotated[
        LocalModel,
        typer.Option(
            "--model",
            help="Whisper model: base (multilingual) or tiny.en (English, faster).",
            rich_help_panel=SERVER,
        ),
    ] = LocalModel.BASE,
    script: Annotated[
        Path | None,
        typer.Option(
            "--script",
            help="Text for the scripted engine: one utterance per line, [N] for channel N.",
            show_default=False,
            rich_help_panel=SERVER,
            metavar="FILE",
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
            rich_help_panel=SERVER,
            metavar="KEY",
        ),
    ] = None,
    idle_timeout: Annotated[
        float,
        typer.Option(
            "--idle-timeout",
            metavar="SECONDS",
            help="Seconds without audio before a session ends.",
            min=0.1,
            rich_help_panel=SERVER,
        ),
    ] = 30.0,
    max_duration: Annotated[
        float,
        typer.Option(
            "--max-duration",
            metavar="SECONDS",
            help="Seconds a session may record.",
            min=1,
            rich_help_panel=SERVER,
        ),
    ] = 3 * 3600.0,
    max_sessions: Annotated[
        int | None,
        typer.Option(
            "--max-sessions",
            help="Concurrent sessions allowed (429 beyond).",
            show_default=False,
            min=1,
            rich_help_panel=SERVER,
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="Reject unknown init body fields.", rich_help_panel=SERVER),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Processes or threads running the recognisers.",
            min=1,
            max=64,
            rich_help_panel=SERVER,
        ),
    ] = 2,
    decoders: Annotated[
        int,
        typer.Option(
            "--decoders",
            help="Whisper decodes at once (they share the cores).",
            min=1,
            max=16,
            rich_help_panel=SERVER,
        ),
    ] = 1,
    prerecorded_workers: Annotated[
        int,
        typer.Option(
            "--prerecorded-workers",
            help="Pre-recorded audio blocks decoded at once, and the most jobs of one key "
            "running at once (keys take turns; the others wait in the queue).",
            min=1,
            max=64,
            rich_help_panel=SERVER,
        ),
    ] = 2,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            metavar="DIR",
            help="Keep sessions, uploads and jobs here across restarts (a killed server's "
            "open sessions come back in status error with what was stored; its unfinished "
            "jobs run again). Default: a temporary folder removed with the server.",
            show_default=False,
            rich_help_panel=SERVER,
        ),
    ] = None,
    max_jobs_per_key: Annotated[
        int,
        typer.Option(
            "--max-jobs-per-key",
            help="Pre-recorded jobs one key may have queued or running (429 beyond).",
            min=1,
            rich_help_panel=SERVER,
        ),
    ] = 100,
    upload_ttl: Annotated[
        float,
        typer.Option(
            "--upload-ttl",
            metavar="SECONDS",
            help="Seconds an upload no job uses is kept.",
            min=1,
            rich_help_panel=SERVER,
        ),
    ] = 600.0,
    max_storage_mb: Annotated[
        float,
        typer.Option(
            "--max-storage-mb",
            metavar="MB",
            help="Disk all uploads may take (507 beyond; a key a quarter of it, 429).",
            min=1,
            rich_help_panel=SERVER,
        ),
    ] = 8192.0,
    max_upload_mb: Annotated[
        float,
        typer.Option(
            "--max-upload-mb",
            metavar="MB",
            help="Largest file POST /v2/upload takes (413 beyond).",
            min=0.001,
            rich_help_panel=SERVER,
        ),
    ] = 1000.0,
    linger: Annotated[
        float,
        typer.Option(
            "--linger",
            metavar="SECONDS",
            help="Seconds a finished session's URL still answers a reconnect.",
            min=0,
            rich_help_panel=SERVER,
        ),
    ] = 60.0,
    session_ttl: Annotated[
        float,
        typer.Option(
            "--session-ttl",
            metavar="SECONDS",
            help="Seconds a finished session is kept, then forgotten.",
            min=0,
            rich_help_panel=SERVER,
        ),
    ] = 24 * 3600.0,
    max_stored_sessions: Annotated[
        int,
        typer.Option(
            "--max-stored-sessions",
            help="Finished sessions kept; the oldest go beyond.",
            min=1,
            rich_help_panel=SERVER,
        ),
    ] = 1000,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Accept this name in Host/Origin headers besides loopback (repeatable; * any).",
            show_default=False,
            metavar="NAME",
            rich_help_panel=SERVER,
        ),
    ] = None,
    allow_link_local_callbacks: Annotated[
        bool,
        typer.Option(
            "--allow-link-local-callbacks",
            help="Allow callback URLs on link-local and cloud metadata addresses.",
            rich_help_panel=SERVER,
        ),
    ] = False,
    fail_init: Annotated[
        list[int] | None,
        typer.Option(
            "--fail-init",
            metavar="STATUS",
            help="Answer the next POST /v2/live with this status (repeatable, in order).",
            rich_help_panel=FAULT_INJECTION,
            show_default=False,
            min=100,
            max=599,
        ),
    ] = None,
    drop_after_bytes: Annotated[
        int | None,
        typer.Option(
            "--drop-after-bytes",
            metavar="BYTES",
            help="Drop a connection (no close frame) past this many audio bytes.",
            rich_help_panel=FAULT_INJECTION,
            show_default=False,
            min=0,
        ),
    ] = None,
    drop_after_seconds: Annotated[
        float | None,
        typer.Option(
            "--drop-after-seconds",
            metavar="SECONDS",
            help="Drop a connection this many seconds after it opened.",
            rich_help_panel=FAULT_INJECTION,
            show_default=False,
            min=0,
        ),
    ] = None,
    close_code: Annotated[
        int | None,
        typer.Option(
            "--close-code",
            metavar="CODE",
            help="Close a connection with this code…",
            rich_help_panel=FAULT_INJECTION,
            show_default=False,
            min=1000,
            max=4999,
        ),
    ] = None,
    close_after_bytes: Annotated[
        int,
        typer.Option(
            "--close-after-bytes",
            metavar="BYTES",
            help="…once it received this many audio bytes (0: at once).",
            rich_help_panel=FAULT_INJECTION,
            min=0,
        ),
    ] = 0,
    fault_connections: Annotated[
        int,
        typer.Option(
            "--fault-connections",
            help="How many connections per session suffer the faults above.",
            rich_help_panel=FAULT_INJECTION,
            min=1,
        ),
    ] = 1,
    ack_delay: Annotated[
        float,
        typer.Option(
            "--ack-delay",
            metavar="SECONDS",
            help="Seconds to hold back each acknowledgment.",
            rich_help_panel=FAULT_INJECTION,
            min=0,
        ),
    ] = 0.0,
    withhold_acks: Annotated[
        bool,
        typer.Option(
            "--withhold-acks", help="Never acknowledge audio.", rich_help_panel=FAULT_INJECTION
        ),
    ] = False,
    slow_finish: Annotated[
        float,
        typer.Option(
            "--slow-finish",
            metavar="SECONDS",
            help="Seconds post-processing takes (a session's end, a pre-recorded job's result).",
            rich_help_panel=FAULT_INJECTION,
            min=0,
        ),
    ] = 0.0,
    fail_recognition_after: Annotated[
        float | None,
        typer.Option(
            "--fail-recognition-after",
            help="Make recognition fail once a session has sent this many seconds of audio.",
            rich_help_panel=FAULT_INJECTION,
            show_default=False,
        ),
    ] = None,
    slow_recognition: Annotated[
        float,
        typer.Option(
            "--slow-recognition",
            metavar="FACTOR",
            help="Make recognition take at least FACTOR seconds per second of audio "
            "(a slow server, as on a starved machine).",
            rich_help_panel=FAULT_INJECTION,
            min=0,
        ),
    ] = 0.0,
    answering_machine: Annotated[
        str | None,
        typer.Option(
            "--answering-machine",
            metavar="KIND[:SCORE]",
            help="Send each session one answering_machine message with this verdict "
            "(human or machine, score 0-1, default 0.9), 5 s of audio after the first speech: "
            "the server does not detect answering machines itself.",
            rich_help_panel=FAULT_INJECTION,
            show_default=False,
            callback=_answering_machine,
        ),
    ] = None,
    log_level: Annotated[
        LogLevel, typer.Option("--log-level", help="What the log on stderr shows.")
    ] = LogLevel.INFO,
    debug: Debug = False,
    *,
    env: Environment,
) -> None:
    """Run a local Gladia-compatible server (offline recognition, fault injection)."""
    import logging

    from gladia_cli.server import extras

    # Before anything (the server's modules import aiohttp): the extra it needs, in one line.
    needs = "gladia serve" if engine == LocalEngine.WHISPER else f"gladia serve --engine {engine}"
    extras.require_server(engine, model, needs=needs)
    from gladia_cli.errors import UsageError
    from gladia_cli.server.config import Faults, ServerConfig
    from gladia_cli.server.runner import serve_forever

    if script is not None:
        _check_script(script, engine)
    config = ServerConfig(
        host=host,
        port=port,
        engine=engine,
        model=model,
        script_path=None if script is None else str(script),
        api_key=api_key,
        idle_timeout=idle_timeout,
        max_duration=max_duration,
        max_sessions=max_sessions,
        strict_init=strict,
        workers=workers,
        decoders=decoders,
        prerecorded_workers=prerecorded_workers,
        max_upload_bytes=round(max_upload_mb * 1024 * 1024),
        data_dir=None if data_dir is None else str(data_dir),
        max_jobs_per_key=max_jobs_per_key,
        upload_ttl=upload_ttl,
        max_storage_bytes=round(max_storage_mb * 1024 * 1024),
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
            fail_recognition_after=fail_recognition_after,
            slow_recognition=slow_recognition,
            answering_machine=parse_verdict(answering_machine) if answering_machine else None,
        ),
    )
    problem = config.describe_problem()
    if problem:
        raise UsageError(
            problem, hint="pass --api-key (or GLADIA_SERVER_API_KEY), or bind 127.0.0.1"
        )
    logging.basicConfig(
        level="DEBUG" if debug else log_level.upper(),  # debug: failures' tracebacks too
        stream=env.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
    )

    def ready(url: str) -> None:
        # On stdout, one line, so scripts can read the address when --port 0 was asked.
        env.stdout.write(url + "\n")
        env.stdout.flush()
        shown = f"{engine} {model}" if engine == LocalEngine.WHISPER else engine
        logging.getLogger("gladia.server").info("listening on %s (engine %s)", url, shown)

    from gladia_cli.server.data_dir import DataDirError

    try:
        serve_forever(config, ready)
    except DataDirError as exc:
        raise UsageError(
            f"--data-dir {exc}", hint="choose another --data-dir, or stop the server using it"
        ) from None
    except OSError as exc:
        from gladia_cli.errors import NetworkError

        raise NetworkError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="choose another --port (0 picks a free one)",
        ) from None


def _check_script(script: Path, engine: str) -> None:
    """The script is read now, so that a mistake is an error here, not a server that fails."""
    from gladia_cli.errors import UsageError
    from gladia_cli.server.recognition.engines.scripted import load_script

    if engine != "scripted":
        raise UsageError("--script is text for the scripted engine", hint="add --engine scripted")
    try:
        load_script(script)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        reason = reason[:1].lower() + reason[1:]
        raise UsageError(
            f"--script {script}: {reason}",
            hint="give a text file: one utterance per line, [N] for channel N",
        ) from None
