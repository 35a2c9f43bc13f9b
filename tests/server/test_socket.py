"""The live WebSocket of the local server, over real HTTP and WebSocket on port 0."""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator

import pytest

from gladia_cli.server.runner import LocalServer
from tests.server.audio import AUDIO
from tests.support import (
    RawClient,
    create_session,
    get_session,
    local_server,
    stored_audio,
    tone_bursts,
)

# Three tone bursts: the scripted engine hears three utterances.


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def _run(
    server: LocalServer, body: dict | None = None, audio: bytes = AUDIO
) -> tuple[dict, RawClient]:
    created = create_session(server.url, body)
    client = RawClient(created["url"])
    client.send_audio(audio)
    client.stop()
    client.read_until_closed()
    return created, client


def test_acknowledgments_are_session_wide_and_half_open(server: LocalServer) -> None:
    created, client = _run(server)
    acks = client.received.of_type("audio_chunk")
    assert len(acks) == len(AUDIO) // 3200
    assert acks[0]["data"] == {"byte_range": [0, 3200], "time_range": [0.0, 0.1]}
    for before, after in itertools.pairwise(acks):
        assert after["data"]["byte_range"][0] == before["data"]["byte_range"][1]
    assert acks[-1]["data"]["byte_range"][1] == len(AUDIO)
    assert all(a["acknowledged"] is True and a["error"] is None for a in acks)
    assert all(a["session_id"] == created["id"] for a in acks)


def test_the_end_sequence_and_close_1000(server: LocalServer) -> None:
    created, client = _run(server, {"messages_config": {"receive_lifecycle_events": True}})
    types = [t for t in client.received.types if t != "audio_chunk"]
    tail = ["end_recording", "post_transcript", "post_final_transcript", "end_session"]
    assert types[-4:] == tail
    assert types[0] == "start_recording"
    assert types.index("stop_recording") < types.index("end_recording")
    assert client.received.close_code == 1000
    finals = [m for m in client.received.of_type("transcript") if m["data"]["is_final"]]
    assert len(finals) == 3
    final = client.received.of_type("post_final_transcript")[0]["data"]
    assert final["metadata"]["audio_duration"] == pytest.approx(4.0)
    assert final["metadata"]["billing_time"] == pytest.approx(4.0)
    assert len(final["transcription"]["utterances"]) == 3
    stop = client.received.of_type("stop_recording")[0]
    assert stop["acknowledged"] is True and stop["data"]["recording_duration"] == pytest.approx(4.0)
    session = get_session(server.url, created["id"])
    assert session["status"] == "done" and session["completed_at"]


def test_utterances_carry_every_required_field(server: LocalServer) -> None:
    _, client = _run(server)
    for message in client.received.of_type("transcript"):
        assert message["data"]["id"].startswith("00_")
        utterance = message["data"]["utterance"]
        assert set(utterance) >= {
            "text",
            "start",
            "end",
            "confidence",
            "channel",
            "language",
            "words",
        }
        assert utterance["text"].startswith(" ")
        for word in utterance["words"]:
            assert set(word) == {"word", "start", "end", "confidence"} and word["word"].startswith(
                " "
            )


def test_base64_json_chunks_are_the_same_as_binary(server: LocalServer) -> None:
    created = create_session(server.url)
    client = RawClient(created["url"])
    for start in range(0, len(AUDIO), 3200):
        chunk = base64.b64encode(AUDIO[start : start + 3200]).decode()
        client.send_json({"type": "audio_chunk", "data": {"chunk": chunk}})
    client.stop()
    client.read_until_closed()
    assert client.received.close_code == 1000
    assert stored_audio(server.url, created["id"]) == AUDIO
    assert len(client.received.of_type("audio_chunk")) == len(AUDIO) // 3200


def test_a_leading_wav_header_is_recognised_and_not_stored_as_audio(server: LocalServer) -> None:
    from gladia_cli.audio.wav import wav_header
    from gladia_cli.protocol.audio_format import AudioFormat

    header = wav_header(AudioFormat(), len(AUDIO))
    created, client = _run(server, audio=header + AUDIO)
    assert stored_audio(server.url, created["id"]) == AUDIO
    acks = client.received.of_type("audio_chunk")
    assert acks[-1]["data"]["byte_range"][1] == len(header) + len(AUDIO)  # client bytes
    assert acks[-1]["data"]["time_range"][1] == pytest.approx(4.0)  # audio seconds


