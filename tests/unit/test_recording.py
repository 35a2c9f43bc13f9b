"""`--record` files (recording.py) and paced playback (render/playback.py), no sockets."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gladia_cli.cli.replay_cmd import parse_speed
from gladia_cli.errors import UsageError
from gladia_cli.protocol.messages import parse_server_message
from gladia_cli.recording import RecordingWriter, read_recording, secrets_of
from gladia_cli.render.base import Labels
from gladia_cli.render.output import Output
from gladia_cli.render.playback import play
from gladia_cli.render.text import TextRenderer

URL = "ws://127.0.0.1:5/v2/live?token=s3cr3t-t0ken-abcdef"
FINAL = (
    '{"type": "transcript", "data": {"id": "1", "is_final": true, '
    '"utterance": {"text": " hello", "start": 0.5, "end": 1.0, "channel": 1}}}'
)


def _write(path: Path, lines: list[str], times: list[float]) -> None:
    clock = iter([0.0, *times])
    writer = RecordingWriter(
        path.open("w"), secrets=secrets_of("the-api-key-123", URL), clock=lambda: next(clock)
    )
    writer.header(session_id="abc", channels=2, labels=["host", "guest"])
    for text in lines:
        writer.message(parse_server_message(text))
    writer.close()


def test_a_recording_keeps_each_frame_verbatim_with_its_time(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    _write(path, [FINAL, '{"type": "end_session"}'], [0.25, 1.5])
    recording = read_recording(path)
    assert (recording.session_id, recording.channels, recording.labels) == (
        "abc",
        2,
        ("host", "guest"),
    )
    assert [(t, m.text) for t, m in recording.messages] == [
        (0.25, FINAL),
        (1.5, '{"type": "end_session"}'),
    ]
    assert not recording.cut_short


def test_the_key_and_the_token_are_never_written(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    leaky = f'{{"type": "error", "error": {{"message": "bad {URL} and the-api-key-123"}}}}'
    _write(path, [leaky], [0.1])
    text = path.read_text()
    assert "s3cr3t-t0ken-abcdef" not in text and "the-api-key-123" not in text
    assert "127.0.0.1:5" not in text and "[redacted]" in text
    assert read_recording(path).messages[0][1].type == "error"  # still a valid message


def test_a_recording_cut_short_keeps_what_came_before(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    _write(path, [FINAL], [0.2])
    path.write_text(path.read_text() + '{"t":0.3,"message":{"type":"trans')
    recording = read_recording(path)
    assert recording.cut_short and len(recording.messages) == 1
    (tmp_path / "bad.jsonl").write_text('{"not": "a header"}\n')
    with pytest.raises(UsageError, match="not a gladia recording"):
        read_recording(tmp_path / "bad.jsonl")


def test_playback_waits_by_the_recorded_times_divided_by_the_speed() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    out = io.StringIO()
    messages = [(2.0, parse_server_message(FINAL)), (6.0, parse_server_message(FINAL))]
    renderer = TextRenderer(Output(out), Labels(("a", "b"), 2))
    play(renderer, messages, session_id="abc", speed=4.0, clock=lambda: now[0], sleep=sleep)
    assert slept == [0.5, 1.0]
    assert out.getvalue() == "[b] hello\n[b] hello\n"


def test_speed_values() -> None:
    assert (parse_speed("1"), parse_speed("4x"), parse_speed("max")) == (1.0, 4.0, None)
    with pytest.raises(UsageError, match="--speed"):
        parse_speed("fast")
