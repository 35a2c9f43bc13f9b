"""Gladia's API as it is today (issue 22), end to end: the real CLI (in-process) against
the project's local server over loopback. End of turn, answering machine, presets and the
body they send, vocabulary and spelling files, transcribe --model, --speakers after a live
session, and Gladia's Go CLI key file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import soundfile as sf

from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import Home, Run, run_cli
from tests.support import HEADERS, KEY, local_server, session_ids, tone_bursts

BURSTS = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0), (2.9, 0.6, 0)], total=4.0)
# 7 s: the scripted verdict comes 5 s of audio after the first speech (0.3 s).
LONG = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0), (4.9, 1.0, 0)], total=7.0)
SCRIPT = "@0 good morning everyone\n@1 hello there\n@0 shall we start\n"
CLOSED = "http://127.0.0.1:9"  # nothing listens there: a dry run must not need it


@pytest.fixture(scope="module")
def speakers_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    script = tmp_path_factory.mktemp("script") / "script.txt"
    script.write_text(SCRIPT, encoding="utf-8")
    with local_server(script_path=str(script)) as server:
        yield server


@pytest.fixture
def bursts(tmp_path: Path) -> Path:
    path = tmp_path / "bursts.wav"
    sf.write(path, BURSTS, 16000, subtype="PCM_16")
    return path


def _against(server: LocalServer, *args: str) -> Run:
    return run_cli(*args, env={"GLADIA_API_URL": server.url})


def _session(server: LocalServer, session_id: str) -> dict[str, Any]:
    response = requests.get(f"{server.url}/v2/live/{session_id}", headers=HEADERS, timeout=10)
    session: dict[str, Any] = response.json()
    return session


def _newest(server: LocalServer, before: set[str]) -> dict[str, Any]:
    (new,) = session_ids(server.url) - before
    return _session(server, new)


# --- end of turn, answering machine, unknown types ---------------------------------------


def test_end_of_turn_marks_each_turn_in_text_and_passes_speech_turn_end_in_jsonl(
    scripted: LocalServer, bursts: Path
) -> None:
    text = _against(scripted, "file", str(bursts), "--pace", "max", "-f", "text", "--end-of-turn")
    assert text.code == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[1::2] == ["⏎ end of turn"] * 3 and len(lines) == 6
    jsonl = _against(scripted, "file", str(bursts), "--pace", "max", "--end-of-turn")
    turns = [m for m in jsonl.jsonl() if m["type"] == "speech_turn_end"]
    assert len(turns) == 3 and all(set(m["data"]) == {"time", "channel"} for m in turns)
    plain = _against(scripted, "file", str(bursts), "--pace", "max", "-f", "text")
    assert "end of turn" not in plain.stdout  # not asked: endpointing only


def test_the_answering_machine_verdict_in_text_and_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    sf.write(path, LONG, 16000, subtype="PCM_16")
    with local_server(faults=Faults(answering_machine=("machine", 0.93))) as server:
        text = _against(server, "file", str(path), "--pace", "max", "-f", "text")
        assert text.code == 0, text.stderr
        assert "-- answering machine (0.93) --" in text.stdout.splitlines()
        jsonl = _against(server, "file", str(path), "--pace", "max")
        (verdict,) = [m for m in jsonl.jsonl() if m["type"] == "answering_machine"]
        assert verdict["data"]["kind"] == "machine"


def test_serve_refuses_a_verdict_it_cannot_send() -> None:
    run = run_cli("serve", "--port", "0", "--answering-machine", "robot")
    assert run.code == 2 and "human or machine" in run.stderr


# --- presets, --dry-run, --show-body -------------------------------------------------------


def test_a_preset_dry_run_prints_the_body_with_no_server(bursts: Path) -> None:
    run = run_cli(
        "file", str(bursts), "--preset", "captions", "--dry-run", env={"GLADIA_API_URL": CLOSED}
    )
    assert run.code == 0, run.stderr
    body = json.loads(run.stdout)
    assert body["endpointing"] == 0.3 and body["maximum_duration_without_endpointing"] == 5
    assert body["messages_config"]["receive_partial_transcripts"] is True
    assert "recommends setting the language" in run.stderr  # for captions
    flags = run_cli(
        "file",
        str(bursts),
        "--preset",
        "agent",
        "--endpointing",
        "0.1",
        "--turn-max-wait",
        "12",
        "-l",
        "en",
        "--dry-run",
        env={"GLADIA_API_URL": CLOSED},
    )
    body = json.loads(flags.stdout)
    assert body["endpointing"] == 0.1  # the flag overrides the preset
    assert body["end_of_turn"] == {"max_wait_secs": 12}
    assert body["maximum_duration_without_endpointing"] == 15


def test_live_dry_run_opens_no_microphone() -> None:
    run = run_cli("live", "--preset", "meeting", "-l", "fr", "-c", "2", "--dry-run")
    assert run.code == 0, run.stderr
    body = json.loads(run.stdout)
    assert body["channels"] == 2 and body["endpointing"] == 0.3
    assert body["language_config"] == {"languages": ["fr"]}


def test_show_body_prints_what_the_session_was_created_with(
    scripted: LocalServer, bursts: Path
) -> None:
    before = session_ids(scripted.url)
    run = _against(
        scripted,
        "file",
        str(bursts),
        "--pace",
        "max",
        "-f",
        "text",
        "--preset",
        "call-center",
        "--show-body",
        "-q",
    )
    assert run.code == 0, run.stderr
    shown = json.loads(run.stderr.split("init body (POST /v2/live):\n", 1)[1].split("\ngladia:")[0])
    params = _newest(scripted, before)["request_params"]
    assert params["endpointing"] == shown["endpointing"] == 0.3
    assert params["maximum_duration_without_endpointing"] == 15
    assert KEY not in run.stderr  # the key goes in a header, never in the body


# --- vocabulary and spelling files ---------------------------------------------------------


def test_vocabulary_and_spelling_files_reach_the_session(
    scripted: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    vocabulary = tmp_path / "terms.txt"
    vocabulary.write_text("# ours\nGladia\nSolaria | intensity=0.7 | language=en\n")
    spelling = tmp_path / "spell.txt"
    spelling.write_text("SQL = sequel, see quel\n")
    before = session_ids(scripted.url)
    run = _against(
        scripted,
        "file",
        str(bursts),
        "--pace",
        "max",
        "-f",
        "text",
        "--vocabulary-file",
        str(vocabulary),
        "--vocabulary",
        "Kubernetes",
        "--spelling-file",
        str(spelling),
    )
    assert run.code == 0, run.stderr
    realtime = _newest(scripted, before)["request_params"]["realtime_processing"]
    assert realtime["custom_vocabulary_config"]["vocabulary"] == [
        "Gladia",
        {"value": "Solaria", "intensity": 0.7, "language": "en"},
        "Kubernetes",
    ]
    assert realtime["custom_spelling_config"]["spelling_dictionary"] == {
        "SQL": ["sequel", "see quel"]
    }


def test_a_bad_line_fails_before_any_session(
    scripted: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    vocabulary = tmp_path / "terms.txt"
    vocabulary.write_text("Gladia\nSolaria | intensity=high\n")
    before = session_ids(scripted.url)
    run = _against(scripted, "file", str(bursts), "--vocabulary-file", str(vocabulary))
    assert run.code == 2
    assert f"gladia: error: {vocabulary} line 2: intensity must be a number" in run.stderr
    assert "Traceback" not in run.stderr
    assert session_ids(scripted.url) == before
    missing = _against(scripted, "file", str(bursts), "--spelling-file", str(tmp_path / "no"))
    assert missing.code == 2 and "--spelling-file: no such file" in missing.stderr


# --- transcribe --model --------------------------------------------------------------------


def test_transcribe_with_solaria_3_and_its_constraints(scripted: LocalServer, bursts: Path) -> None:
    run = _against(scripted, "transcribe", str(bursts), "--model", "solaria-3", "-f", "json")
    assert run.code == 0, run.stderr
    job = json.loads(run.stdout)
    assert job["request_params"]["model"] == "solaria-3"
    jobs_before = requests.get(
        f"{scripted.url}/v2/pre-recorded", headers=HEADERS, timeout=10
    ).json()["items"]
    refused = _against(scripted, "transcribe", str(bursts), "--model", "solaria-3", "-l", "ja")
    assert refused.code == 2 and "must be among en, fr, de, es, it" in refused.stderr
    switching = _against(
        scripted, "transcribe", str(bursts), "--model", "solaria-3", "--code-switching"
    )
    assert switching.code == 2 and "code_switching must be false" in switching.stderr
    jobs_after = requests.get(
        f"{scripted.url}/v2/pre-recorded", headers=HEADERS, timeout=10
    ).json()["items"]
    assert len(jobs_after) == len(jobs_before)  # checked before any request
    live = _against(scripted, "file", str(bursts), "--model", "solaria-3")
    assert live.code == 2 and "gladia transcribe FILE --model solaria-3" in live.stderr


# --- --speakers ----------------------------------------------------------------------------


def test_speakers_label_the_saved_transcript_and_the_stored_session(
    speakers_server: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "talk.txt"
    before = session_ids(speakers_server.url)
    run = run_cli(
        "file",
        str(bursts),
        "--pace",
        "max",
        "--speakers",
        "-o",
        str(out),
        env={"GLADIA_API_URL": speakers_server.url},
    )
    assert run.code == 0, run.stderr
    assert out.read_text().splitlines() == [
        "[speaker 0] good morning everyone",
        "[speaker 1] hello there",
        "[speaker 0] shall we start",
    ]
    session = _newest(speakers_server, before)
    assert session["post_session_metadata"]["gladia_cli_speakers"]["turns"]
    again = _against(speakers_server, "sessions", "get", session["id"], "-f", "srt")
    assert again.code == 0 and "[speaker 1] hello there" in again.stdout
    # The live view (stdout) is unchanged; the speakers still go with the session.
    piped = _against(speakers_server, "file", str(bursts), "--pace", "max", "--speakers")
    assert piped.code == 0, piped.stderr
    assert all("speaker" not in m.get("data", {}).get("utterance", {}) for m in piped.jsonl())
    assert "speakers: 2 found, saved with the session" in piped.stderr


def test_speakers_in_many_outputs(
    speakers_server: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    second = tmp_path / "second.wav"
    second.write_bytes(bursts.read_bytes())
    out = tmp_path / "out"
    run = run_cli(
        "file",
        str(bursts),
        str(second),
        "--pace",
        "max",
        "--speakers",
        "-d",
        str(out),
        "-f",
        "text",
        env={"GLADIA_API_URL": speakers_server.url},
    )
    assert run.code == 0, run.stderr
    for name in ("bursts.txt", "second.txt"):
        assert (out / name).read_text().splitlines()[1] == "[speaker 1] hello there"


def test_speakers_that_cannot_be_found_leave_the_transcript_and_exit_4(
    bursts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "talk.txt"
    with local_server(speaker_model=False) as server:
        run = _against(server, "file", str(bursts), "--pace", "max", "--speakers", "-o", str(out))
    assert run.code == 4
    assert "could not tell the speakers apart" in run.stderr
    assert "no speaker model is installed" in run.stderr
    # Not the whole result asked for (exit 4): kept as .partial (issue 19, item 6).
    partial = out.with_name(out.name + ".partial")
    assert not out.exists()
    assert len(partial.read_text().splitlines()) == 3 and "speaker" not in partial.read_text()


def test_what_speakers_cannot_do_is_said_up_front(bursts: Path, tmp_path: Path) -> None:
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, tone_bursts([(0.2, 0.5, 0), (1.0, 0.5, 1)], total=2.0, channels=2), 16000)
    with local_server() as server:
        run = _against(server, "file", str(stereo), "--speakers", "--pace", "max")
        assert run.code == 2 and "--speakers is for one-channel audio" in run.stderr
        assert session_ids(server.url) == set()
    jsonl = run_cli("file", str(bursts), "--speakers", "-o", str(tmp_path / "x.jsonl"))
    assert jsonl.code == 2 and "jsonl is the server's messages verbatim" in jsonl.stderr
    many = run_cli(
        "file", str(bursts), str(stereo), "--speakers", "-d", str(tmp_path / "d"), "-f", "jsonl"
    )
    assert many.code == 2 and "jsonl is the server's messages verbatim" in many.stderr


# --- Gladia's Go CLI key file ----------------------------------------------------------------


def test_auth_status_and_doctor_say_the_key_came_from_the_go_cli_file(home: Home) -> None:
    (home.root / "home").mkdir()
    key_file = home.root / "home" / ".gladia"
    key_file.write_text("gl-go-cli-key-0123456789\n")
    key_file.chmod(0o644)  # as the Go CLI's os.Create leaves it under umask 022
    with local_server() as server:
        status = home.run("auth", "status", "--api-url", server.url)
        assert status.code == 0, status.stderr
        assert f"from Gladia's CLI key file {key_file}" in status.stdout
        assert "gl-go-cli-key" not in status.stdout + status.stderr  # masked: gl-g…
        assert "chmod 600" in status.stderr
        doctor = home.run("doctor", "--skip-engine", "--json", "--api-url", server.url)
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["CLI key file"]["status"] == "fail"
    assert checks["API key"]["detail"].endswith(f"from Gladia's CLI key file {key_file}: accepted")
    key_file.chmod(0o600)
    doctor = home.run("doctor", "--skip-engine", "--skip-network", "--json")
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["CLI key file"]["status"] == "ok"
    work = home.run("auth", "status", "--profile", "work")
    assert work.code == 2  # no such profile: and a named one never takes ~/.gladia


def test_with_speakers_label_names_the_speakers(
    speakers_server: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    out = tmp_path / "talk.srt"
    named = run_cli(
        "file", str(bursts), "--pace", "max", "--speakers", "--label", "host,guest",
        "-o", str(out), env={"GLADIA_API_URL": speakers_server.url},
    )  # fmt: skip
    assert named.code == 0, named.stderr
    assert "[guest] hello there" in out.read_text()
    three = run_cli(
        "file", str(bursts), "--pace", "max", "--speakers", "--label", "a,b,c",
        "-o", str(out), env={"GLADIA_API_URL": speakers_server.url},
    )  # fmt: skip
    assert three.code == 0 and "--label names 3 speakers, 2 were found" in three.stderr
    assert "[speaker 1] hello there" in out.read_text()