FLAGS = {
    "receive_partial_transcripts": lambda m: (
        m["type"] == "transcript" and not m["data"]["is_final"]
    ),
    "receive_final_transcripts": lambda m: m["type"] == "transcript" and m["data"]["is_final"],
    "receive_speech_events": lambda m: m["type"] in ("speech_start", "speech_end"),
    "receive_realtime_processing_events": lambda m: (
        m["type"] in ("named_entity_recognition", "sentiment_analysis", "translation")
    ),
    "receive_post_processing_events": lambda m: (
        m["type"]
        in ("post_transcript", "post_final_transcript", "post_summarization", "post_chapterization")
    ),
    "receive_acknowledgments": lambda m: m["type"] in ("audio_chunk", "stop_recording"),
    "receive_lifecycle_events": lambda m: (
        m["type"] in ("start_recording", "end_recording", "end_session", "start_session")
    ),
}
ADDONS = {
    "realtime_processing": {"named_entity_recognition": True, "sentiment_analysis": True},
    "post_processing": {"summarization": True, "chapterization": True},
}


@pytest.mark.parametrize("flag", sorted(FLAGS))
def test_each_messages_config_flag_gates_its_messages(server: LocalServer, flag: str) -> None:
    everything = {name: True for name in FLAGS}
    _, on = _run(server, {**ADDONS, "messages_config": everything})
    _, off = _run(server, {**ADDONS, "messages_config": {**everything, flag: False}})
    assert any(FLAGS[flag](m) for m in on.received.messages), f"{flag} on: nothing to gate"
    assert not any(FLAGS[flag](m) for m in off.received.messages), f"{flag} off: still sent"
    assert off.received.close_code == 1000


def test_gladia_defaults_no_partials_no_lifecycle(server: LocalServer) -> None:
    _, client = _run(server)
    assert not any(FLAGS["receive_partial_transcripts"](m) for m in client.received.messages)
    assert not any(FLAGS["receive_lifecycle_events"](m) for m in client.received.messages)
    assert any(FLAGS["receive_speech_events"](m) for m in client.received.messages)


def test_addons_messages_and_results(server: LocalServer) -> None:
    created, client = _run(
        server,
        {
            **ADDONS,
            "realtime_processing": {
                **ADDONS["realtime_processing"],
                "translation": True,
                "translation_config": {"target_languages": ["fr", "de"]},
            },
        },
    )
    types = client.received.types
    assert types.count("named_entity_recognition") == 3
    assert types.count("sentiment_analysis") == 3
    translations = client.received.of_type("translation")
    assert len(translations) == 6  # two targets × three utterances
    assert all(t["error"]["message"] and t["data"] is None for t in translations)
    summary = client.received.of_type("post_summarization")[0]
    assert summary["error"] is None and summary["data"]["results"]
    chapters = client.received.of_type("post_chapterization")[0]["data"]["results"]
    assert chapters and {
        "headline",
        "gist",
        "keywords",
        "start",
        "end",
        "sentences",
        "text",
    } <= set(chapters[0])
    order = [t for t in types if t.startswith("post_")]
    assert order == [
        "post_transcript",
        "post_summarization",
        "post_chapterization",
        "post_final_transcript",
    ]
    result = get_session(server.url, created["id"])["result"]
    assert result["summarization"]["success"] is True
    assert (
        result["translation"]["success"] is False
        and result["translation"]["error"]["status_code"] == 501
    )
    assert result["sentiment_analysis"]["results"][0]["sentiment"] in (
        "positive",
        "negative",
        "neutral",
        "mixed",
    )


