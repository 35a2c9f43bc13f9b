"""Render messages that are already known (a stored session, a recording) through the same
renderers as a live run, optionally at the pace they arrived."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from gladia_cli.protocol.messages import AudioChunkAck, ServerMessage
from gladia_cli.render.base import Renderer, SessionOutcome, StatusView
from gladia_cli.render.output import OutputClosed

TimedMessage = tuple[float, ServerMessage]  # seconds since the session started, message


def play(
    renderer: Renderer,
    messages: Iterable[TimedMessage],
    *,
    session_id: str,
    speed: float | None = None,
    result: dict[str, Any] | None = None,
    audio_seconds: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    live: bool = True,
) -> None:
    """Feed `messages` to `renderer`, then finish and close it. `speed` None: at once (the
    live table is not drawn); else at `speed` times the pace they were received at.
    A reader of stdout that goes away (`| head`) ends it quietly. `audio_seconds`: the
    session's audio, for the status line (else: as far as the acknowledgments go).
    `live` False: a stored session, shown without the status line a live run ends with."""
    view = StatusView(state="replaying", session_id=session_id)
    began = clock()
    try:
        if speed is not None:
            renderer.start(session_id)
        for at, message in messages:
            if speed is not None:
                wait = began + at / speed - clock()
                if wait > 0:
                    renderer.status(view)
                    sleep(wait)
            if isinstance(message, AudioChunkAck) and message.time_range is not None:
                audio_seconds = max(audio_seconds, message.time_range[1])
            if speed is not None:
                view = StatusView(
                    state="replaying",
                    session_id=session_id,
                    sent_seconds=audio_seconds,
                    acked_seconds=audio_seconds,
                    note=f"at {at:.1f} s",
                )
            renderer.message(message)
        done = StatusView(
            state="done",
            session_id=session_id,
            sent_seconds=audio_seconds,
            acked_seconds=audio_seconds,
        )
        renderer.status(done)
        renderer.finish(SessionOutcome(status=done, result=result, live=live))
    except OutputClosed:
        return
    finally:
        renderer.close()
