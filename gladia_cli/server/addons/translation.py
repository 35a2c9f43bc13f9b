"""Translation of utterances, offline: into English, by Whisper's translate task.

Whisper can translate the speech of any language it knows into English, and only into
English; no other offline translation model is installable from PyPI here. So target `en`
is served from the utterance's own audio (its channel, its time range, read back from the
session's stored stream) by the whisper engine's model, as a background decode behind every
transcript (decode_queue.py). Any other target, or a server whose engine cannot translate
(sphinx, scripted, Whisper tiny.en), is answered with the add-on error shape saying what is
possible offline. An utterance already in the target language is its own translation (no
model needed, whatever the engine).

Shapes: protocol.md §3.5.6 (`translation` message) and, in post_final_transcript and GET,
a container whose results are one entry per target language (Gladia's pre-recorded
translation result: `error`, `full_transcript`, `languages`, `utterances`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from gladia_cli.protocol.audio_format import AudioFormat

OFFLINE_TARGET = "en"
ONLY_ENGLISH = "only target English (en) is available offline"
NEEDS_WHISPER = "translation needs the whisper engine with its multilingual model (base)"
ENGINE_RATE = 16000

Floats = npt.NDArray[np.float32]
# (session id, channel, 16 kHz mono audio, its language) → the English text.
Translate = Callable[[str, int, Floats, str], str]


def target_problem(target: str, translate: Translate | None) -> str | None:
    """Why `target` cannot be served here, or None."""
    if target != OFFLINE_TARGET:
        return f"{ONLY_ENGLISH}, not {target!r}"
    if translate is None:
        return NEEDS_WHISPER
    return None


def channel_audio(raw: bytes, fmt: AudioFormat, channel: int) -> Floats:
    """One channel of raw session audio (whole frames), as 16 kHz float32 for Whisper."""
    from gladia_cli.audio.codecs import decode

    usable = len(raw) - len(raw) % fmt.frame_bytes
    frames = decode(raw[:usable], fmt)
    mono = frames[:, channel].astype(np.float32) / 32768.0
    if fmt.sample_rate != ENGINE_RATE and len(mono):
        import soxr

        mono = soxr.resample(mono, fmt.sample_rate, ENGINE_RATE).astype(np.float32)
    return mono


def stream_range(fmt: AudioFormat, header: int, start: float, end: float) -> tuple[int, int]:
    """Byte offset and length in the session stream of the audio from `start` to `end` s."""
    first = max(0, int(start * fmt.sample_rate))
    last = max(first, int(np.ceil(end * fmt.sample_rate)))
    return header + first * fmt.frame_bytes, (last - first) * fmt.frame_bytes


def translated_utterance(utterance: dict[str, Any], text: str, target: str) -> dict[str, Any]:
    """The utterance in `target`: same times, channel and confidence; no word times (the
    translated words were not spoken)."""
    return {
        **utterance,
        "text": " " + text.strip() if text.strip() else "",
        "language": target,
        "words": [],
    }


def message_data(
    utterance_id: str, utterance: dict[str, Any], translated: dict[str, Any], target: str
) -> dict[str, Any]:
    return {
        "utterance_id": utterance_id,
        "utterance": utterance,
        "original_language": utterance["language"],
        "target_language": target,
        "translated_utterance": translated,
    }
