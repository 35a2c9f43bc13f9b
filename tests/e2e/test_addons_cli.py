"""Add-ons end to end: readable sections after the transcript in text, the server's messages
untouched in jsonl, and a failed add-on said once on stderr with a non-zero exit."""

from __future__ import annotations

import json

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import DATA, run_cli
from tests.support import get_session

ALL_ADDONS = ("--ner", "--sentiment", "--summarize", "bullet_points", "--chapters")


def test_text_has_a_section_per_add_on_and_a_failed_one_is_said_once(
    scripted: LocalServer,
) -> None:
    run = run_cli(
        "file", str(DATA / "meeting_3ch.wav"), "--pace", "max", "-f", "text",
        "--label", "sami,maxime,mark", *ALL_ADDONS, "--translate", "fr",
        env={"GLADIA_API_URL": scripted.url},
    )  # fmt: skip
    # The transcript is all there, the translation is not: not a success.
    assert run.code == 4, run.stderr
    lines = run.stdout.splitlines()
    transcript = lines[: lines.index("")]
    assert [line.split("]")[0] for line in transcript] == ["[sami", "[maxime", "[mark"]
    headings = [line for line in lines if line.startswith("## ")]
    assert headings == ["## Summary", "## Chapters", "## Sentiment", "## Named entities"]
    assert lines[lines.index("## Summary") + 1].startswith("- ")
    assert any(line.startswith("0:00.3 [sami] ") for line in lines)  # sentiment, labelled
    warnings = [line for line in run.stderr.splitlines() if "warning:" in line]
    assert warnings == [
        "gladia: warning: translation failed: "
        "only target English (en) is available offline, not 'fr'"
    ]
    errors = [line for line in run.stderr.splitlines() if line.startswith("gladia: error:")]
    assert errors == ["gladia: error: the server could not produce: translation"]


def test_jsonl_is_the_server_messages_verbatim(scripted: LocalServer) -> None:
    run = run_cli(
        "file", str(DATA / "budget.wav"), "--pace", "max", "-f", "jsonl", *ALL_ADDONS,
        env={"GLADIA_API_URL": scripted.url},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    session_id = json.loads(lines[0])["session_id"]
    sent = set(get_session(scripted.url, session_id)["result"]["messages"])
    # Byte for byte what the server sent (it keeps every message but the acknowledgments
    # and the partials).
    kept = [
        line for line in lines if '"acknowledged"' not in line and '"is_final":false' not in line
    ]
    assert kept and all(line in sent for line in kept)
    types = {json.loads(line)["type"] for line in lines}
    assert {
        "named_entity_recognition",
        "sentiment_analysis",
        "post_summarization",
        "post_chapterization",
    } <= types
    assert "## " not in run.stdout
