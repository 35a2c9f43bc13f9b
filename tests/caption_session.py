"""Gladia messages for the caption tests, and a `--record` file made of them for `replay`:
what a two-person session with partials, finals and French translations sends
(protocol.md §3.5.1, §3.5.6), with server text that tries to be markup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SESSION_ID = "5e55-c4p7-10n5"
CREATED = "2026-03-02T10:15:00.000Z"
# Text a page must show as text: markup, an event handler, a script.
INJECTED = """<img src=x onerror="document.title='pwned'"><script>document.title='pwned'</script>"""


def utterance(text: str, start: float, channel: int, language: str = "en") -> dict[str, Any]:
    return {
        "text": text,
        "start": start,
        "end": start + 1.0,
        "confidence": 0.9,
        "channel": channel,
        "language": language,
        "words": [],
    }


def transcript(
    uid: str, text: str, *, final: bool, start: float = 0.0, channel: int = 0
) -> dict[str, Any]:
    return {
        "type": "transcript",
        "session_id": SESSION_ID,
        "created_at": CREATED,
        "data": {"id": uid, "is_final": final, "utterance": utterance(text, start, channel)},
    }


def translation(
    uid: str,
    text: str,
    original: str,
    *,
    language: str = "fr",
    start: float = 0.0,
    channel: int = 0,
) -> dict[str, Any]:
    return {
        "type": "translation",
        "session_id": SESSION_ID,
        "created_at": CREATED,
        "error": None,
        "data": {
            "utterance_id": uid,
            "original_language": "en",
            "target_language": language,
            "utterance": utterance(original, start, channel),
            "translated_utterance": utterance(text, start, channel, language),
        },
    }


def meeting() -> list[dict[str, Any]]:
    """Bob (channel 1) and Ann (0). Bob's first final is markup; then Ann's first utterance
    grows through two partials to its final; Bob's last utterance is still a partial. Every
    final of Ann's and Bob's first are translated into French."""
    ann1, ann2 = " Good morning, everyone.", " Let's start with the budget."
    bob1 = f" Look: {INJECTED} done."
    return [
        transcript("01_1", bob1, final=True, start=0.1, channel=1),
        translation("01_1", f" Regardez : {INJECTED} fini.", bob1, start=0.1, channel=1),
        transcript("00_1", " Good", final=False, start=1.2),
        transcript("00_1", " Good morning every", final=False, start=1.2),
        transcript("00_1", ann1, final=True, start=1.2),
        translation("00_1", " Bonjour à tous.", ann1, start=1.2),
        transcript("00_2", ann2, final=True, start=2.6),
        translation("00_2", " Commençons par le budget.", ann2, start=2.6),
        transcript("01_2", " I think we", final=False, start=4.0, channel=1),
    ]


LAST_OF_MEETING = "I think we"  # the text of its last message


def write_recording(
    path: Path,
    messages: list[dict[str, Any]],
    *,
    labels: list[str],
    session_id: str = SESSION_ID,
    hold: float | None = None,
) -> Path:
    """A `--record` file: the messages 10 ms apart, and, with `hold`, one more (an
    end_session) `hold` seconds in, so that `replay --speed 1` stays up until then."""
    header = {
        "gladia_recording": 1,
        "session_id": session_id,
        "channels": len(labels),
        "labels": labels,
    }
    timed = [(0.01 * index, message) for index, message in enumerate(messages)]
    if hold is not None:
        end = {"type": "end_session", "session_id": session_id, "created_at": CREATED, "data": {}}
        timed.append((hold, end))
    lines = [json.dumps(header)]
    for at, message in timed:
        text = json.dumps(
            {**message, "session_id": session_id}, ensure_ascii=False, separators=(",", ":")
        )
        lines.append(f'{{"t":{at:.3f},"message":{text}}}')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
