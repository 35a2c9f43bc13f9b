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
import contextlib
import itertools
import json
import logging
from array import array
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.addons.runner import SessionAddons
from gladia_cli.server.live.outbox import StoredText
from gladia_cli.server.live.session_files import SessionFiles

log = logging.getLogger("gladia.server")

# Messages kept for `result.messages` (partials and acknowledgments are never kept); the
# closing messages are kept past it. A flood of client errors cannot grow a session.
MAX_RESULT_MESSAGES = 50_000


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))  # as live_session writes messages


# Utterances read between two turns of the event loop while the end result is built.
YIELD_EVERY = 500
# Characters of a stored text handed on at a time.
TEXT_PIECE = 64 * 1024

# `emit_stored(type, data)`: a message whose data is written piece by piece (see produce).
EmitStored = Callable[[str, Callable[[], Iterable[str]]], None]


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

    def remember_pieces(self, pieces: Iterable[str]) -> StoredText | None:
        """A closing message given in pieces, for `result.messages`: written to the log as
        it is built; where it is (sent from there), or None once the session is deleted."""
        return self._files.messages.append_pieces(pieces)

    def transcription(self, languages: list[str]) -> dict[str, Any]:
        # Read back from disk for the end only (post-processing needs them all).
        utterances = self._files.utterances.values()
        ordered = sorted(utterances, key=lambda u: (u["start"], u["channel"]))
        return {
            "full_transcript": " ".join(u["text"].strip() for u in ordered),
            "languages": languages,
            "utterances": ordered,
        }

    async def write_transcription(self, path: Path, languages: list[str]) -> None:
        """`transcription(languages)` as the JSON text it serialises to, written to `path`
        from the utterance log's own lines, one at a time: a 10 h session's 15 000 finals are
        never all in memory, parsed (tens of MiB) or as text (6 MB). What is kept: where each
        line is, its start and channel (24 bytes a final). It lets the event loop run every
        YIELD_EVERY lines: after hours of audio this takes long, and pings must be answered
        meanwhile (a client waiting for the end calls a silent server dead)."""
        log = self._files.utterances
        log.flush()
        starts, channels, offsets = array("d"), array("q"), array("q", [0])
        if log.count:
            with log.path.open("rb") as source:
                for index, raw in enumerate(itertools.islice(source, log.count)):
                    utterance = json.loads(raw)
                    starts.append(utterance["start"])
                    channels.append(utterance["channel"])
                    offsets.append(offsets[-1] + len(raw))
                    if index % YIELD_EVERY == YIELD_EVERY - 1:
                        await asyncio.sleep(0)
        # By time, then channel, ties in log order (a stable sort), as 8 bytes a final.
        order = numpy.lexsort((numpy.frombuffer(channels, "q"), numpy.frombuffer(starts, "d")))
        del starts, channels

        with contextlib.ExitStack() as files:
            out = files.enter_context(path.open("w", encoding="utf-8", newline="\n"))
            lines = files.enter_context(log.path.open("rb")) if len(order) else None

            def line(index: int) -> str:
                assert lines is not None
                lines.seek(offsets[index])
                return lines.read(offsets[index + 1] - offsets[index] - 1).decode("utf-8")

            # json.dumps(" ".join(texts)) is the texts' escapes joined by spaces.
            out.write('{"full_transcript":"')
            for rank, index in enumerate(order):
                if rank:
                    out.write(" ")
                out.write(json.dumps(json.loads(line(index))["text"].strip())[1:-1])
                if rank % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)
            out.write(f'","languages":{_compact(languages)},"utterances":[')
            for rank, index in enumerate(order):
                if rank:
                    out.write(",")
                out.write(line(index))
                if rank % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)
            out.write("]}")

    async def produce(
        self,
        *,
        emit: Callable[..., None],
        addons: SessionAddons,
        languages: list[str],
        audio_duration: float,
        elapsed: Callable[[], float],
        emit_stored: EmitStored | None = None,
    ) -> None:
        """Send the end result and keep it on disk; `elapsed` is read after post-processing:
        the time from the session's creation to its results. `emit_stored(type, data)`:
        when given (no post-processing add-on and no callback needs the parsed result), the
        end messages are built from the logs as text, byte for byte the same, and handed
        over in pieces (`data()` gives them, as often as asked): a 10 h session's two end
        messages are 6 MB each, and the server holds neither (issue 18).
        """
        if emit_stored is not None and not addons.fills_result:
            transcription = self._files.folder / "transcription.json"
            await self.write_transcription(transcription, languages)
            emit_stored("post_transcript", lambda: _pieces_of(transcription))
            metadata = self._metadata(audio_duration, elapsed())
            head = f'{{"metadata":{_compact(metadata)},"transcription":'

            def result() -> Iterator[str]:
                yield head
                yield from _pieces_of(transcription)
                yield "}"

            emit_stored("post_final_transcript", result)
            emit("end_session")
            self._files.save_result_pieces(result())  # read back by GET: not held in memory
            transcription.unlink(missing_ok=True)
            self._files.finish()
            return
        transcription_dict = self.transcription(languages)
        emit("post_transcript", data=transcription_dict)
        result_dict: dict[str, Any] = {"metadata": {}, "transcription": transcription_dict}
        await addons.post_process(result_dict)
        result_dict["metadata"] = self._metadata(audio_duration, elapsed())
        emit("post_final_transcript", data=result_dict)
        emit("end_session")
        self._files.save_result(result_dict)  # read back by GET: not held in memory
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


def _pieces_of(path: Path) -> Iterator[str]:
    """A text file, TEXT_PIECE characters at a time."""
    with path.open(encoding="utf-8", newline="\n") as file:
        while piece := file.read(TEXT_PIECE):
            yield piece
