"""Live sessions found again in `--data-dir` after a restart: what the earlier server stored.

A session that had ended (done or error) comes back as it was: its REST view, result,
messages and audio. A session that was still open when its server stopped (killed, or shut
down) cannot go on: its recogniser's state and the messages it had not delivered were in
that server's memory, and the audio its client sent after the last acknowledgment only in
the client. It is reported in status `error` (error_code 500, and `error: {code, message}`
beside it) with what was stored: every byte of audio acknowledged (`GET …/file`) and every
final written to disk, as its result's transcription. A client reconnecting to its URL is
closed with 4410 and told so. A pre-recorded job, whose whole file is stored, is run again
instead (prerecorded/routes.py): that is where the audio allows resuming.

A restored session is read-only (PATCH aside) and ages like any finished session: it is
evicted `session_ttl` after its end (an interrupted one: after the restart) or beyond
`max_stored_sessions`, its folder with it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gladia_cli.audio.wav_stream import find_wav_data
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.messages import iso_timestamp
from gladia_cli.server.clock import Clock
from gladia_cli.server.live.audio_store import AudioStore
from gladia_cli.server.live.session_files import SessionFiles
from gladia_cli.server.live.session_result import SessionResult

log = logging.getLogger("gladia.server")

INTERRUPTED = "the server stopped during the session; what it had stored is kept"
SESSION_FIELDS = ("id", "token", "owner", "request_id", "config", "created_at")


class StoredSession:
    """A session an earlier server left in the data folder (see module docstring)."""

    reconnectable = False
    connection = None

    def __init__(self, files: SessionFiles, meta: dict[str, Any], *, finished_at: float) -> None:
        self.files = files
        self._meta = meta
        self.id: str = meta["id"]
        self.token: str = meta["token"]
        self.owner: str = meta["owner"]
        self.config: dict[str, Any] = meta["config"]
        self.created_at: str = meta["created_at"]
        self.fmt = AudioFormat.from_config(self.config)
        self.store: AudioStore = files.audio
        self.header_bytes = _header(files.audio)
        self.failed = bool(meta.get("failed"))
        self.finished = asyncio.Event()
        self.finished.set()
        self.finished_at = finished_at  # on the server's clock
        self.result = SessionResult(
            session_id=self.id,
            request_id=meta["request_id"],
            config=self.config,
            fmt=self.fmt,
            files=files,
            created_at=self.created_at,
        )
        self.result.status = meta["status"]
        self.result.completed_at = meta.get("completed_at")
        self.result.error_code = meta.get("error_code")
        self.result.post_session_metadata = meta.get("post_session_metadata") or {}

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def interrupted(self) -> bool:
        return bool(self._meta.get("interrupted"))

    @property
    def post_session_metadata(self) -> dict[str, Any]:
        return self.result.post_session_metadata

    @post_session_metadata.setter
    def post_session_metadata(self, metadata: dict[str, Any]) -> None:
        self.result.post_session_metadata = metadata
        self._meta["post_session_metadata"] = metadata
        self.files.save_meta(self._meta)

    @property
    def audio_duration(self) -> float:
        audio = self.store.size - self.header_bytes
        return self.fmt.seconds(audio - audio % self.fmt.frame_bytes)

    def describe(self) -> dict[str, Any]:
        described = self.result.describe(
            audio_duration=self.audio_duration,
            failed=self.failed,
            local_server={"restored": True, "interrupted": self.interrupted},
        )
        if self.interrupted:
            described["error"] = {"code": 500, "message": INTERRUPTED}
        return described

    async def flush_outbox(self) -> None:
        """Nothing to deliver: no connection is ever attached."""

    async def close(self, *, shutting_down: bool = False, keep_files: bool = False) -> None:
        if not keep_files:
            self.files.delete()


def _header(store: AudioStore) -> int:
    """A RIFF header's length at the start of the stored stream (as LiveSession found it)."""
    return find_wav_data(store.read(0, min(store.size, 1 << 16))) or 0


def session_meta(session: Any) -> dict[str, Any]:
    """What `session.json` holds for a live session (see session_files.py)."""
    meta = {name: getattr(session, name) for name in SESSION_FIELDS}
    meta |= {
        "status": session.status,
        "completed_at": session.completed_at,
        "finished_wall": session.finished_wall,  # wall time: clocks do not survive restarts
        "post_session_metadata": session.post_session_metadata,
        "failed": session.failed,
        "error_code": session.result.error_code,
    }
    return meta


def restore_sessions(folder: Path, clock: Clock) -> list[StoredSession]:
    """Every session found in `folder` (a data dir's `live/`), oldest first; a folder with
    no readable `session.json` (killed as it was being created) is removed."""
    restored = []
    now_wall, now = time.time(), clock.now()
    for path in sorted(folder.glob("session-*")):
        files = SessionFiles.reopen(path)
        meta = files.meta()
        if meta is None or any(name not in meta for name in (*SESSION_FIELDS, "status")):
            shutil.rmtree(path, ignore_errors=True)
            continue
        if meta["status"] not in ("done", "error"):
            _interrupt(files, meta)
        ended_wall = meta.get("finished_wall") or now_wall
        finished_at = now - max(0.0, now_wall - float(ended_wall))
        restored.append(StoredSession(files, meta, finished_at=finished_at))
    restored.sort(key=lambda s: s.created_at)
    if restored:
        interrupted = sum(s.interrupted for s in restored)
        log.info(
            "restored %d session(s) from %s, %d of them interrupted by the last stop",
            len(restored),
            folder,
            interrupted,
        )
    return restored


def _interrupt(files: SessionFiles, meta: dict[str, Any]) -> None:
    """A session that was open when its server stopped: status error, with its result
    made of what was stored (written once: a later restart finds it ended)."""
    config = meta["config"]
    fmt = AudioFormat.from_config(config)
    result = SessionResult(
        session_id=meta["id"],
        request_id=meta["request_id"],
        config=config,
        fmt=fmt,
        files=files,
        created_at=meta["created_at"],
    )
    utterances = list(files.utterances.values())
    heard = dict.fromkeys(str(u.get("language") or "") for u in utterances)
    languages = [code for code in heard if code]
    configured = (config.get("language_config") or {}).get("languages") or ["en"]
    audio = files.audio.size - _header(files.audio)
    duration = round(fmt.seconds(audio - audio % fmt.frame_bytes), 3)
    files.save_result(
        {
            "metadata": {
                "audio_duration": duration,
                "number_of_distinct_channels": fmt.channels,
                "billing_time": round(duration * fmt.channels, 3),
                "transcription_time": None,
            },
            "transcription": result.transcription(languages or [str(configured[0])]),
        }
    )
    meta |= {
        "status": "error",
        "completed_at": iso_timestamp(datetime.now(UTC)),
        "finished_wall": time.time(),
        "failed": True,
        "interrupted": True,
    }
    files.save_meta(meta)
