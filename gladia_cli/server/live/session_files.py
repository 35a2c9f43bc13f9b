"""One session's folder on disk: its audio, what it sent, its finals and its end result.

A stored session must cost the server no memory that grows with its length (a two-hour
session sends thousands of messages) and no file descriptor once finished. So everything
`GET /v2/live/{id}` shows that grows with the session lives here, next to the audio, and is
read back when asked for. The folder goes as a whole with the session (eviction, DELETE,
server shutdown, unless the server keeps its `--data-dir`).

`session.json` says what the session is (id, token, owner, settings, status), written when
it is created and when its state changes: with it, a server restarted on the same
`--data-dir` finds its sessions again (stored_session.py). A `durable` session writes its
logs at each append instead of in batches.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gladia_cli.server.live.audio_store import AudioStore
from gladia_cli.server.live.message_log import MessageLog


class SessionFiles:
    def __init__(self, directory: str | None = None, *, durable: bool = False) -> None:
        self.folder = Path(tempfile.mkdtemp(dir=directory, prefix="session-"))
        self._open(AudioStore(self.folder / "audio.raw"), durable=durable)

    @classmethod
    def reopen(cls, folder: Path) -> SessionFiles:
        """A session's folder as an earlier server left it (see stored_session.py)."""
        files = cls.__new__(cls)
        files.folder = folder
        files._open(AudioStore.existing(folder / "audio.raw"), durable=True)
        files.has_result = files._result.exists()
        return files

    def _open(self, audio: AudioStore, *, durable: bool) -> None:
        self.audio = audio
        folder = self.folder
        self.messages = MessageLog(folder / "messages.jsonl", durable=durable)  # result.messages
        self.utterances = MessageLog(folder / "utterances.jsonl", durable=durable)  # finals
        self.entities = MessageLog(folder / "entities.jsonl", durable=durable)  # add-on results
        self.sentiments = MessageLog(folder / "sentiments.jsonl", durable=durable)
        self.translations = MessageLog(folder / "translations.jsonl", durable=durable)
        self._result = folder / "result.json"
        self._meta = folder / "session.json"
        self.has_result = False

    def save_meta(self, meta: dict[str, Any]) -> None:
        """What the session is, replaced whole (a kill leaves the old or the new one)."""
        if not self.folder.exists():  # deleted meanwhile
            return
        partial = self._meta.with_suffix(".json.new")
        partial.write_text(json.dumps(meta, separators=(",", ":")), encoding="utf-8")
        partial.replace(self._meta)

    def meta(self) -> dict[str, Any] | None:
        try:
            value: dict[str, Any] = json.loads(self._meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def save_result(self, result: dict[str, Any]) -> None:
        """The end result (post_final_transcript's data), kept for GET instead of in memory."""
        self._result.write_text(json.dumps(result, separators=(",", ":")), encoding="utf-8")
        self.has_result = True

    def save_result_pieces(self, pieces: Iterable[str]) -> None:
        """`save_result`, of a result serialised piece by piece (compact JSON)."""
        with self._result.open("w", encoding="utf-8", newline="\n") as file:
            for piece in pieces:
                file.write(piece)
        self.has_result = True

    def result(self) -> dict[str, Any] | None:
        if not self.has_result:
            return None
        value: dict[str, Any] = json.loads(self._result.read_text(encoding="utf-8"))
        return value

    @property
    def _logs(self) -> tuple[MessageLog, ...]:
        return (self.messages, self.utterances, self.entities, self.sentiments, self.translations)

    def finish(self) -> None:
        """The session ended: no file descriptor is held from now on (the files stay)."""
        self.audio.finish()
        for log in self._logs:
            log.flush()  # a stored session's memory holds no buffered text

    def delete(self) -> None:
        self.audio.delete()
        for log in self._logs:
            log.delete()
        self.has_result = False
        shutil.rmtree(self.folder, ignore_errors=True)
