"""`gladia transcribe` and `gladia transcriptions`, the real CLI (in-process) against
`gladia serve` (and its own --local server): every format, --no-wait, get/list/delete,
and the failures (bad key → 3, missing file → 5, job error → 4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile

from tests.e2e.conftest import run_cli
from tests.support import KEY, serve_process, tone_bursts

AUDIO = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0), (2.9, 0.6, 0)], total=4.0)
TEXT = ["alpha bravo", "charlie delta", "echo"]  # the scripted engine's words for AUDIO


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    with serve_process("--engine", "scripted") as url:
        yield url


@pytest.fixture
def talk(tmp_path: Path) -> Path:
    path = tmp_path / "talk.wav"
    soundfile.write(path, AUDIO, 16000, subtype="PCM_16")
    return path


def at(url: str) -> dict[str, str]:
    return {"GLADIA_API_URL": url}


def test_text_srt_vtt_table_words_against_gladia_serve(served: str, talk: Path) -> None:
    text = run_cli("transcribe", str(talk), "-f", "text", env=at(served))
    assert text.code == 0, text.stderr
    assert text.stdout.splitlines() == TEXT
    assert "uploading talk.wav" in text.stderr

    srt = run_cli("transcribe", str(talk), "-f", "srt", "-q", env=at(served))
    assert srt.code == 0 and srt.stderr == ""
    assert srt.stdout.startswith("1\n00:00:00,300 --> 00:00:01,100\nalpha bravo\n")

    vtt = run_cli("transcribe", str(talk), "-f", "vtt", env=at(served))
    assert vtt.stdout.startswith("WEBVTT\n") and "00:00:02.900 --> 00:00:03.500\necho" in vtt.stdout

    table = run_cli("transcribe", str(talk), "-f", "table", env=at(served))
    assert table.code == 0, table.stderr
    rows = [line for line in table.stdout.splitlines() if "│" in line]
    assert [row.split("│")[1].strip() for row in rows] == TEXT

    words = run_cli("transcribe", str(talk), "-f", "words", env=at(served))
    assert [line.split("\t")[-1] for line in words.stdout.splitlines()[1:]] == [
        "alpha",
        "bravo",
        "charlie",
        "delta",
        "echo",
    ]


def test_json_is_the_job_and_jsonl_one_line_per_input(
    served: str, talk: Path, tmp_path: Path
) -> None:
    out = tmp_path / "job.json"
    done = run_cli(
        "transcribe", str(talk), "-o", str(out), "--summarize", "concise", env=at(served)
    )
    assert done.code == 0, done.stderr
    job = json.loads(out.read_text())
    assert job["status"] == "done" and job["kind"] == "pre-recorded"
    assert job["result"]["transcription"]["full_transcript"] == " ".join(TEXT)
    assert job["request_params"]["summarization_config"] == {"type": "concise"}
    assert job["result"]["summarization"]["success"]

    second = tmp_path / "second.wav"
    soundfile.write(second, AUDIO[: 16000 * 2], 16000, subtype="PCM_16")
    both = run_cli("transcribe", str(talk), str(second), env=at(served))  # a pipe: jsonl
    assert both.code == 0, both.stderr
    lines = both.jsonl()
    assert [line["file"]["filename"] for line in lines] == ["talk.wav", "second.wav"]
    assert [len(line["result"]["transcription"]["utterances"]) for line in lines] == [3, 2]

    refused = run_cli("transcribe", str(talk), str(second), "-f", "json", env=at(served))
    assert refused.code == 2 and "several cannot share stdout" in refused.stderr

    folder = run_cli("transcribe", str(tmp_path), env=at(served))  # its audio files, sorted
    assert folder.code == 0, folder.stderr
    assert [line["file"]["filename"] for line in folder.jsonl()] == ["second.wav", "talk.wav"]
    one_by_glob = run_cli("transcribe", str(tmp_path / "sec*.wav"), "-f", "json", env=at(served))
    assert one_by_glob.code == 2  # a glob is the shape of many, whatever it matched


def test_no_wait_then_get_list_delete(served: str, talk: Path) -> None:
    created = run_cli("transcribe", str(talk), "--no-wait", env=at(served))
    assert created.code == 0, created.stderr
    job_id = created.stdout.strip()
    assert len(job_id) == 36

    got = run_cli("transcriptions", "get", job_id[:8], "-f", "text", env=at(served))
    for _ in range(50):  # the job may still be queued: get says so, then gives the text
        if got.code == 0:
            break
        got = run_cli("transcriptions", "get", job_id, "-f", "text", env=at(served))
    assert got.code == 0, got.stderr
    assert got.stdout.splitlines() == TEXT

    as_json = run_cli("transcriptions", "get", job_id, env=at(served))
    assert json.loads(as_json.stdout)["id"] == job_id

    listed = run_cli("transcriptions", "list", "--status", "done", env=at(served))
    assert listed.code == 0 and job_id in {item["id"] for item in listed.jsonl()}

    deleted = run_cli("transcriptions", "delete", job_id, env=at(served))
    assert deleted.code == 0 and f"deleted {job_id}" in deleted.stderr
    gone = run_cli("transcriptions", "get", job_id, env=at(served))
    assert gone.code == 2 and "not found (404)" in gone.stderr
    assert "gladia transcriptions list" in gone.stderr


def test_local_runs_its_own_server(talk: Path) -> None:
    run = run_cli("transcribe", str(talk), "--local", "--local-engine", "scripted", "-f", "text")
    assert run.code == 0, run.stderr
    assert run.stdout.splitlines() == TEXT


def test_a_bad_key_exits_3_and_is_never_shown(talk: Path) -> None:
    secret = "not-the-right-key-1234"
    with serve_process("--engine", "scripted", "--api-key", "server-secret") as url:
        run = run_cli("transcribe", str(talk), env={**at(url), "GLADIA_API_KEY": secret})
    assert run.code == 3
    assert "gladia: error: the API refused the key (401)" in run.stderr
    assert secret not in run.stdout + run.stderr and "Traceback" not in run.stderr


def test_a_missing_file_exits_5_before_any_upload(served: str) -> None:
    # With several inputs, a missing one fails alone (test_transcribe_many_cli.py).
    run = run_cli("transcribe", "/nonexistent/talk.wav", env=at(served))
    assert run.code == 5
    assert run.stderr.splitlines()[-2:] == [
        "gladia: error: no such file: /nonexistent/talk.wav",
        "gladia: hint: check the path",
    ]
    assert "uploading" not in run.stderr  # checked before the first upload


def test_a_file_that_is_not_audio_exits_5(served: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio at all")
    run = run_cli("transcribe", str(notes), env=at(served))
    assert run.code == 5 and "could not be decoded" in run.stderr


def test_a_job_in_error_exits_4_with_the_server_message(talk: Path) -> None:
    with serve_process("--engine", "scripted", "--fail-recognition-after", "1") as url:
        run = run_cli("transcribe", str(talk), "-f", "text", env=at(url))
        assert run.code == 4 and run.stdout == ""
        message = "failed: recognition failed: injected fault (--fail-recognition-after)"
        assert message in run.stderr
        assert "(error_code 500)" in run.stderr and "gladia transcriptions get" in run.stderr
        job_id = run.stderr.split("gladia transcriptions get ", 1)[1].split()[0]
        again = run_cli("transcriptions", "get", job_id, "-f", "srt", env=at(url))
        assert again.code == 4 and message in again.stderr


def test_a_foreign_audio_url_is_refused_by_the_offline_server(served: str) -> None:
    run = run_cli("transcribe", "https://example.com/talk.mp3", env=at(served))
    assert run.code == 2
    assert "does not download audio" in run.stderr


def test_key_only_in_the_header(served: str, talk: Path) -> None:
    run = run_cli("transcribe", str(talk), "-f", "json", env=at(served))
    assert KEY not in run.stdout + run.stderr


def test_an_add_on_that_fails_is_said_and_exits_4_after_the_transcript(
    served: str, talk: Path
) -> None:
    run = run_cli("transcribe", str(talk), "-f", "text", "--translate", "fr", env=at(served))
    assert run.code == 4
    assert run.stdout.splitlines() == TEXT  # the transcript is all there
    reason = "translation failed: only target English (en) is available offline, not 'fr'"
    assert "warning: " in run.stderr and reason in run.stderr
    assert "the server could not produce: translation" in run.stderr


def test_no_key_exits_3_before_any_upload(served: str, talk: Path) -> None:
    run = run_cli("transcribe", str(talk), env={**at(served), "GLADIA_API_KEY": ""})
    assert run.code == 3
    assert run.stderr.splitlines()[0].startswith("gladia: error: no API key")
    assert "--local" in run.stderr


def test_an_unknown_id_prefix_is_said_in_the_words_of_transcriptions(served: str) -> None:
    listed = run_cli("transcriptions", "list", "--limit", "100", env=at(served))
    ids = [item["id"] for item in listed.jsonl()]
    absent = next(
        p for p in (f"{n:04x}" for n in range(65536)) if not any(i.startswith(p) for i in ids)
    )
    run = run_cli("transcriptions", "get", absent, env=at(served))
    assert run.code == 2
    assert run.stderr.splitlines() == [
        f"gladia: error: no transcription id starts with {absent}",
        "gladia: hint: list the transcriptions with: gladia transcriptions list",
    ]


def test_jobs_with_one_input_is_said_and_the_job_still_done(served: str, talk: Path) -> None:
    done = run_cli("transcribe", str(talk), "--jobs", "3", "-f", "text", env=at(served))
    assert done.code == 0, done.stderr
    assert done.stdout.splitlines() == TEXT
    assert "--jobs 3 has no effect with one input" in done.stderr