def test_multichannel_audio_is_attributed_per_channel(server: LocalServer) -> None:
    audio = tone_bursts(
        [(0.2, 0.7, 0), (1.2, 0.7, 1), (2.2, 0.7, 2), (3.2, 0.5, 1)], total=4.0, channels=3
    )
    created, client = _run(server, {"channels": 3}, audio=audio.tobytes())
    finals = [m["data"] for m in client.received.of_type("transcript") if m["data"]["is_final"]]
    assert [(f["utterance"]["channel"], f["id"]) for f in finals] == [
        (0, "00_00000000"),
        (1, "01_00000000"),
        (2, "02_00000000"),
        (1, "01_00000001"),
    ]
    starts = [f["utterance"]["start"] for f in finals]
    assert starts == pytest.approx([0.2, 1.2, 2.2, 3.2], abs=0.05)
    speech = client.received.of_type("speech_start")
    assert [s["data"]["channel"] for s in speech] == [0, 1, 2, 1]
    metadata = get_session(server.url, created["id"])["result"]["metadata"]
    assert metadata["number_of_distinct_channels"] == 3
    assert metadata["billing_time"] == pytest.approx(12.0)


@pytest.mark.parametrize(
    ("body", "fmt"),
    [
        ({"sample_rate": 8000}, (8000, "<i2")),
        ({"sample_rate": 44100}, (44100, "<i2")),
        ({"bit_depth": 32}, (16000, "<i4")),
    ],
)
def test_other_rates_and_depths_are_transcribed(
    server: LocalServer, body: dict, fmt: tuple
) -> None:
    import numpy as np

    rate, dtype = fmt
    pcm = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0)], total=2.6, rate=rate).astype(dtype)
    if dtype == "<i4":
        pcm = pcm << 16
    created, client = _run(server, body, audio=np.ascontiguousarray(pcm).tobytes())
    finals = [m for m in client.received.of_type("transcript") if m["data"]["is_final"]]
    assert len(finals) == 2
    assert get_session(server.url, created["id"])["result"]["metadata"][
        "audio_duration"
    ] == pytest.approx(2.6, abs=0.01)


def test_ulaw_audio(server: LocalServer) -> None:
    from gladia_cli.audio import codecs
    from gladia_cli.protocol.audio_format import AudioFormat

    pcm = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0)], total=2.6)
    ulaw = codecs.encode(pcm, AudioFormat("wav/ulaw", 8))
    created, client = _run(server, {"encoding": "wav/ulaw", "bit_depth": 8}, audio=ulaw)
    assert len([m for m in client.received.of_type("transcript") if m["data"]["is_final"]]) == 2
    assert stored_audio(server.url, created["id"]) == ulaw


def test_empty_chunk_is_acknowledged_and_harmless(server: LocalServer) -> None:
    created = create_session(server.url)
    client = RawClient(created["url"])
    client.send_audio(AUDIO[:6400])
    client.send_json({"type": "audio_chunk", "data": {"chunk": ""}})
    client.send_audio(AUDIO[6400:12800])
    client.stop()
    client.read_until_closed()
    ranges = [m["data"]["byte_range"] for m in client.received.of_type("audio_chunk")]
    assert [6400, 6400] in ranges
    assert stored_audio(server.url, created["id"]) == AUDIO[:12800]


def test_a_partial_frame_is_carried_over(server: LocalServer) -> None:
    created = create_session(server.url, {"channels": 2})
    stereo = tone_bursts([(0.2, 0.5, 0)], total=1.0, channels=2).tobytes()
    client = RawClient(created["url"])
    client.send_audio(stereo, size=1002)  # whole samples, not whole 4-byte frames
    client.stop()
    client.read_until_closed()
    assert client.received.close_code == 1000
    assert stored_audio(server.url, created["id"]) == stereo


def test_a_chunk_that_is_not_whole_samples_is_refused_with_4400(server: LocalServer) -> None:
    created = create_session(server.url)
    client = RawClient(created["url"])
    client.send_audio(AUDIO[:3200])
    client.ws.send_bytes(AUDIO[3200:4201])  # 1001 bytes of 16-bit audio
    client.read_until_closed()
    assert client.received.close_code == 4400
    assert "not whole 2-byte samples" in client.received.close_reason


def test_session_messages_are_kept_in_the_result(server: LocalServer) -> None:
    created, client = _run(server)
    messages = get_session(server.url, created["id"])["result"]["messages"]
    acknowledgments = ("audio_chunk", "stop_recording")
    assert [json.loads(m)["type"] for m in messages] == [
        t for t in client.received.types if t not in acknowledgments
    ]
