"""`--record FILE.jsonl`: every server message of a session with its arrival time, so that
`gladia replay` renders it again, in any format, with no server (and a bug can be reported
without sharing audio).

The file is JSON lines. The first line describes the recording:

    {"gladia_recording": 1, "session_id": "…", "channels": 2, "labels": ["host", "guest"]}

then one line per message the renderers get (re-delivered duplicates are dropped before, as
for every output), in arrival order, `t` in seconds since the session was created
and `message` the frame exactly as the server sent it:

    {"t":0.512,"message":{"type":"transcript",…}}

Neither the API key nor the session's WebSocket URL (its token) is ever written: a message
that would carry one has it replaced by `[redacted]`. Lines are flushed as they are written,
so a recording cut short keeps everything before the cut.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

from gladia_cli.errors import UsageError
from gladia_cli.protocol.messages import MessageParseError, ServerMessage, parse_server_message

FORMAT_VERSION = 1
REDACTED = "[redacted]"
_MIN_SECRET = 8  # shorter "secrets" (the embedded server's placeholder key) would hit words
_LINE = re.compile(r'\{"t":(-?[0-9.eE+-]+),"message":(.*)\}')


def secrets_of(api_key: str | None, session_url: str) -> tuple[str, ...]:
    """What must never reach a recording: the key, the WebSocket URL and its token."""
    found = [api_key or "", session_url]
    for values in parse_qs(urlsplit(session_url).query).values():
        found += values
    return tuple(sorted({s for s in found if len(s) >= _MIN_SECRET}, key=len, reverse=True))


class RecordingWriter:
    def __init__(
        self,
        stream: IO[str],
        *,
        secrets: Iterable[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._secrets = tuple(secrets)
        self._clock = clock
        self._began = clock()

    @classmethod
    def create(cls, path: Path, *, secrets: Iterable[str]) -> RecordingWriter:
        try:
            return cls(path.open("w", encoding="utf-8"), secrets=secrets)
        except OSError as exc:
            raise UsageError(
                f"cannot write --record {path}: {exc.strerror}", hint="choose a path you can write"
            ) from None

    def _redacted(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def _line(self, text: str) -> None:
        self._stream.write(self._redacted(text) + "\n")
        self._stream.flush()

    def header(self, *, session_id: str, channels: int, labels: Iterable[str]) -> None:
        self._line(
            json.dumps(
                {
                    "gladia_recording": FORMAT_VERSION,
                    "session_id": session_id,
                    "channels": channels,
                    "labels": list(labels),
                },
                ensure_ascii=False,
            )
        )

    def message(self, message: ServerMessage) -> None:
        text = message.text
        if "\n" in text or "\r" in text:
            text = json.dumps(message.raw, ensure_ascii=False, separators=(",", ":"))
        self._line(f'{{"t":{self._clock() - self._began:.3f},"message":{text}}}')

    def close(self) -> None:
        self._stream.close()


@dataclass(frozen=True)
class Recording:
    session_id: str
    channels: int
    labels: tuple[str, ...]
    messages: tuple[tuple[float, ServerMessage], ...]
    cut_short: bool  # the last line was incomplete (the recording process was killed)


def _not_a_recording(path: Path, why: str) -> UsageError:
    return UsageError(
        f"{path} is not a gladia recording ({why})",
        hint="record one with: gladia file talk.wav --record talk.jsonl",
    )


def _timed(line: str) -> tuple[float, ServerMessage]:
    """One message line; its frame kept byte for byte when written by RecordingWriter."""
    matched = _LINE.fullmatch(line)
    if matched is not None:
        try:
            json.loads(matched.group(2))
            return float(matched.group(1)), parse_server_message(matched.group(2))
        except (ValueError, MessageParseError):
            pass
    entry = json.loads(line)  # written by something else: the message re-serialised
    if not isinstance(entry, dict) or not isinstance(entry.get("message"), dict):
        raise ValueError("no message")
    text = json.dumps(entry["message"], ensure_ascii=False, separators=(",", ":"))
    return float(entry.get("t", 0.0)), parse_server_message(text)


def read_recording(path: Path) -> Recording:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageError(f"no such recording: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory, not a recording") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    if not lines:
        raise _not_a_recording(path, "it is empty")
    try:
        header: Any = json.loads(lines[0])
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or "gladia_recording" not in header:
        raise _not_a_recording(path, "its first line is not a recording header")
    messages = []
    cut_short = False
    for number, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        try:
            messages.append(_timed(line))
        except (ValueError, TypeError, MessageParseError):
            if number == len(lines):
                cut_short = True  # killed mid-line: everything before is good
                break
            raise _not_a_recording(path, f"line {number} is not a message line") from None
    channels = header.get("channels")
    labels = header.get("labels")
    return Recording(
        session_id=str(header.get("session_id", "")),
        channels=channels if isinstance(channels, int) and channels > 0 else 1,
        labels=tuple(str(n) for n in labels) if isinstance(labels, list) else (),
        messages=tuple(messages),
        cut_short=cut_short,
    )
