"""How a local server is set up: address, engine, limits, and the faults it injects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gladia_cli.server.recognition.engines.catalog import DEFAULT_ENGINE, DEFAULT_MODEL

if TYPE_CHECKING:
    from gladia_cli.server.addons.runner import AddonModels


ANSWERING_MACHINE_WINDOW = 5.0  # seconds of audio after the callee first speaks (Gladia's)
ANSWERING_MACHINE_KINDS = ("human", "machine")


@dataclass(frozen=True)
class RecognitionFaults:
    """Recognition misbehaving, whatever the engine (server/recognition/transcriber.py)."""

    fail_after: float | None = None  # seconds of audio fed before recognition raises
    seconds_per_second: float = 0.0  # wall time each second of audio fed takes, at least


@dataclass(frozen=True)
class Faults:
    """Misbehaviour on request, so clients can be tested against a server that fails.

    Connection faults (drop, close) fire on the first `fault_connections` connections of
    each session, counting bytes per connection; later connections behave. Acknowledgment
    faults (`ack_delay`, `withhold_acks`) apply to every connection, each on its own.
    """

    # Statuses returned by successive `POST /v2/live` calls before they succeed again.
    init_failures: tuple[int, ...] = ()
    # Drop the connection without a close frame (TCP FIN, as a broken network looks to the
    # client) once it has received more than this many audio bytes; the chunk that crosses
    # the limit is discarded unacknowledged, as if lost in transit.
    drop_after_bytes: int | None = None
    drop_after_seconds: float | None = None
    # Close with this code once the connection has received `close_after_bytes` audio bytes.
    close_code: int | None = None
    close_after_bytes: int = 0
    fault_connections: int = 1
    ack_delay: float = 0.0  # seconds each acknowledgment is held back
    withhold_acks: bool = False  # never acknowledge audio
    # Seconds post-processing takes: a live session's end, a pre-recorded job's result
    # (tests of stop timeouts, aborts, clients that wait).
    slow_finish: float = 0.0
    # Recognition raises once a session has fed this many seconds of audio (any engine):
    # the session reports `recognition_failed` and ends in status error.
    fail_recognition_after: float | None = None
    # Recognition takes at least this many seconds per second of audio (any engine): a
    # slow server on purpose, whose backlog builds up in seconds.
    slow_recognition: float = 0.0
    # The local server does not detect answering machines (Gladia's switch for it is not
    # documented, nor is its model): this scripts the verdict, (kind, confidence), sent once
    # per session `ANSWERING_MACHINE_WINDOW` seconds of audio after the first speech starts.
    answering_machine: tuple[str, float] | None = None

    @property
    def recognition(self) -> RecognitionFaults:
        return RecognitionFaults(self.fail_recognition_after, self.slow_recognition)

    @property
    def any_connection_fault(self) -> bool:
        """Whether a connection may be dropped or closed on purpose."""
        return (
            self.drop_after_bytes is not None
            or self.drop_after_seconds is not None
            or self.close_code is not None
        )


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8000
    engine: str = DEFAULT_ENGINE
    model: str = DEFAULT_MODEL  # the whisper engine's model
    script_path: str | None = None  # text for the scripted engine
    api_key: str | None = None  # when set, the only key accepted
    idle_timeout: float = 30.0  # seconds without audio before a session is finished
    max_duration: float = 3 * 3600.0  # seconds a session may record
    max_sessions: int | None = None  # concurrent unfinished sessions; 429 beyond
    strict_init: bool = False  # reject unknown init body keys
    faults: Faults = field(default_factory=Faults)
    workers: int = 2  # recogniser processes (sphinx), threads calling the recognisers
    # Whisper decodes at once, sharing the cores: 1 (both cores on each decode) gave the
    # lowest latency here (final ~0.65 s after the end of speech, vs ~0.85 s with 2).
    decoders: int = 1
    # Seconds of received audio a session may have waiting for recognition; past it the
    # server holds back its acknowledgments until recognition catches up (ack_credit.py),
    # so a fast client is slowed to recognition's pace, not failed (it keeps reading).
    max_recognition_backlog: float = 30.0
    # After its end, a session's URL still answers for this long: a client whose last
    # connection dropped gets what it had not confirmed, then 1000.
    linger: float = 60.0
    # At the end, how long to wait for the client to confirm it has every message.
    confirm_timeout: float = 5.0
    session_ttl: float = 24 * 3600.0  # finished sessions are forgotten after this
    max_stored_sessions: int = 1000  # finished sessions kept; the oldest go beyond
    # Host names accepted in Host and Origin headers besides loopback (DNS rebinding);
    # "*" accepts any.
    allowed_hosts: tuple[str, ...] = ()
    allow_link_local_callbacks: bool = False  # callbacks to 169.254.x.x, fe80::, metadata
    # Blocks of pre-recorded audio decoded at once (the CPU jobs take); the jobs of several
    # keys take turns block by block, and at most this many jobs of one key run at once.
    prerecorded_workers: int = 2
    max_unfinished_jobs: int = 1000  # queued or processing, all keys together; 429 beyond
    max_jobs_per_key: int = 100  # queued or processing, one key's; 429 beyond
    max_upload_bytes: int = 1000 * 1024 * 1024  # POST /v2/upload (Gladia's limit: 1000 MB)
    # Longest file a job takes (Gladia's limit: 135 minutes); longer uploads get 400.
    max_file_seconds: float = 135 * 60.0
    upload_ttl: float = 600.0  # an upload no job uses is forgotten after this
    max_uploads_per_key: int = 100  # uploads no job uses yet, one key's; 429 beyond
    # Disk all uploads may take (507 beyond); one key may take a quarter of it (429).
    max_storage_bytes: int = 8 * 1024 * 1024 * 1024
    # Where sessions, uploads and jobs are kept across restarts; None: a temporary folder
    # removed with the server.
    data_dir: str | None = None
    # Pre-recorded diarization by the speaker model (server/prerecorded/diarization.py) when it is
    # installed; False: as if it were not (the add-on error), for tests of that path.
    speaker_model: bool = True
    # What computes the add-ons; None: the offline models (tests inject slow or failing ones).
    addon_models: AddonModels | None = None

    @property
    def loopback(self) -> bool:
        return self.host in ("127.0.0.1", "::1", "localhost")

    def describe_problem(self) -> str | None:
        """Why this configuration must not run, or None."""
        loopback = self.loopback
        if not loopback and not self.api_key:
            return f"binding {self.host} exposes the server to the network: set an API key"
        return None
