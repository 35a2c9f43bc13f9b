"""The add-ons with their real models (spaCy, VADER, LexRank, Whisper's translate task), on
real speech through the whisper engine and on a synthetic conversation through the scripted
engine (its text chosen by a script, so the assertions are about the add-ons alone)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import run_cli
from tests.integration.conftest import REAL
from tests.support import RawClient, create_session, get_session, local_server, tone_bursts

pytestmark = pytest.mark.integration

# A conversation on one channel: six utterances, a long pause after the third (a new
# chapter), names, a happy one and an unhappy one.
SCRIPT = [
    "Hi Anna, this is Sasha Petrova from the budget team.",
    "The budget report for next year is almost ready.",
    "I love how clear the budget report looks now, great work.",
    "This delay is terrible and I hate waiting for the printer.",
    "The printer in the office has been broken for a week.",
    "Please call the printer company on Monday.",
]
BURSTS = [(0.3, 1.0), (1.8, 1.0), (3.3, 1.0), (6.8, 1.0), (8.3, 1.0), (9.8, 1.0)]
AUDIO = tone_bursts([(s, d, 0) for s, d in BURSTS], total=11.5).tobytes()
ALL_ADDONS = {
    "realtime_processing": {"named_entity_recognition": True, "sentiment_analysis": True},
    "post_processing": {"chapterization": True},
}


@pytest.fixture(scope="module")
def conversation(
    addon_models: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServer]:
    script = tmp_path_factory.mktemp("script") / "conversation.txt"
    script.write_text("\n".join(SCRIPT) + "\n", encoding="utf-8")
    with local_server(script_path=str(script)) as server:  # the real add-on models
        yield server


@pytest.fixture(scope="module")
def base() -> Iterator[LocalServer]:
    with local_server(engine="whisper", model="base") as server:
        yield server


def _session(server: LocalServer, body: dict[str, Any]) -> tuple[list[dict[str, Any]], Any]:
    created = create_session(server.url, body)
    client = RawClient(created["url"])
    client.send_audio(AUDIO)
    client.stop()
    received = client.read_until_closed()
    assert received.close_code == 1000
    return received.messages, get_session(server.url, created["id"])["result"]


def _of(messages: list[dict[str, Any]], message_type: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["type"] == message_type]


def test_names_sentiment_and_chapters_of_a_conversation(conversation: LocalServer) -> None:
    messages, result = _session(conversation, ALL_ADDONS)
    finals = [m["data"]["utterance"] for m in _of(messages, "transcript") if m["data"]["is_final"]]
    assert [u["text"].strip() for u in finals] == SCRIPT
    (first,) = [m["data"] for m in _of(messages, "named_entity_recognition") if
                m["data"]["utterance_id"] == "00_00000000"]  # fmt: skip
    text = first["utterance"]["text"]
    found = {(e["entity_type"], e["text"]) for e in first["results"]}
    assert {("NAME_GIVEN", "Anna"), ("NAME_GIVEN", "Sasha"), ("NAME_FAMILY", "Petrova")} <= found
    for entity in first["results"]:
        assert text[entity["start_char"] : entity["end_char"]] == entity["text"]
        # Times from the words the entity is made of.
        assert first["utterance"]["start"] <= entity["start"] <= entity["end"]
        assert entity["end"] <= first["utterance"]["end"]
    monday = [e for m in _of(messages, "named_entity_recognition") for e in m["data"]["results"]]
    assert ("DATE", "Monday") in {(e["entity_type"], e["text"]) for e in monday}

    feelings = {
        m["data"]["utterance"]["text"].strip(): m["data"]["results"][0]
        for m in _of(messages, "sentiment_analysis")
    }
    assert feelings[SCRIPT[2]]["sentiment"] == "positive"
    assert feelings[SCRIPT[3]]["sentiment"] == "negative"
    assert feelings[SCRIPT[3]]["emotion"] == "anger"

    (chapters,) = _of(messages, "post_chapterization")
    chapters_found = chapters["data"]["results"]
    assert len(chapters_found) == 2  # split at the 2.5 s pause
    assert "budget" in chapters_found[0]["keywords"]
    assert "printer" in chapters_found[1]["keywords"]
    assert chapters_found[1]["start"] == finals[3]["start"]
    for chapter in chapters_found:
        assert chapter["gist"] in SCRIPT and chapter["headline"]
    assert result["named_entity_recognition"]["success"] is True
    assert len(result["sentiment_analysis"]["results"]) == len(SCRIPT)


@pytest.mark.parametrize("kind", ["general", "concise", "bullet_points"])
def test_summaries_are_shorter_than_the_transcript_and_made_of_it(
    conversation: LocalServer, kind: str
) -> None:
    body = {"post_processing": {"summarization": True, "summarization_config": {"type": kind}}}
    messages, result = _session(conversation, body)
    (message,) = _of(messages, "post_summarization")
    summary = message["data"]["results"]
    transcript = result["transcription"]["full_transcript"]
    assert summary and len(summary) < len(transcript)
    assert result["summarization"]["results"] == summary
    if kind == "bullet_points":
        lines = summary.splitlines()
        assert all(line.startswith("- ") for line in lines)
        sentences = [line[2:] for line in lines]
    else:
        sentences = re.split(r"(?<=\.) ", summary)
    assert sentences and all(s in SCRIPT for s in sentences)  # its own sentences, in order
    assert [SCRIPT.index(s) for s in sentences] == sorted(SCRIPT.index(s) for s in sentences)
    if kind == "concise":
        assert len(sentences) == 1


def test_names_in_real_speech(base: LocalServer) -> None:
    run = run_cli(
        "file", str(REAL / "librivox_0870.wav"), "--pace", "max", "--ner",
        env={"GLADIA_API_URL": base.url},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    entities = [m["data"] for m in run.jsonl() if m["type"] == "named_entity_recognition"]
    found = {(e["entity_type"], e["text"]) for data in entities for e in data["results"]}
    assert {("NAME_GIVEN", "John"), ("NAME_FAMILY", "Dashwood")} <= found, found
    for data in entities:
        for entity in data["results"]:
            text = data["utterance"]["text"]
            assert text[entity["start_char"] : entity["end_char"]] == entity["text"]


def test_french_speech_translated_into_english_with_local(tmp_path: Path) -> None:
    run = run_cli(
        "file", str(REAL / "fr_check-number-dial-again.wav"), "--local", "--pace", "max",
        "--language", "fr", "--translate", "en", "-o", str(tmp_path / "out.jsonl"),
        timeout=180,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    import json

    messages = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    translations = [m["data"] for m in messages if m["type"] == "translation"]
    assert translations and all(t["original_language"] == "fr" for t in translations)
    english = " ".join(t["translated_utterance"]["text"] for t in translations).lower()
    assert "number" in english and "again" in english, english
    assert {t["target_language"] for t in translations} == {"en"}
    assert all(t["translated_utterance"]["language"] == "en" for t in translations)
    (final,) = [m["data"] for m in messages if m["type"] == "post_final_transcript"]
    (entry,) = final["translation"]["results"]
    assert final["translation"]["success"] is True and entry["languages"] == ["en"]
    assert "number" in entry["full_transcript"].lower()


def test_other_targets_get_the_add_on_error_and_english_still_comes(base: LocalServer) -> None:
    run = run_cli(
        "file", str(REAL / "fr_conf-placeintoconf.wav"), "--pace", "max", "--language", "fr",
        "--translate", "en", "--translate", "de", "--ner", "--sentiment",
        env={"GLADIA_API_URL": base.url},
    )  # fmt: skip
    assert run.code == 4, run.stderr  # the German translation the user asked for is missing
    assert (
        "gladia: warning: translation failed: only target English (en) is available offline, "
        "not 'de'" in run.stderr
    )
    translations = [m for m in run.jsonl() if m["type"] == "translation"]
    english = [m["data"] for m in translations if m["error"] is None]
    assert english and "conference" in english[0]["translated_utterance"]["text"].lower()
    assert all(m["data"] is None for m in translations if m["error"] is not None)
    # The English models do not read French: no names made up, sentiment unknown.
    entities = [
        m["data"]["results"] for m in run.jsonl() if m["type"] == "named_entity_recognition"
    ]
    assert entities and not any(entities)
    feelings = [
        r for m in run.jsonl() if m["type"] == "sentiment_analysis" for r in m["data"]["results"]
    ]
    assert feelings and {r["sentiment"] for r in feelings} == {"unknown"}


def test_every_add_on_on_the_espeak_meeting_in_text(base: LocalServer) -> None:
    run = run_cli(
        "file", str(REAL.parent / "meeting_3ch.wav"), "--pace", "max", "-f", "text",
        "--label", "sami,maxime,mark", "--ner", "--sentiment", "--summarize", "bullet_points",
        "--chapters", "--translate", "en", env={"GLADIA_API_URL": base.url},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    live = lines[: lines.index("")]
    transcript = [line for line in live if not line.startswith("  ")]
    assert len(transcript) == 3
    # Each translation also comes under the transcript as it arrives, indented.
    translated = [line for line in live if line.startswith("  ")]
    assert sorted(translated) == sorted(
        f"  {line.replace('] ', '] (en) ', 1)}" for line in transcript
    )
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == [
        "## Summary", "## Chapters", "## Sentiment", "## Named entities", "## Translation (en)",
    ]  # fmt: skip
    summary = lines[lines.index("## Summary") + 1 : lines.index("## Chapters") - 1]
    assert 1 <= len(summary) < len(transcript)
    assert all(line[2:] in " ".join(transcript) for line in summary)
    assert any(line.endswith(" [sami] DATE: Friday") for line in lines)
    assert any(" [maxime] positive, " in line for line in lines)
    # English into English: the utterances themselves.
    assert lines[lines.index("## Translation (en)") + 1 :] == transcript
