"""Conformance: Gladia's official Python SDK, as a client of `gladia serve`."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.server.audio import AUDIO
from tests.support import serve_process

sdk = pytest.importorskip("gladiaio_sdk")


def test_the_official_sdk_streams_to_gladia_serve() -> None:
    with serve_process("--engine", "scripted") as url:
        client = sdk.GladiaClient(api_key="any-key", api_url=url)
        live = client.live_v2()
        messages: list[Any] = []
        ended: list[Any] = []
        errors: list[Exception] = []
        done = threading.Event()
        session = live.start_session(
            {
                "encoding": "wav/pcm",
                "sample_rate": 16000,
                "bit_depth": 16,
                "channels": 1,
                "messages_config": {"receive_partial_transcripts": True},
            }
        )
        session.on("message", messages.append)
        session.on("error", errors.append)

        def on_ended(message: Any) -> None:
            ended.append(message)
            done.set()

        session.on("ended", on_ended)
        assert session.wait_until_ready(10)
        for start in range(0, len(AUDIO), 3200):
            session.send_audio(AUDIO[start : start + 3200])
        session.stop_recording()
        assert done.wait(20), "the SDK never saw the session end"

        assert not errors
        assert ended[0].code == 1000
        types = [m.type for m in messages]
        finals = [m for m in messages if m.type == "transcript" and m.data.is_final]
        partials = [m for m in messages if m.type == "transcript" and not m.data.is_final]
        assert len(finals) == 3 and partials
        assert all(f.data.utterance.text.strip() for f in finals)
        assert "post_final_transcript" in types
        final = next(m for m in messages if m.type == "post_final_transcript")
        assert final.data.metadata.audio_duration == pytest.approx(4.0)

        result = live.get(session.session_id)
        assert result.status == "done"
        assert result.result.metadata.number_of_distinct_channels == 1
        audio = live.get_file(session.session_id)
        assert audio[:4] == b"RIFF" and audio[44:] == AUDIO
        listed = live.list({"limit": 5})
        assert any(item.id == session.session_id for item in listed.items)
        assert live.delete(session.session_id)


def test_the_official_sdk_reads_every_add_on_message(tmp_path: Any) -> None:
    """The add-ons' messages (real models) parse as the SDK's typed messages, extra keys
    (entities' start_char / end_char) kept as unknown fields."""
    script = tmp_path / "script.txt"
    script.write_text(
        "Hi Anna, this is John Smith.\nI love this plan.\nThis delay is terrible.\n",
        encoding="utf-8",
    )
    with serve_process("--engine", "scripted", "--script", str(script)) as url:
        live = sdk.GladiaClient(api_key="any-key", api_url=url).live_v2()
        messages: list[Any] = []
        errors: list[Exception] = []
        done = threading.Event()
        session = live.start_session(
            {
                "encoding": "wav/pcm",
                "sample_rate": 16000,
                "bit_depth": 16,
                "channels": 1,
                "realtime_processing": {
                    "named_entity_recognition": True,
                    "sentiment_analysis": True,
                    "translation": True,
                    "translation_config": {"target_languages": ["en"]},
                },
                "post_processing": {"summarization": True},
            }
        )
        session.on("message", messages.append)
        session.on("error", errors.append)
        session.on("ended", lambda message: done.set())
        assert session.wait_until_ready(10)
        for start in range(0, len(AUDIO), 3200):
            session.send_audio(AUDIO[start : start + 3200])
        session.stop_recording()
        assert done.wait(60), "the SDK never saw the session end"
    assert not errors
    by_type: dict[str, list[Any]] = {}
    for message in messages:
        by_type.setdefault(message.type, []).append(message)
    (names,) = [m for m in by_type["named_entity_recognition"] if m.data.results]
    assert [(r.entity_type, r.text) for r in names.data.results] == [
        ("NAME_GIVEN", "Anna"),
        ("NAME_GIVEN", "John"),
        ("NAME_FAMILY", "Smith"),
    ]
    text = names.data.utterance.text
    assert [text[r.start_char : r.end_char] for r in names.data.results] == [
        "Anna",
        "John",
        "Smith",
    ]
    feelings = [m.data.results[0].sentiment for m in by_type["sentiment_analysis"]]
    assert feelings == ["neutral", "positive", "negative"]
    translated = [m.data.translated_utterance.text for m in by_type["translation"]]
    assert translated == [
        " Hi Anna, this is John Smith.",
        " I love this plan.",
        " This delay is terrible.",
    ]
    (summary,) = by_type["post_summarization"]
    assert summary.data.results.strip()
