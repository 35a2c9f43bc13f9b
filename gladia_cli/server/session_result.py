"""What a session leaves: the messages it kept, its end result, and its REST view.

`result.messages` keeps what was sent except partials and acknowledgments, at most
`MAX_RESULT_MESSAGES` of them (the closing messages always). It, the final utterances and
the end result are kept on disk with the audio (see session_files.py), not in memory: a
long session's memory stays flat, and a stored session costs only a few objects.

The end result is produced once recording ended and the last finals' add-ons are done:
post_transcript → the post-processing add-ons (post_summarization, post_chapterization) →
post_final_transcript → end_session (protocol.md §4.2).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.addons.runner import SessionAddons
from gladia_cli.server.session_files import SessionFiles

log = logging.getLogger("gladia.server")

# Messages kept for `result.messages` (partials and acknowledgments are never kept); the
# closing messages are kept past it. A flood of client errors cannot grow a session.
MAX_RESULT_MESSAGES = 50_000


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))  # as live_session writes messages


# Utterances read between two turns of the event loop while the end result is built.
YIELD_EVERY = 500


class SessionResult:
    def __init__(
        self,
        *,
        session_id: str,
        request_id: str,
        config: dict[str, Any],
        fmt: AudioFormat,
        files: SessionFiles,
        created_at: str,
    ) -> None:
        self._session_id = session_id
        self._request_id = request_id
        self._config = config
        self._fmt = fmt
        self._files = files
        self.created_at = created_at
        self.completed_at: str | None = None
        self.status = "queued"
        self.error_code: int | None = None
        self.post_session_metadata: dict[str, Any] = {}
        self.messages_dropped = 0  # past MAX_RESULT_MESSAGES, not kept for the result

    def remember(self, text: str, *, closing: bool = False) -> None:
        """A final message that was sent, for `result.messages`."""
        if self._files.messages.count < MAX_RESULT_MESSAGES or closing:
            self._files.messages.append(text)
            return
        if not self.messages_dropped:
            log.warning("session %s: more than %d messages", self._session_id, MAX_RESULT_MESSAGES)
        self.messages_dropped += 1

    def transcription(self, languages: list[str]) -> dict[str, Any]:
        # Read back from disk for the end only (post-processing needs them all).
        utterances = self._files.utterances.values()
        ordered = sorted(utterances, key=lambda u: (u["start"], u["channel"]))
        return {
            "full_transcript": " ".join(u["text"].strip() for u in ordered),
            "languages": languages,
            "utterances": ordered,
        }

    async def transcription_json(self, languages: list[str]) -> str:
        """`transcription(languages)` as the JSON text it serialises to, built from the
        utterance log's own lines: a 10 h session's 15 000 finals are never all parsed
        objects at once (tens of MiB, for a text of 6 MB). It lets the event loop run every
        YIELD_EVERY lines: after hours of audio this takes long, and pings must be answered
        meanwhile (a client waiting for the end calls a silent server dead)."""
        keyed = []
        for index, line in enumerate(self._files.utterances.texts()):
            utterance = json.loads(line)
            keyed.append((utterance["start"], utterance["channel"], line))
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
        keyed.sort(key=lambda k: (k[0], k[1]))
        texts = []
        for index, k in enumerate(keyed):
            texts.append(json.loads(k[2])["text"].strip())
            if index % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
        full = " ".join(texts)
        del texts
        utterances = ",".join(k[2] for k in keyed)
        del keyed
        return (
            f'{{"full_transcript":{json.dumps(full)},"languages":{_compact(languages)},'
            f'"utterances":[{utterances}]}}'
        )

    async def produce(
        self,
        *,
        emit: Callable[..., None],
        addons: SessionAddons,
        languages: list[str],
        audio_duration: float,
        elapsed: Callable[[], float],
        emit_data: Callable[[str, str], None] | None = None,
    ) -> None:
        """Send the end result and keep it on disk; `elapsed` is read after post-processing:
        the time from the session's creation to its results. `emit_data(type, data_json)`:
        when given (no post-processing add-on and no callback needs the parsed result), the
        end messages are built as text from the logs, byte for byte the same.

        """
        if emit_data is not None and not addons.fills_result:
            transcription_json = await self.transcription_json(languages)
            emit_data("post_transcript", transcription_json)
            metadata = self._metadata(audio_duration, elapsed())
            result_json = (
                f'{{"metadata":{_compact(metadata)},"transcription":{transcription_json}}}'
            )
            del transcription_json
            emit_data("post_final_transcript", result_json)
            emit("end_session")
            self._files.save_result_text(result_json)  # read back by GET: not held in memory
            self._files.finish()
            return
        transcription = self.transcription(languages)
        emit("post_transcript", data=transcription)
        result: dict[str, Any] = {"metadata": {}, "transcription": transcription}
        await addons.post_process(result)
        result["metadata"] = self._metadata(audio_duration, elapsed())
        emit("post_final_transcript", data=result)
        emit("end_session")
        self._files.save_result(result)  # read back by GET: not held in memory
        self._files.finish()  # a finished session holds no file descriptor

    def _metadata(self, audio_duration: float, elapsed: float) -> dict[str, Any]:
        return {
            "audio_duration": round(audio_duration, 3),
            "number_of_distinct_channels": self._fmt.channels,
            "billing_time": round(audio_duration * self._fmt.channels, 3),
            "transcription_time": round(elapsed, 3),
        }

    def completed(self, at: str, *, error_code: int | None) -> None:
        """Done, or `error` with `error_code`: 500 when recognition failed, 408 when the
        client went away without ending the session (the recording may be incomplete)."""
        self.status = "error" if error_code else "done"
        self.error_code = error_code
        self.completed_at = at

    def describe(
        self, *, audio_duration: float, failed: bool, local_server: dict[str, Any]
    ) -> dict[str, Any]:
        """The session as `GET /v2/live/{id}` shows it (Gladia's StreamingResponse)."""
        result = self._files.result()
        if result is not None:
            result["messages"] = list(self._files.messages.texts())
        has_audio = self._files.audio.size > 0
        return {
            "id": self._session_id,
            "request_id": self._request_id,
            "version": 2,
            "status": self.status,
            "created_at": self.created_at,
            "completed_at": self.completed_at,
            "kind": "live",
            "custom_metadata": self._config.get("custom_metadata") or {},
            "error_code": self.error_code or (500 if failed else None),
            "post_session_metadata": self.post_session_metadata,
            "file": {
                "id": self._session_id,
                "filename": None,
                "source": None,
                "audio_duration": round(audio_duration, 3) if has_audio else None,
                "number_of_channels": self._fmt.channels,
            },
            "request_params": self._config,
            "result": result,
            # Not Gladia's: the local server's own view of recognition (README, "The local
            # server"). An extra key, which Gladia's clients ignore.
            "local_server": local_server,
        }
