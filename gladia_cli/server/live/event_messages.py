"""What a session says, as Gladia message dicts: engine events and acknowledgments (no I/O).

Engine events in (speech start and end, partial and final hypotheses, per channel),
messages out. `EventMessages` numbers each channel's utterances (`01_00000003`: channel,
then count) and knows which one is open (its speech_start mapped, its final not yet), so a
late partial that lost the race with its final can be dropped. The session sends the
messages, keeps the finals and feeds them to the add-ons; timestamps come from the `now`
it injects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.messages import build_message
from gladia_cli.server.live.ingest import Received
from gladia_cli.server.recognition.engines.base import Hypothesis, SpeechEnded, SpeechStarted
from gladia_cli.server.recognition.transcriber import ChannelEvent
from gladia_cli.server.recognition.utterances import utterance_of

STOPPED_CHUNK = "Recording is stopped, audio chunk ignored"
ALREADY_STOPPED = "Recording is already stopped"

Message = dict[str, Any]


class EventMessages:
    """`turn_ends`: the session asked for `end_of_turn`; each utterance that its endpointing
    closed (not one cut at the maximum duration) is followed by `speech_turn_end`, after its
    final (protocol.md §11: `data: {time, channel}` as speech_end, inferred). The local
    server ends turns on silence: the semantic parameters are accepted, not acted on."""

    def __init__(
        self, session_id: str, language: str, now: Callable[[], str], *, turn_ends: bool = False
    ) -> None:
        self._session_id = session_id
        self._turn_ends = turn_ends
        self._language = language  # reported when the engine names none
        self._now = now
        self._counts: dict[int, int] = {}
        self._open_id: dict[int, str] = {}
        self._open_start: dict[int, float] = {}  # start of each channel's open utterance

    def messages(self, events: Iterable[ChannelEvent]) -> list[Message]:
        out = []
        turn_ended: dict[int, float] = {}  # channel → its turn's end, until its final is out
        for channel, event in events:
            if isinstance(event, SpeechStarted):
                count = self._counts.get(channel, 0)
                self._counts[channel] = count + 1
                self._open_id[channel] = f"{channel:02d}_{count:08d}"
                self._open_start[channel] = event.time
                out.append(self._speech("speech_start", event.time, channel))
            elif isinstance(event, SpeechEnded):
                out.append(self._speech("speech_end", event.time, channel))
                if self._turn_ends and event.turn_end:
                    turn_ended[channel] = event.time
            elif isinstance(event, Hypothesis):
                if event.is_final:
                    self._open_start.pop(channel, None)
                out.append(self._transcript(channel, event))
                if event.is_final and channel in turn_ended:
                    out.append(self._speech("speech_turn_end", turn_ended.pop(channel), channel))
        # An utterance with no final (noise): its turn still ended. Engines report the end
        # of speech and the final together, so nothing is left for a later batch.
        for channel, time in turn_ended.items():
            out.append(self._speech("speech_turn_end", time, channel))
        return out

    def is_open(self, channel: int, hypothesis: Hypothesis) -> bool:
        """Whether `hypothesis` belongs to `channel`'s open utterance (a late partial that
        does not is stale: its final was already sent)."""
        return self._open_start.get(channel) == hypothesis.start

    def _speech(self, message_type: str, time: float, channel: int) -> Message:
        data = {"time": round(time, 3), "channel": channel}
        return build_message(message_type, self._session_id, self._now(), data=data)

    def _transcript(self, channel: int, hyp: Hypothesis) -> Message:
        utterance_id = self._open_id.get(channel, f"{channel:02d}_00000000")
        data = {
            "id": utterance_id,
            "is_final": hyp.is_final,
            # The language recognised (detection, code switching), when the engine says.
            "utterance": utterance_of(channel, hyp, hyp.language or self._language),
        }
        return build_message("transcript", self._session_id, self._now(), data=data)


def final_utterance(message: Message) -> tuple[str, dict[str, Any]] | None:
    """(utterance id, utterance) when `message` is a final transcript, else None."""
    data = message.get("data")
    if message["type"] != "transcript" or not isinstance(data, dict) or not data["is_final"]:
        return None
    return str(data["id"]), data["utterance"]


def chunk_acknowledgment(
    session_id: str, at: str, received: Received | None, *, header: int, fmt: AudioFormat
) -> Message:
    """The `audio_chunk` answer: the chunk's place on the session stream (bytes from the
    first sent, the RIFF header included; seconds of audio, the header excluded), or a
    refusal (`received` None) once recording has stopped."""
    if received is None:
        return build_message(
            "audio_chunk",
            session_id,
            at,
            acknowledged=False,
            error={"message": STOPPED_CHUNK},
            data=None,
        )
    audio_start = max(0, received.start - header)
    audio_end = max(0, received.end - header)
    bps = fmt.bytes_per_second
    return build_message(
        "audio_chunk",
        session_id,
        at,
        acknowledged=True,
        error=None,
        data={
            "byte_range": [received.start, received.end],
            "time_range": [round(audio_start / bps, 6), round(audio_end / bps, 6)],
        },
    )


def stop_acknowledgment(
    session_id: str, at: str, *, recording: bool, duration: float, left_to_process: float
) -> Message:
    """The `stop_recording` answer: accepted while recording, refused after."""
    if not recording:
        return build_message(
            "stop_recording",
            session_id,
            at,
            acknowledged=False,
            error={"message": ALREADY_STOPPED},
            data=None,
        )
    return build_message(
        "stop_recording",
        session_id,
        at,
        acknowledged=True,
        error=None,
        data={
            "recording_duration": round(duration, 3),
            "recording_left_to_process": round(left_to_process, 3),
        },
    )
