"""The renderer interface, and the transcript state every renderer reads (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from gladia_cli.protocol.latency import format_lag
from gladia_cli.protocol.messages import (
    AnsweringMachine,
    PostTranscript,
    ServerMessage,
    SpeechEvent,
    Transcript,
    Utterance,
)
from gladia_cli.render.output import Output
from gladia_cli.safe_text import plain


@dataclass(frozen=True)
class Labels:
    """Channel names: `--label a,b,c`, else the source's (mix: file names), else ch0, ch1…"""

    names: tuple[str, ...] = ()
    channels: int = 1

    def __call__(self, channel: int) -> str:
        if channel < len(self.names):
            return self.names[channel]
        return f"ch{channel}"

    @property
    def shown(self) -> bool:
        """Whether a label is worth printing (several channels, or names given)."""
        return self.channels > 1 or bool(self.names)


@dataclass
class Entry:
    utterance_id: str
    utterance: Utterance
    is_final: bool
    turn_end: bool = False  # the speaker's turn ended with it (speech_turn_end)


TURN_MARK = "⏎"


def verdict_text(message: AnsweringMachine) -> str:
    """`answering machine (0.93)`: who picked up, and Gladia's score (a ranking, not a
    probability)."""
    who = "answering machine" if message.kind == "machine" else "a person answered"
    return f"{who} ({message.confidence:.2f})"


class TurnMarks:
    """Where a `speech_turn_end` marker goes: after the final of the turn it ends.

    The local server sends it after that final; Gladia may send it earlier, while the
    utterance is still open (a partial or speech_start seen since the channel's last final):
    then it waits for that final. `apply` returns the channels whose marker goes right
    after this message."""

    def __init__(self) -> None:
        self._open: dict[int, bool] = {}
        self._waiting: set[int] = set()

    def apply(self, message: ServerMessage) -> list[int]:
        if isinstance(message, Transcript):
            channel = message.utterance.channel
            if not message.is_final:
                self._open[channel] = True
                return []
            self._open[channel] = False
            if channel in self._waiting:
                self._waiting.discard(channel)
                return [channel]
            return []
        if isinstance(message, SpeechEvent):
            if message.type == "speech_start":
                self._open[message.channel] = True
            elif message.type == "speech_turn_end":
                if self._open.get(message.channel):
                    self._waiting.add(message.channel)
                    return []
                return [message.channel]
        return []

    def left(self) -> list[int]:
        """At the end: markers still waiting for a final that never came."""
        waiting, self._waiting = sorted(self._waiting), set()
        return waiting


class TranscriptBook:
    """Utterances as they arrive: a partial is replaced in place by later partials and by
    its final (they share `data.id`). `post_transcript`, when it comes, is authoritative."""

    def __init__(self) -> None:
        self._entries: dict[tuple[int, str], Entry] = {}
        self._post: tuple[Utterance, ...] | None = None
        self._marks = TurnMarks()
        self._last_final: dict[int, Entry] = {}
        self.turn_ends: set[tuple[int, float]] = set()  # (channel, end) of turn-ending finals

    def _mark(self, channels: list[int]) -> None:
        for channel in channels:
            entry = self._last_final.get(channel)
            if entry is not None:
                entry.turn_end = True
                self.turn_ends.add((channel, round(entry.utterance.end, 2)))

    def apply(self, message: ServerMessage) -> Entry | None:
        """Record a message; returns the entry it created or changed, if any."""
        marked = self._marks.apply(message)
        changed = self._apply(message)
        self._mark(marked)
        return changed

    def _apply(self, message: ServerMessage) -> Entry | None:
        if isinstance(message, Transcript):
            utterance = message.utterance
            clean = Utterance(
                text=plain(utterance.text).strip(),
                start=utterance.start,
                end=utterance.end,
                channel=utterance.channel,
                confidence=utterance.confidence,
                language=utterance.language,
                words=utterance.words,
            )
            key = (utterance.channel, message.utterance_id)
            if message.is_final and "recovered_from" in message.raw:
                self._drop_partials_under(clean)  # its own partials had another id
            entry = self._entries.get(key)
            if entry is not None and entry.is_final and not message.is_final:
                return None  # a late partial never overwrites its final
            entry = Entry(message.utterance_id, clean, message.is_final)
            self._entries[key] = entry
            if message.is_final:
                self._last_final[utterance.channel] = entry
            return entry
        if isinstance(message, PostTranscript):
            self._post = tuple(
                Utterance(
                    plain(u.text).strip(),
                    u.start,
                    u.end,
                    u.channel,
                    u.confidence,
                    u.language,
                    u.words,
                )
                for u in message.utterances
            )
        return None

    def _drop_partials_under(self, final: Utterance) -> None:
        """Forget the partials a final recovered at the end (protocol/reconcile.py) stands
        for: same channel, overlapping time."""
        for key, entry in list(self._entries.items()):
            u = entry.utterance
            overlaps = u.start < final.end and final.start < u.end
            if not entry.is_final and u.channel == final.channel and overlaps:
                del self._entries[key]

    @property
    def entries(self) -> list[Entry]:
        """In arrival order (the order the table shows them)."""
        return list(self._entries.values())

    def finals(self) -> list[Utterance]:
        """Every final utterance in time order: the server's own list once it sent it."""
        if self._post is not None:
            chosen = list(self._post)
        else:
            chosen = [e.utterance for e in self._entries.values() if e.is_final]
        return sorted((u for u in chosen if u.text), key=lambda u: (u.start, u.channel))


