"""The local server and Gladia's API as it is today (protocol.md §11), over real HTTP and
WebSocket on port 0: end_of_turn and speech_turn_end, a scripted answering-machine verdict,
Solaria-3 for pre-recorded jobs, and speakers from the scripted engine's script."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import soundfile
import soxr

from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.server.audio import AUDIO
from tests.server.test_prerecorded import create, upload, wait_for, wav_bytes
from tests.support import HEADERS, RawClient, create_session, local_server, tone_bursts

REAL = Path(__file__).parent.parent / "data" / "real"
# 7 s: three utterances, the last one ending after 5 s of audio from the first speech.
LONG = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0), (4.9, 1.0, 0)], total=7.0)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def _messages(server: LocalServer, body: dict[str, Any], audio: bytes = AUDIO) -> RawClient:
    client = RawClient(create_session(server.url, body)["url"])
    client.send_audio(audio)
    client.stop()
    client.read_until_closed()
    return client


def _init(server: LocalServer, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{server.url}/v2/live", json=body, headers=HEADERS, timeout=10)


@pytest.mark.parametrize(
    ("end_of_turn", "message"),
    [
        ({"threshold": 1.5}, "end_of_turn.threshold must not be greater than 1"),
        ({"max_wait_secs": 0.5}, "end_of_turn.max_wait_secs must not be less than 1"),
        ({"probe_base_ms": 6000}, "end_of_turn.probe_base_ms must not be greater than 5000"),
        ({"emission_threshold": "high"}, "end_of_turn.emission_threshold must be a number"),
        (True, "end_of_turn must be an object"),
    ],
)
def test_end_of_turn_is_validated_as_gladia_does(
    server: LocalServer, end_of_turn: Any, message: str
) -> None:
    response = _init(server, {"end_of_turn": end_of_turn})
    assert response.status_code == 400
    assert any(e.startswith(message) for e in response.json()["validation_errors"]), response.text


def test_end_of_turn_gets_gladias_defaults_in_the_request_params(server: LocalServer) -> None:
    created = _init(server, {"end_of_turn": {"threshold": 0.7}}).json()
    params = requests.get(
        f"{server.url}/v2/live/{created['id']}", headers=HEADERS, timeout=10
    ).json()["request_params"]
    assert params["end_of_turn"] == {
        "threshold": 0.7,
        "emission_threshold": 0.7,  # follows the threshold
        "max_wait_secs": 8,
        "probe_base_ms": 900,
    }


def test_speech_turn_end_follows_each_endpointed_final_when_asked(server: LocalServer) -> None:
    client = _messages(server, {"end_of_turn": {}})
    shown = [
        m
        for m in client.received.messages
        if m["type"] in ("speech_end", "speech_turn_end")
        or (m["type"] == "transcript" and m["data"]["is_final"])
    ]
    assert [m["type"] for m in shown] == ["speech_end", "transcript", "speech_turn_end"] * 3
    for end, turn in zip(shown[::3], shown[2::3], strict=True):
        assert turn["data"] == end["data"]  # {time, channel}: where the speech ended
        assert set(turn) == {"type", "session_id", "created_at", "data"}


def test_no_speech_turn_end_unless_asked_or_when_speech_events_are_off(
    server: LocalServer,
) -> None:
    assert not _messages(server, {}).received.of_type("speech_turn_end")
    quiet = {"end_of_turn": {}, "messages_config": {"receive_speech_events": False}}
    assert not _messages(server, quiet).received.of_type("speech_turn_end")


def test_a_cut_at_the_maximum_duration_is_no_turn_end(server: LocalServer) -> None:
    long_speech = tone_bursts([(0.2, 6.5, 0)], total=7.0).tobytes()
    client = _messages(
        server,
        {"end_of_turn": {}, "maximum_duration_without_endpointing": 5},
        long_speech,
    )
    assert len(client.received.of_type("speech_end")) == 2
    (turn,) = client.received.of_type("speech_turn_end")
    assert turn["data"]["time"] == pytest.approx(6.7, abs=0.02)


@pytest.mark.parametrize("slow", [0.0, 0.2])
def test_the_scripted_answering_machine_verdict_comes_once_after_five_seconds(
    slow: float,
) -> None:
    # slow: recognition behind the audio (all of it received before the speech_start is
    # heard), so the verdict is due at once: it still follows the speech_start.
    faults = Faults(answering_machine=("machine", 0.82), slow_recognition=slow)
    with local_server(faults=faults) as scripted:
        client = _messages(scripted, {}, LONG.tobytes())
        (verdict,) = client.received.of_type("answering_machine")
        assert verdict["data"] == {"kind": "machine", "confidence": 0.82, "time": 5.3, "channel": 0}
        # Before the first transcript that ends after the decision: in audio order.
        types = client.received.types
        assert types.index("answering_machine") > types.index("speech_start")
        # A session shorter than the window gets none, as Gladia's.
        assert not _messages(scripted, {}).received.of_type("answering_machine")


def test_without_the_option_the_server_sends_no_verdict(server: LocalServer) -> None:
    assert not _messages(server, {}, LONG.tobytes()).received.of_type("answering_machine")


# --- pre-recorded: Solaria-3, translation models, speakers --------------------------------


def _job(
    server: LocalServer, body: dict[str, Any], audio: bytes | None = None
) -> requests.Response:
    audio_url = upload(server.url, audio or wav_bytes()).json()["audio_url"]
    return create(server.url, {"audio_url": audio_url, **body})


@pytest.mark.parametrize(
    ("language_config", "message"),
    [
        ({"languages": ["en", "ja"]}, "language_config.languages must be among en, fr, de"),
        ({"code_switching": True}, "language_config.code_switching must be false"),
    ],
)
def test_solaria_3_constraints_are_refused_with_422(
    server: LocalServer, language_config: dict[str, Any], message: str
) -> None:
    response = _job(server, {"model": "solaria-3", "language_config": language_config})
    assert response.status_code == 422, response.text
    assert any(message in e for e in response.json()["validation_errors"])


def test_solaria_3_and_todays_translation_fields_are_accepted(server: LocalServer) -> None:
    response = _job(
        server,
        {
            "model": "solaria-3",
            "language_config": {"languages": ["fr"]},
            "translation": True,
            "translation_config": {
                "target_languages": ["en"],
                "model": "batch",
                "split_words": True,
            },
        },
    )
    assert response.status_code == 201, response.text
    job = wait_for(server.url, response.json()["id"])
    assert job["status"] == "done"
    assert job["request_params"]["model"] == "solaria-3"
    assert job["result"]["transcription"]["languages"] == ["fr"]


def test_diarization_reports_the_speakers_the_script_names(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("@0 good morning\n@1 hello\n@0 shall we\n", encoding="utf-8")
    with local_server(script_path=str(script)) as scripted:
        job = wait_for(scripted.url, _job(scripted, {"diarization": True}).json()["id"])
        utterances = job["result"]["transcription"]["utterances"]
        assert [(u["text"], u["speaker"]) for u in utterances] == [
            (" good morning", 0),
            (" hello", 1),
            (" shall we", 0),
        ]
        assert job["result"]["diarization"]["success"] is True
        plain = wait_for(scripted.url, _job(scripted, {}).json()["id"])
        assert "speaker" not in plain["result"]["transcription"]["utterances"][0]


def test_without_the_speaker_model_diarization_keeps_its_add_on_error() -> None:
    with local_server(speaker_model=False) as server:
        job = wait_for(server.url, _job(server, {"diarization": True}).json()["id"])
    container = job["result"]["diarization"]
    assert container["success"] is False
    assert "no speaker model is installed" in container["error"]["message"]
    assert "speaker" not in job["result"]["transcription"]["utterances"][0]


def real_speech(*names: str, gap: float = 1.0) -> bytes:
    """Recordings of tests/data/real one after another, `gap` seconds of silence between."""
    parts = []
    for name in names:
        audio, rate = soundfile.read(REAL / f"{name}.wav", dtype="float32", always_2d=True)
        mono = audio.mean(axis=1)
        parts += [soxr.resample(mono, rate, 16000) if rate != 16000 else mono]
        parts += [np.zeros(int(gap * 16000), np.float32)]
    return wav_bytes(np.concatenate(parts))


def test_the_speaker_model_tells_real_voices_apart(server: LocalServer) -> None:
    # One LibriVox reader, then another person, then the reader again, then a third.
    audio = real_speech("librivox_0870", "goforward", "librivox_0890", "forever")
    job = wait_for(server.url, _job(server, {"diarization": True}, audio).json()["id"])
    assert job["result"]["diarization"]["success"] is True
    utterances = job["result"]["transcription"]["utterances"]
    by_file = [
        {u["speaker"] for u in utterances if start <= u["start"] < end}
        for start, end in ((0.0, 7.6), (7.6, 11.4), (11.4, 17.7), (17.7, 99.0))
    ]
    assert by_file[0] == by_file[2] == {0}  # the reader, both times, first to speak
    assert by_file[1] == {1} and by_file[3] == {2}  # two other voices


def test_diarization_config_sets_how_many_speakers(server: LocalServer) -> None:
    audio = real_speech("librivox_0870", "goforward", "librivox_0890", "forever")
    two = {"diarization": True, "diarization_config": {"number_of_speakers": 2}}
    job = wait_for(server.url, _job(server, two, audio).json()["id"])
    assert {u["speaker"] for u in job["result"]["transcription"]["utterances"]} == {0, 1}
