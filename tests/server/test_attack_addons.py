"""Attack: add-on models that hang. The end of a session waited for every add-on still
running, and for the summary, with no bound: a hung model (or one worker shared by many
sessions) held the session's end, and its client, for ever. Now each waits DRAIN_SECONDS at
most; what is not ready is skipped in its add-on's error shape, and the session ends done
with its whole transcript."""

from __future__ import annotations

import io
import threading
import time
from typing import Any

import pytest
import requests
import soundfile

from gladia_cli.server.addons import runner
from gladia_cli.server.addons.runner import AddonModels
from gladia_cli.server.prerecorded import file_addons
from tests.support import (
    HEADERS,
    RawClient,
    create_session,
    get_session,
    local_server,
    tone_bursts,
)

AUDIO_SAMPLES = tone_bursts([(0.2, 1.0, 0), (1.8, 1.0, 0)], total=3.5)
AUDIO = AUDIO_SAMPLES.tobytes()


def test_hung_add_ons_are_skipped_at_the_end_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(runner, "DRAIN_SECONDS", 0.5)
    release = threading.Event()

    def hung(*args: Any) -> Any:
        release.wait(30)
        return []

    models = AddonModels(
        entities=hung, sentiments=lambda u: [], summary=hung, chapters=lambda u: []
    )
    body = {
        "realtime_processing": {"named_entity_recognition": True},
        "post_processing": {"summarization": True},
    }
    try:
        with local_server(addon_models=models) as server:
            created = create_session(server.url, body)
            client = RawClient(created["url"])
            client.send_audio(AUDIO)
            started = time.monotonic()
            client.stop()
            received = client.read_until_closed()
            ended = time.monotonic() - started
            stored = get_session(server.url, created["id"])
    finally:
        release.set()
    assert ended < 10
    assert received.close_code == 1000
    finals = [m for m in received.of_type("transcript") if m["data"]["is_final"]]
    assert len(finals) == 2  # the transcript is whole
    skipped = received.of_type("named_entity_recognition")
    assert len(skipped) == 2
    assert all(
        "result skipped: not ready 0.5 s after the end" in m["error"]["message"] for m in skipped
    )
    (summary,) = received.of_type("post_summarization")
    assert summary["error"] == {"message": "summarization skipped: not ready after 0.5 s"}
    assert stored["status"] == "done"
    result = stored["result"]
    assert result["named_entity_recognition"]["success"] is False
    assert result["summarization"]["success"] is False


def test_a_pre_recorded_job_with_a_hung_add_on_ends_with_it_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job's thread waited for the add-on's answer with no bound: `processing` for ever."""
    monkeypatch.setattr(file_addons, "ADDON_SECONDS", 0.5)
    release = threading.Event()

    def hung(*args: Any) -> Any:
        release.wait(30)
        return []

    models = AddonModels(
        entities=hung, sentiments=lambda u: [], summary=lambda u, k: "", chapters=lambda u: []
    )
    buffer = io.BytesIO()
    soundfile.write(buffer, AUDIO_SAMPLES, 16000, format="WAV", subtype="PCM_16")
    try:
        with local_server(addon_models=models) as server:
            uploaded = requests.post(
                f"{server.url}/v2/upload",
                files={"audio": ("a.wav", buffer.getvalue())},
                headers=HEADERS,
                timeout=10,
            ).json()
            created = requests.post(
                f"{server.url}/v2/pre-recorded",
                json={"audio_url": uploaded["audio_url"], "named_entity_recognition": True},
                headers=HEADERS,
                timeout=10,
            ).json()
            deadline = time.monotonic() + 10
            while True:
                job = requests.get(
                    f"{server.url}/v2/pre-recorded/{created['id']}", headers=HEADERS, timeout=10
                ).json()
                if job["status"] in ("done", "error") or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
    finally:
        release.set()
    assert job["status"] == "done", job["status"]
    ner = job["result"]["named_entity_recognition"]
    assert ner["success"] is False
    assert ner["error"]["message"] == "named entity recognition skipped: not ready after 0.5 s"
    assert job["result"]["transcription"]["utterances"]  # the transcript is whole
