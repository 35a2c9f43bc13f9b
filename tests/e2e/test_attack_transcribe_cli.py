"""Attack: `gladia transcribe` options that cannot work. A --config body whose
language_config, diarization_config, subtitles_config or custom_metadata is not an object,
with the flag that adds to it, was an unexpected ValueError/TypeError (exit 1); a URL with
--local started the server to be refused by it, with no hint. All fail before any request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import DATA, run_cli

CLOSED = "http://127.0.0.1:9"  # nothing listens: these must fail before any request


@pytest.mark.parametrize(
    ("key", "flag"),
    [
        ("language_config", ["-l", "fr"]),
        ("diarization_config", ["--speakers", "2"]),
        ("subtitles_config", ["--subtitles", "srt"]),
        ("custom_metadata", ["--metadata", "a=b"]),
    ],
)
def test_a_config_value_a_flag_adds_to_must_be_an_object(
    tmp_path: Path, key: str, flag: list[str]
) -> None:
    config = tmp_path / "body.json"
    config.write_text(json.dumps({key: "en"}))
    run = run_cli(
        "transcribe", str(DATA / "budget.wav"), "--config", str(config), *flag,
        "--api-url", CLOSED,
    )  # fmt: skip
    assert run.code == 2, run.stderr
    assert f"gladia: error: {key} in {config} must be a JSON object" in run.stderr
    assert "gladia: hint: --config takes a POST /v2/pre-recorded body" in run.stderr


def test_invalid_options_have_a_hint(tmp_path: Path) -> None:
    config = tmp_path / "body.json"
    config.write_text(json.dumps({"language_config": "en"}))
    run = run_cli(
        "transcribe", str(DATA / "budget.wav"), "--config", str(config), "--api-url", CLOSED
    )
    assert run.code == 2, run.stderr
    assert "invalid transcription options: language_config must be an object" in run.stderr
    assert "gladia: hint: see 'gladia transcribe --help'" in run.stderr


def test_a_url_with_local_is_refused_before_the_server_starts() -> None:
    run = run_cli("transcribe", "https://example.com/talk.mp3", "--local")
    assert run.code == 2, run.stderr
    assert "--local is offline: its server does not download https://example.com/talk.mp3" in (
        run.stderr
    )
    assert "gladia: hint: download the file" in run.stderr


def test_a_truncated_wav_is_refused_as_gladia_file_refuses_it(tmp_path: Path) -> None:
    """It was uploaded, and the API's transcript of its first 0.1 s was exit 0."""
    cut = tmp_path / "cut short.wav"
    cut.write_bytes((DATA / "budget.wav").read_bytes()[:3000])
    run = run_cli("transcribe", str(cut), "--api-url", CLOSED)
    assert run.code == 5, run.stderr
    assert f"gladia: error: {cut} is truncated: the header promises 3.6 s, only 0.1 s" in (
        run.stderr
    )
    assert f"gladia file '{cut}'" in run.stderr


def test_an_empty_file_is_refused_before_the_upload(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    run = run_cli("transcribe", str(empty), "--api-url", CLOSED)
    assert run.code == 5, run.stderr
    assert f"gladia: error: {empty} is empty" in run.stderr
    assert "uploading" not in run.stderr