@dataclass
class StatusView:
    """What the status line shows; built by the job from the stream's statistics."""

    state: str = "connecting"
    session_id: str = ""
    sent_seconds: float = 0.0
    acked_seconds: float = 0.0
    reconnects: int = 0
    progress: float | None = None  # 0–1 for a file of known length
    note: str = ""
    # Seconds from sending the audio at the latest transcript's end to receiving it
    # (protocol/latency.py); None until one arrived.
    final_lag: float | None = None
    partial_lag: float | None = None

    def lag_text(self) -> str:
        """`lag 420 ms (partial 180 ms)`, or "" before any transcript."""
        parts = []
        if self.final_lag is not None:
            parts.append(f"lag {format_lag(self.final_lag)}")
        if self.partial_lag is not None:
            partial = f"partial {format_lag(self.partial_lag)}"
            parts.append(f"({partial})" if parts else f"lag {partial}")
        return " ".join(parts)


@dataclass
class SessionOutcome:
    """What a renderer gets at the end."""

    status: StatusView
    result: dict[str, Any] | None = None  # GET /v2/live/{id}, for renderers that ask for it
    live: bool = True  # False: a stored session shown again (no live status line then)


class NullRenderer:
    """Takes every event and shows nothing: the defaults a renderer overrides (and, as it
    is, the renderer of an output written only after the session)."""

    needs_result = False

    def start(self, session_id: str) -> None:
        pass

    def message(self, message: ServerMessage) -> None:
        pass

    def status(self, view: StatusView) -> None:
        pass

    def finish(self, outcome: SessionOutcome) -> None:
        pass

    def close(self) -> None:
        pass


class OutputRenderer(NullRenderer):
    """Defaults for renderers that write to an Output: override only what they react to."""

    def __init__(self, output: Output) -> None:
        self._output = output

    def close(self) -> None:
        self._output.close()


class RendererWrapper:
    """Hands every event to `inner`: the defaults of a renderer that adds to another
    (override only what it adds to)."""

    def __init__(self, inner: Renderer) -> None:
        self._inner = inner
        self.needs_result = inner.needs_result

    def start(self, session_id: str) -> None:
        self._inner.start(session_id)

    def message(self, message: ServerMessage) -> None:
        self._inner.message(message)

    def status(self, view: StatusView) -> None:
        self._inner.status(view)

    def finish(self, outcome: SessionOutcome) -> None:
        self._inner.finish(outcome)

    def close(self) -> None:
        self._inner.close()


class Renderer(Protocol):
    # Whether `finish` needs the session's result from `GET /v2/live/{id}`.
    needs_result: bool

    def start(self, session_id: str) -> None: ...

    def message(self, message: ServerMessage) -> None:
        """Called from the receiver thread for every server message, in order."""
        ...

    def status(self, view: StatusView) -> None:
        """Called a few times a second from the main thread."""
        ...

    def finish(self, outcome: SessionOutcome) -> None: ...

    def close(self) -> None:
        """Always called last, even after an error or an abort."""
        ...
