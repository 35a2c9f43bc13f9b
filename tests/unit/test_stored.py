"""A stored session as messages (render/stored.py), played through a renderer (playback.py)."""

from __future__ import annotations

import io
from typing import Any

import pytest

from gladia_cli.errors import NetworkError, UsageError
from gladia_cli.protocol.messages import Transcript
from gladia_cli.render.base import Labels
from gladia_cli.render.output import Output
from gladia_cli.render.playback import play
from gladia_cli.render.stored import labels_of, stored_channels, stored_messages
from gladia_cli.render.text import TextRenderer


def _session(**extra: Any) -> dict[str, Any]:
    utterances = [
        {"text": " later", "start": 2.0, "end": 3.0, "channel": 1},
        {"text": " first\x1b[31m", "start": 0.5, "end": 1.0, "channel": 0},
    ]
    return {
        "id": "abc",
        "status": "done",
        "file": {"number_of_channels": 2, "audio_duration": 3.0},
        "result": {
            "transcription": {"utterances": utterances},
            "summarization": {"success": True, "results": "short"},
        },
        **extra,
    }


def test_utterances_become_finals_in_time_order_then_the_result() -> None:
    messages = stored_messages(_session())
    finals = [m for m in messages if isinstance(m, Transcript)]
    assert [m.utterance.start for m in finals] == [0.5, 2.0] and all(m.is_final for m in finals)
    assert messages[-1].type == "post_final_transcript"


def test_played_through_the_text_renderer() -> None:
    out = io.StringIO()
    renderer = TextRenderer(Output(out), Labels(("a", "b"), 2))
    play(renderer, ((0.0, m) for m in stored_messages(_session())), session_id="abc")
    assert out.getvalue() == "[a] first[31m\n[b] later\n\n## Summary\nshort\n"


def test_no_result_and_label_counts() -> None:
    with pytest.raises(NetworkError, match="has no transcript"):
        stored_messages(_session(status="processing", result=None))
    assert stored_channels(_session()) == 2
    assert stored_channels({"result": _session()["result"]}) == 2  # from the utterances
    assert labels_of("x, y", 2) == Labels(("x", "y"), 2)
    with pytest.raises(UsageError, match="names 3 channels but the session has 2"):
        labels_of("x,y,z", 2)
