"""One session's folder on disk: its audio, what it sent, its finals and its end result.

A stored session must cost the server no memory that grows with its length (a two-hour
session sends thousands of messages) and no file descriptor once finished. So everything
`GET /v2/live/{id}` shows that grows with the session lives here, next to the audio, and is
read back when asked for. The folder goes as a whole with the session (eviction, DELETE,
server shutdown).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gladia_cli.server.audio_store import AudioStore
from gladia_cli.server.message_log import MessageLog


class SessionFiles:
    def __init__(self, directory: str | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(dir=directory, prefix="session-"))
        self.audio = AudioStore(self.folder / "audio.raw")
        self.messages = MessageLog(self.folder / "messages.jsonl")  # `result.messages`
        self.utterances = MessageLog(self.folder / "utterances.jsonl")  # finals, as they came
        self.entities = MessageLog(self.folder / "entities.jsonl")  # realtime add-on results
        self.sentiments = MessageLog(self.folder / "sentiments.jsonl")
        self.translations = MessageLog(self.folder / "translations.jsonl")
        self._result = self.folder / "result.json"
        self.has_result = False

    def save_result(self, result: dict[str, Any]) -> None:
        """The end result (post_final_transcript's data), kept for GET instead of in memory."""
        self._result.write_text(json.dumps(result, separators=(",", ":")), encoding="utf-8")
        self.has_result = True

    def save_result_text(self, text: str) -> None:
        """`save_result`, of a result already serialised (compact JSON)."""
        self._result.write_text(text, encoding="utf-8")
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
