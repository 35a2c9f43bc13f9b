"""`--web` end to end: the real CLI streams a file to the local server and its session to
the caption page's event stream, read here with a plain HTTP client (the page itself, in a
browser: tests/e2e/test_web_page.py)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.background import Background
from tests.caption_session import meeting, write_recording
from tests.e2e.conftest import run_cli
from tests.sse_client import Event, SseStream
from tests.support import tone_bursts

RATE = 16000


def _streaming_wav_header(channels: int) -> bytes:
    """A WAV header whose sizes are "unknown", as `arecord` or `sox` write to a pipe."""
    unknown = 0xFFFFFFFF
    fmt = struct.pack("<HHIIHH", 1, channels, RATE, RATE * 2 * channels, 2 * channels, 16)
    return (
        b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", unknown)
    )  # fmt: skip


def _pcm(bursts: list[tuple[float, float, int]], total: float, channels: int = 2) -> bytes:
    audio: np.ndarray = tone_bursts(bursts, total=total, channels=channels)
    return audio.tobytes()


def _messages(lines: str) -> list[str]:
    return [line for line in lines.splitlines() if line.strip()]


def test_the_page_gets_the_session_as_stdout_does_and_resumes_after_an_id() -> None:
    cli = Background(
        "file", "-", "--local", "--local-engine", "scripted", "--pace", "max",
        "--format", "jsonl", "--label", "Ann,Bob", "--web", stdin=True,
    )  # fmt: skip
    cli.stdin.write(_streaming_wav_header(2))  # the file is opened (read) before the page
    cli.stdin.flush()
    url = cli.page_url()
    assert url.startswith("http://127.0.0.1:") and "token" not in url
    first = SseStream(url + "events")
    (session,) = first.take(1)
    assert session.name == "session"
    assert session.json["labels"] == ["Ann", "Bob"] and session.json["channels"] == 2
    assert session.json["labelled"] is True and session.json["session_id"]

    # Ann speaks; her final comes through the page's stream.
    cli.stdin.write(_pcm([(0.2, 1.2, 0)], total=2.5))
    cli.stdin.flush()
    seen: list[Event] = []
    while not any(e.json["type"] == "transcript" and e.json["data"]["is_final"] for e in seen):
        seen += first.take(1)
    # A page that reloads now (Last-Event-ID: the last event it had) gets only the rest.
    reloaded_at = seen[-1].id
    second = SseStream(url + "events", last_event_id=reloaded_at)
    cli.stdin.write(_pcm([(0.3, 1.2, 1)], total=2.5))
    cli.stdin.close()
    seen += first.rest()  # until the CLI ends the stream, at the end of the session
    resumed = second.rest()
    run = cli.finish()
    assert run.code == 0, run.stderr

    # The messages: exactly stdout's jsonl lines, in order (a partial may be skipped when a
    # later one replaced it before it was sent), then the end.
    assert seen[-1].name == "end" and seen[-1].json["state"] == "done"
    streamed = [e.data for e in seen if e.name == "message"]
    written = _messages(run.stdout)
    assert [m for m in written if m in streamed] == streamed
    skipped = [json.loads(m) for m in written if m not in streamed]
    assert all(m["type"] == "transcript" and not m["data"]["is_final"] for m in skipped)
    finals = [json.loads(m)["data"]["utterance"] for m in streamed if '"is_final":true' in m]
    assert [u["channel"] for u in finals] == [0, 1]

    # The resumed stream: what came after that id and nothing before, the end included.
    assert all(_seq(e.id) > _seq(reloaded_at) for e in resumed)
    later = [e.id for e in seen if _seq(e.id) > _seq(reloaded_at) and not _partial(e)]
    assert [e.id for e in resumed if not _partial(e)] == later
    assert resumed[-1].name == "end" and any(_final(e) for e in resumed)


def _seq(event_id: str) -> int:
    return int(event_id.rsplit("-", 1)[1])


def _partial(event: Event) -> bool:
    return event.name == "message" and event.json.get("data", {}).get("is_final") is False


def _final(event: Event) -> bool:
    return event.name == "message" and event.json.get("data", {}).get("is_final") is True


def test_beyond_loopback_the_address_carries_a_token(tmp_path: Path) -> None:
    recording = write_recording(tmp_path / "s.jsonl", meeting(), labels=["Ann", "Bob"], hold=3600)
    token = "room-screen-token-0123"
    cli = Background(
        "replay", str(recording), "--web-host", "127.0.0.1", "-f", "jsonl",
        env={"GLADIA_WEB_TOKEN": token},
    )  # fmt: skip
    url = cli.page_url()
    assert url.endswith(f"/?token={token}")
    base = url.split("?")[0]
    assert SseStream(base + "events").status == 403
    assert SseStream(base + f"events?token={token}x").status == 403
    stream = SseStream(base + f"events?token={token}")
    assert stream.status == 200 and stream.take(1)[0].name == "session"
    stream.close()
    cli.interrupt()
    run = cli.finish()
    assert run.code == 130, run.stderr  # a replay stopped by Ctrl-C


def test_quiet_still_prints_the_page_address() -> None:
    cli = Background(
        "file", "-", "--local", "--local-engine", "scripted", "--pace", "max",
        "--format", "jsonl", "--quiet", "--web", stdin=True,
    )  # fmt: skip
    cli.stdin.write(_streaming_wav_header(1))
    cli.stdin.flush()
    url = cli.page_url()
    stream = SseStream(url + "events")
    stream.take(1)
    cli.stdin.write(_pcm([(0.2, 1.0, 0)], total=2.0, channels=1))
    cli.stdin.close()
    stream.rest()
    run = cli.finish()
    assert run.code == 0, run.stderr
    assert run.stderr == f"gladia: caption page: {url}\n"  # no viewer notice, no summary


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["file", "a.wav", "b.wav", "--web"], {}, "--web shows one session"),
        (["replay", "REC", "--web", "--speed", "max"], {}, "--speed max would end it at once"),
        (
            ["replay", "REC", "--web-host", "0.0.0.0"],
            {"GLADIA_WEB_TOKEN": "short"},
            "GLADIA_WEB_TOKEN must be 16 to 128",
        ),
        (["replay", "REC", "--web-host", " "], {}, "--web-host is empty"),
    ],
)
def test_web_options_that_cannot_work_are_refused(
    args: list[str], env: dict[str, str], needle: str, tmp_path: Path
) -> None:
    recording = write_recording(tmp_path / "s.jsonl", meeting(), labels=["Ann", "Bob"])
    for name in ("a.wav", "b.wav"):
        (tmp_path / name).write_bytes(_streaming_wav_header(1))
    args = [str(recording) if a == "REC" else str(tmp_path / a) if a.endswith(".wav") else a
            for a in args]  # fmt: skip
    run = run_cli(*args, env=env)
    assert run.code == 2, run.stderr
    assert needle in run.stderr and "Traceback" not in run.stderr
    assert "caption page: http" not in run.stderr  # refused before anything was served


def test_a_web_port_in_use_is_a_usage_error_before_the_session(tmp_path: Path) -> None:
    recording = write_recording(tmp_path / "s.jsonl", meeting(), labels=["Ann", "Bob"], hold=3600)
    first = Background("replay", str(recording), "--web", "-f", "jsonl")
    port = first.page_url().rsplit(":", 1)[1].strip("/")
    run = run_cli("replay", str(recording), "--web-port", port, "-f", "jsonl")
    first.interrupt()
    first.finish()
    assert run.code == 2, run.stderr
    assert f"cannot serve the caption page on 127.0.0.1:{port}" in run.stderr
    assert "choose another --web-port" in run.stderr
    assert run.stdout == ""  # nothing replayed
