"""The add-ons are kept off the real-time path: a slow one does not delay transcripts or
acknowledgments, a failing one is reported in its error shape while the session goes on,
and their messages are gated by messages_config as protocol.md §2.4 says. The scripted
engine and injected add-on models: these tests are about the protocol, not the models."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gladia_cli.server.addons.runner import AddonModels
from tests.support import RawClient, create_session, get_session, local_server, tone_bursts

AUDIO = tone_bursts([(0.2, 1.0, 0), (1.8, 1.0, 0)], total=3.5).tobytes()
CHUNKS = -(-len(AUDIO) // 3200)
REALTIME = ("translation", "named_entity_recognition", "sentiment_analysis")
POST = ("post_transcript", "post_summarization", "post_chapterization", "post_final_transcript")


def _entity(utterance: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"entity_type": "NAME_GIVEN", "text": "x", "start": utterance["start"], "end": 0.0}]


def _models(**overrides: Any) -> AddonModels:
    fields: dict[str, Any] = {
        "entities": _entity,
        "sentiments": lambda u: [],
        "summary": lambda utterances, kind: f"{kind}: {len(utterances)} utterances",
        "chapters": lambda utterances: [],
        **overrides,
    }
    return AddonModels(**fields)


def _finals(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == "transcript" and m["data"]["is_final"]]


def test_a_slow_add_on_delays_neither_transcripts_nor_acknowledgments() -> None:
    release = threading.Event()

    def slow_entities(utterance: dict[str, Any]) -> list[dict[str, Any]]:
        assert release.wait(60), "never released"
        return _entity(utterance)

    with local_server(addon_models=_models(entities=slow_entities)) as server:
        created = create_session(
            server.url, {"realtime_processing": {"named_entity_recognition": True}}
        )
        client = RawClient(created["url"])
        try:
            client.send_audio(AUDIO)
            # Every acknowledgment and both finals arrive while the add-on is stuck on its
            # first utterance (reading blocks, and would time out, if they waited for it).
            seen: list[dict[str, Any]] = []
            while len(_finals(seen)) < 2 or len([m for m in seen if "acknowledged" in m]) < CHUNKS:
                seen += client.read(1)
            assert not [m for m in seen if m["type"] == "named_entity_recognition"]
            assert not release.is_set()
        finally:
            release.set()
        client.stop()
        received = client.read_until_closed()
    types = received.types
    entities = received.of_type("named_entity_recognition")
    assert len(entities) == 2 and all(m["error"] is None for m in entities)
    # The end waits for them: both come before the post-processing messages.
    last = max(i for i, t in enumerate(types) if t == "named_entity_recognition")
    assert last < types.index("post_transcript")
    assert received.close_code == 1000


def test_a_failing_add_on_is_reported_in_its_error_shape_and_the_session_goes_on() -> None:
    def broken(utterance: dict[str, Any]) -> list[dict[str, Any]]:
        raise RuntimeError("model exploded")

    def broken_summary(utterances: list[dict[str, Any]], kind: str) -> str:
        raise ValueError("no summary today")

    models = _models(sentiments=broken, summary=broken_summary)
    body = {
        "realtime_processing": {"sentiment_analysis": True, "named_entity_recognition": True},
        "post_processing": {"summarization": True},
    }
    with local_server(addon_models=models) as server:
        created = create_session(server.url, body)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)
        client.stop()
        received = client.read_until_closed()
        stored = get_session(server.url, created["id"])
    assert len(_finals(received.messages)) == 2  # the transcript is whole
    failures = received.of_type("sentiment_analysis")
    assert len(failures) == 2
    for message in failures:
        assert message["data"] is None
        assert message["error"] == {"message": "sentiment analysis failed: model exploded"}
    assert all(m["error"] is None for m in received.of_type("named_entity_recognition"))
    (summary,) = received.of_type("post_summarization")
    assert summary["data"] is None
    assert summary["error"] == {"message": "summarization failed: no summary today"}
    result = stored["result"]
    assert stored["status"] == "done"
    assert result["sentiment_analysis"]["success"] is False
    assert result["sentiment_analysis"]["error"]["message"] == (
        "sentiment analysis failed: model exploded"
    )
    assert result["sentiment_analysis"]["error"]["exception"] == "RuntimeError"
    assert result["summarization"]["success"] is False
    assert result["named_entity_recognition"]["success"] is True
    assert len(result["named_entity_recognition"]["results"]) == 2


@pytest.mark.parametrize(
    ("realtime", "post"), [(True, True), (False, True), (True, False), (False, False)]
)
def test_add_on_messages_are_gated_by_messages_config(realtime: bool, post: bool) -> None:
    body = {
        "realtime_processing": {
            "named_entity_recognition": True,
            "sentiment_analysis": True,
            "translation": True,
            "translation_config": {"target_languages": ["en"]},
        },
        "post_processing": {"summarization": True, "chapterization": True},
        "messages_config": {
            "receive_realtime_processing_events": realtime,
            "receive_post_processing_events": post,
        },
    }
    with local_server(addon_models=_models()) as server:
        created = create_session(server.url, body)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)
        client.stop()
        received = client.read_until_closed()
        result = get_session(server.url, created["id"])["result"]
    types = set(received.types)
    assert len(_finals(received.messages)) == 2  # finals are not gated by either flag
    for message_type in REALTIME:
        assert (message_type in types) is realtime, message_type
    for message_type in POST:
        assert (message_type in types) is post, message_type
    # Gated or not, the results are in the session's result.
    for key in ("named_entity_recognition", "sentiment_analysis", "translation"):
        assert key in result
    assert result["summarization"]["results"] == "general: 2 utterances"
    assert result["chapterization"]["success"] is True


def test_translation_shapes_without_a_translating_engine() -> None:
    """English utterances into English need no model; into German the scripted engine has
    none: the add-on error shape, per utterance, and in the result container."""
    body = {
        "realtime_processing": {
            "translation": True,
            "translation_config": {"target_languages": ["en", "de"]},
        }
    }
    with local_server(addon_models=_models()) as server:
        created = create_session(server.url, body)
        client = RawClient(created["url"])
        client.send_audio(AUDIO)
        client.stop()
        received = client.read_until_closed()
        result = get_session(server.url, created["id"])["result"]
    finals = _finals(received.messages)
    translations = received.of_type("translation")
    assert len(translations) == 2 * len(finals)
    english = [m["data"] for m in translations if m["error"] is None]
    assert [t["utterance_id"] for t in english] == [m["data"]["id"] for m in finals]
    for data, final in zip(english, finals, strict=True):
        assert data["target_language"] == "en" and data["original_language"] == "en"
        assert data["translated_utterance"]["text"] == final["data"]["utterance"]["text"]
        assert data["translated_utterance"]["words"] == []
    failed = [m for m in translations if m["error"] is not None]
    assert all(m["data"] is None for m in failed)
    assert {m["error"]["message"] for m in failed} == {
        "only target English (en) is available offline, not 'de'"
    }
    container = result["translation"]
    assert container["success"] is False and container["error"]["status_code"] == 501
    en, de = container["results"]
    assert en["error"] is None and en["languages"] == ["en"] and len(en["utterances"]) == 2
    assert de["error"]["message"].startswith("only target English") and de["utterances"] == []


def test_what_a_session_has_waiting_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_PENDING jobs waiting, an utterance's add-on is skipped, and said so."""
    from gladia_cli.server.addons import runner

    monkeypatch.setattr(runner, "MAX_PENDING", 1)
    release = threading.Event()

    def slow_entities(utterance: dict[str, Any]) -> list[dict[str, Any]]:
        assert release.wait(60), "never released"
        return _entity(utterance)

    with local_server(addon_models=_models(entities=slow_entities)) as server:
        created = create_session(
            server.url, {"realtime_processing": {"named_entity_recognition": True}}
        )
        client = RawClient(created["url"])
        try:
            client.send_audio(AUDIO)
            seen: list[dict[str, Any]] = []
            while not [m for m in seen if m["type"] == "named_entity_recognition"]:
                seen += client.read(1)
        finally:
            release.set()
        client.stop()
        received = client.read_until_closed()
        result = get_session(server.url, created["id"])["result"]
    skipped = seen[-1]
    done = [m for m in received.of_type("named_entity_recognition") if m["error"] is None]
    assert skipped["data"] is None
    assert skipped["error"] == {
        "message": "named entity recognition failed: the add-on workers are behind: result skipped"
    }
    assert len(done) == 1 and done[0]["data"]["utterance_id"] == "00_00000000"
    assert result["named_entity_recognition"]["success"] is False


def test_the_models_are_loaded_once_when_a_session_first_asks_for_them() -> None:
    loads: list[str] = []
    models = _models(warm_up=lambda: loads.append("loaded"))
    with local_server(addon_models=models) as server:
        create_session(server.url, {})  # no add-on: nothing loaded
        assert loads == []
        for _ in range(2):
            created = create_session(
                server.url, {"realtime_processing": {"sentiment_analysis": True}}
            )
            client = RawClient(created["url"])
            client.send_audio(AUDIO)
            client.stop()
            client.read_until_closed()
    assert loads == ["loaded"]
