"""What `--web` streams to the caption page: the session's messages as server-sent events,
numbered, kept (bounded) so that a reloaded page or a late viewer gets the captions so far.
Pure: no socket, no thread, no clock (render/caption_server.py carries it out).

Events on `/events`:

- `session` (first, always): `{"session_id", "channels", "labels", "labelled"}`: what the
  page needs to name and colour the channels (`--label`, else the source's names).
- unnamed (`message`): each of Gladia's messages exactly as stdout's jsonl writes it (the
  acknowledgments left out, as there), one JSON object per `data:` line.
- `end`: `{"session_id", "state"}` once the session is over (`done`, or `aborted`).

Ids are `RUN-SEQ`: RUN is new for every process, so a page that comes back to a restarted
CLI (`Last-Event-ID` of the previous run) gets the whole history, never a gap. History is
bounded by a count; a partial transcript is dropped from it once a later partial or the
final of its utterance supersedes it, so the history is mostly finals and translations.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from gladia_cli.protocol.messages import ServerMessage, Transcript
from gladia_cli.render import DEFAULT_EVENTS

STREAMED_TYPES = DEFAULT_EVENTS  # what jsonl writes when no --events is given
MAX_EVENTS = 1000  # kept for late viewers: several hundred captions with their translations
RETRY_MS = 2000  # how soon a page reconnects after the connection drops (SSE `retry:`)


@dataclass(frozen=True)
class CaptionEvent:
    seq: int
    name: str  # "message", "session" or "end"
    data: str  # one line of JSON

    def frame(self, run: str) -> bytes:
        """The event as it goes on the wire (text/event-stream)."""
        kind = "" if self.name == "message" else f"event: {self.name}\n"
        return f"id: {run}-{self.seq}\n{kind}data: {self.data}\n\n".encode()


def one_line(message: ServerMessage) -> str:
    """The message as jsonl writes it: the server's text, re-serialised only if it spans
    lines (a `data:` field ends at a line break)."""
    text = message.text
    if "\n" in text or "\r" in text:
        return json.dumps(message.raw, ensure_ascii=False, separators=(",", ":"))
    return text


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class CaptionEvents:
    """The numbered, bounded history of one process's sessions (see the module docstring)."""

    def __init__(self, run: str, *, limit: int = MAX_EVENTS) -> None:
        if "-" in run or not run:
            raise ValueError(f"a run id has no dash: {run!r}")
        self.run = run
        self._limit = limit
        self._seq = 0
        self._session: CaptionEvent | None = None
        self._session_id = ""
        self._events: OrderedDict[int, CaptionEvent] = OrderedDict()
        self._partials: dict[tuple[int, str], int] = {}  # (channel, utterance id) → seq
        self.ended = False

    @property
    def latest(self) -> int:
        """The last sequence number given (0: none yet)."""
        return self._seq

    def _next(self, name: str, data: str) -> CaptionEvent:
        self._seq += 1
        return CaptionEvent(self._seq, name, data)

    def session(self, session_id: str, labels: list[str], channels: int, labelled: bool) -> None:
        """A session starts: the page names its channels. Forgets the previous session's."""
        self._events.clear()
        self._partials.clear()
        self.ended = False
        self._session_id = session_id
        payload = {
            "session_id": session_id,
            "channels": channels,
            "labels": labels,
            "labelled": labelled,
        }
        self._session = self._next("session", _dumps(payload))

    def message(self, message: ServerMessage) -> bool:
        """Keep a server message for the page; False when it is not one the page gets."""
        if message.type not in STREAMED_TYPES:
            return False
        event = self._next("message", one_line(message))
        if isinstance(message, Transcript):
            key = (message.utterance.channel, message.utterance_id)
            superseded = self._partials.pop(key, None)
            if superseded is not None:
                self._events.pop(superseded, None)
            if not message.is_final:
                self._partials[key] = event.seq
        self._events[event.seq] = event
        while len(self._events) > self._limit:
            seq, _ = self._events.popitem(last=False)
            self._partials = {k: v for k, v in self._partials.items() if v != seq}
        return True

    def end(self, state: str) -> None:
        if self.ended:
            return
        self.ended = True
        event = self._next("end", _dumps({"session_id": self._session_id, "state": state}))
        self._events[event.seq] = event

    def after(self, seen: int | None) -> list[CaptionEvent]:
        """What a page that saw event `seen` has not: everything kept when None (the session
        event first), else what came after it."""
        if seen is None:
            head = [self._session] if self._session is not None else []
            return head + list(self._events.values())
        newer = []
        for seq, event in reversed(self._events.items()):  # in order: only what is new is read
            if seq <= seen:
                break
            newer.append(event)
        newer.reverse()
        if self._session is not None and self._session.seq > seen:
            return [self._session, *newer]
        return newer

    def seq_of(self, last_event_id: str | None) -> int | None:
        """The sequence number in a `Last-Event-ID` this run gave; None for none, another
        run's (a restarted CLI) or one that is not ours."""
        if not last_event_id:
            return None
        run, _, seq = last_event_id.strip().rpartition("-")
        if run != self.run or not seq.isdigit():
            return None
        number = int(seq)
        return number if number <= self._seq else None
