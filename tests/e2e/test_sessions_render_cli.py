"""`gladia sessions get ID --format …` renders a stored session as a live run does; ids by a
unique prefix; `sessions list` as a table or JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import Run, run_cli
from tests.support import create_session, tone_bursts

LABELS = "host,guest"


@pytest.fixture(scope="module")
def talk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sessions") / "talk.wav"
    bursts = [(0.2, 3.0, 0), (1.0, 1.0, 1), (4.0, 2.0, 1)]
    sf.write(path, tone_bursts(bursts, total=7.0, channels=2), 16000)
    return path


def _live(talk: Path, server: LocalServer, *args: str) -> Run:
    run = run_cli(
        "file", str(talk), "--pace", "max", "--multichannel", "--label", LABELS,
        "--summarize", "general", *args,
        env={"GLADIA_API_URL": server.url},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    return run


def _session_id(run: Run) -> str:
    return next(line for line in run.stderr.split() if line.count("-") == 4)


def _get(server: LocalServer, *args: str) -> Run:
    return run_cli("sessions", "get", *args, env={"GLADIA_API_URL": server.url})


@pytest.mark.parametrize("fmt", ["srt", "vtt", "words"])
def test_a_stored_session_renders_as_the_live_run_did(
    fmt: str, talk: Path, scripted: LocalServer
) -> None:
    live = _live(talk, scripted, "-f", fmt)
    stored = _get(scripted, _session_id(live)[:8], "-f", fmt, "--label", LABELS)
    assert stored.code == 0, stored.stderr
    assert stored.stdout == live.stdout and stored.stdout.strip()


def test_text_has_the_same_lines_and_the_add_on_sections(talk: Path, scripted: LocalServer) -> None:
    live = _live(talk, scripted, "-f", "text")
    stored = _get(scripted, _session_id(live)[:8], "-f", "text", "--label", LABELS)
    assert stored.code == 0, stored.stderr
    # The same lines; the stored ones in start-time order (live: as each utterance ended).
    assert sorted(stored.stdout.splitlines()) == sorted(live.stdout.splitlines())
    assert "[guest] alpha bravo" in stored.stdout and "## Summary" in stored.stdout


def test_json_and_table(talk: Path, scripted: LocalServer) -> None:
    session_id = _session_id(_live(talk, scripted, "-f", "text"))
    as_json = _get(scripted, session_id[:8])
    assert as_json.code == 0 and json.loads(as_json.stdout)["id"] == session_id
    explicit = _get(scripted, session_id, "-f", "json")
    assert json.loads(explicit.stdout)["result"]["transcription"]["utterances"]
    table = _get(scripted, session_id[:8], "-f", "table", "--label", LABELS)
    assert table.code == 0, table.stderr
    assert "guest" in table.stdout and "alpha bravo" in table.stdout
    assert "summary" in table.stdout
    assert "●" not in table.stdout and "acked" not in table.stdout  # no live status line


def test_output_file_and_wrong_labels(talk: Path, scripted: LocalServer, tmp_path: Path) -> None:
    session_id = _session_id(_live(talk, scripted, "-f", "text"))
    out = tmp_path / "talk.srt"
    written = _get(scripted, session_id[:8], "-o", str(out))
    assert written.code == 0 and written.stdout == "" and out.read_text().startswith("1\n")
    wrong = _get(scripted, session_id[:8], "-f", "text", "--label", "only-one")
    assert wrong.code == 2 and "--label names 1 channel but the session has 2" in wrong.stderr
    jsonl = _get(scripted, session_id[:8], "-o", str(tmp_path / "x.jsonl"))
    assert jsonl.code == 2 and "cannot write jsonl" in jsonl.stderr


def test_a_prefix_matching_no_session_or_several(scripted: LocalServer) -> None:
    ids = [create_session(scripted.url)["id"] for _ in range(17)]  # two share a first digit
    first = [i[0] for i in ids]
    shared = next(c for c in first if first.count(c) > 1)
    several = _get(scripted, shared, "-f", "text")
    assert several.code == 2 and "Traceback" not in several.stderr
    errors = [line for line in several.stderr.splitlines() if line.startswith("gladia: error:")]
    listed = run_cli("sessions", "list", "--limit", "1000", env={"GLADIA_API_URL": scripted.url})
    count = sum(item["id"].startswith(shared) for item in listed.jsonl())
    assert errors == [f"gladia: error: {count} sessions have an id starting with {shared}"]
    assert "gladia: hint: give more characters of the id" in several.stderr
    absent = next(
        p for p in (f"{n:04x}" for n in range(65536)) if not any(i.startswith(p) for i in ids)
    )
    none = _get(scripted, absent)
    assert none.code == 2
    assert none.stderr.splitlines() == [
        f"gladia: error: no session id starts with {absent}",
        "gladia: hint: list the sessions with: gladia sessions list",
    ]
    unfinished = _get(scripted, ids[0][:12], "-f", "text")  # never streamed: no transcript
    assert unfinished.code == 4 and "has no transcript" in unfinished.stderr


def test_list_is_json_lines_in_a_pipe_and_a_table_when_asked(
    talk: Path, scripted: LocalServer
) -> None:
    session_id = _session_id(_live(talk, scripted, "-f", "text"))
    env = {"GLADIA_API_URL": scripted.url}
    piped = run_cli("sessions", "list", env=env)
    assert piped.code == 0 and session_id in [item["id"] for item in piped.jsonl()]
    table = run_cli("sessions", "list", "-f", "table", env={**env, "COLUMNS": "120"})
    assert table.code == 0 and table.stdout.split()[0] == "id"
    assert session_id in table.stdout and "done" in table.stdout
