"""The pre-recorded body (schema, defaults, flags → body) and the client's polling, with
no network: a job's statuses are scripted, and time is a counter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gladia_cli.cli.transcribing import JobOptions, job_body
from gladia_cli.client.prerecorded import PreRecordedApi, job_error
from gladia_cli.errors import NetworkError, UsageError
from gladia_cli.protocol import prerecorded_config
from gladia_cli.settings import Settings

URL = "http://127.0.0.1:8000/file/6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b"


def test_only_audio_url_is_required() -> None:
    assert prerecorded_config.validate({"audio_url": URL}) == []
    assert prerecorded_config.validate({}) == ["audio_url is required"]
    assert prerecorded_config.validate([]) == ["body must be a JSON object"]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"subtitles_config": {"formats": ["ass"]}}, "subtitles_config.formats[0] must be one of"),
        ({"subtitles_config": {"maximum_rows_per_caption": 9}}, "must not be greater than 5"),
        ({"summarization_config": {"type": "long"}}, "summarization_config.type must be one of"),
        ({"language_config": {"languages": ["xx"]}}, "language_config.languages[0] must be one"),
        ({"callback_config": {"url": "ftp://x"}}, "callback_config.url must be an http"),
        ({"callback_config": {"url": "http://h", "method": "GET"}}, "callback_config.method"),
        ({"diarization_config": {"number_of_speakers": 0}}, "must not be less than 1"),
        ({"audio_url": "file:///etc/passwd"}, "audio_url must be an http or https URL"),
    ],
)
def test_schema_errors_name_their_field(body: dict[str, Any], error: str) -> None:
    errors = prerecorded_config.validate({"audio_url": URL, **body})
    assert any(error in e for e in errors), errors


def test_semantic_errors_and_defaults() -> None:
    assert prerecorded_config.semantic_errors({"translation": True}) == [
        "translation_config is required when translation is true"
    ]
    speakers = {"diarization_config": {"min_speakers": 3, "max_speakers": 2}}
    assert prerecorded_config.semantic_errors(speakers)
    filled = prerecorded_config.with_defaults({"audio_url": URL, "subtitles": True})
    assert filled["subtitles_config"] == {"formats": ["srt"], "style": "default"}
    assert filled["diarization"] is False and filled["language_config"]["languages"] == []


def test_flags_become_the_job_body_over_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "body.json"
    config.write_text(
        json.dumps({"audio_url": "ignored", "sentences": True, "custom_metadata": {"a": "1"}})
    )
    body = job_body(
        JobOptions(
            language=["fr"],
            speakers=2,
            translate=["en"],
            subtitles=["vtt", "vtt"],
            summarize="concise",
            ner=True,
            vocabulary=["Gladia"],
            callback_url="https://example.com/hook",
            metadata=["b=2"],
            config=config,
        )
    )
    assert body == {
        "sentences": True,
        "custom_metadata": {"a": "1", "b": "2"},
        "language_config": {"languages": ["fr"]},
        "diarization": True,
        "diarization_config": {"number_of_speakers": 2},
        "translation": True,
        "translation_config": {"target_languages": ["en"]},
        "subtitles": True,
        "subtitles_config": {"formats": ["vtt"]},
        "summarization": True,
        "summarization_config": {"type": "concise"},
        "named_entity_recognition": True,
        "custom_vocabulary": True,
        "custom_vocabulary_config": {"vocabulary": ["Gladia"]},
        "callback": True,
        "callback_config": {"url": "https://example.com/hook", "method": "POST"},
    }


def test_an_impossible_body_is_refused_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="min_speakers must not be greater"):
        job_body(JobOptions(min_speakers=3, max_speakers=2))
    config = tmp_path / "body.json"
    config.write_text("[1]")
    with pytest.raises(UsageError, match="must hold a JSON object"):
        job_body(JobOptions(config=config))


class ScriptedJob(PreRecordedApi):
    """A job whose statuses come from a list, on a clock that only sleeping moves."""

    def __init__(self, statuses: list[str]) -> None:
        self.time = 0.0
        self.slept: list[float] = []
        super().__init__(Settings(api_key="k"), sleep=self._sleep_for, now=lambda: self.time)
        self._statuses = statuses

    def _sleep_for(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += seconds

    def get(self, session_id: str) -> dict[str, Any]:
        status = self._statuses.pop(0) if len(self._statuses) > 1 else self._statuses[0]
        return {"id": session_id, "status": status}


def test_polling_backs_off_to_every_3_s_and_reports_each_status() -> None:
    api = ScriptedJob(["queued"] * 3 + ["processing"] * 6 + ["done"])
    seen: list[str] = []
    job = api.wait("job-1", timeout=None, on_status=seen.append)
    assert job["status"] == "done"
    assert api.slept == [0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.0, 3.0]
    assert seen == ["queued", "processing", "done"]


def test_polling_gives_up_at_the_timeout_naming_the_job() -> None:
    api = ScriptedJob(["processing"])
    with pytest.raises(NetworkError, match="job-1 is still processing after 10 s") as caught:
        api.wait("job-1", timeout=10)
    assert "gladia transcriptions get job-1" in (caught.value.hint or "")
    assert api.time <= 10


def test_a_job_error_reads_the_server_message() -> None:
    job = {"status": "error", "error_code": 500, "error": {"code": 500, "message": "boom\x1b[2J"}}
    assert job_error(job) == "boom[2J (error_code 500)"
    assert job_error({"status": "error", "error_code": 422}) == "no reason given (error_code 422)"


def test_a_diarized_job_is_rendered_one_speaker_per_label() -> None:
    from gladia_cli.jobs.stored import by_speaker

    def utterance(speaker: int | None) -> dict[str, Any]:
        return {"text": " hi", "start": 0.0, "end": 1.0, "channel": 0, "speaker": speaker}

    job = {
        "file": {"number_of_channels": 1},
        "result": {"transcription": {"utterances": [utterance(0), utterance(2)]}},
    }
    shown, label = by_speaker(job, None)
    assert [u["channel"] for u in shown["result"]["transcription"]["utterances"]] == [0, 2]
    assert shown["file"]["number_of_channels"] == 3
    assert label == "speaker 0,speaker 1,speaker 2"
    assert job["result"]["transcription"]["utterances"][1]["channel"] == 0  # not changed
    assert by_speaker(job, "ann,bob,cy")[1] == "ann,bob,cy"
    plain_job = {"result": {"transcription": {"utterances": [utterance(None)]}}}
    assert by_speaker(plain_job, None) == (plain_job, None)


def test_the_server_subtitles_follow_the_words_within_the_limits() -> None:
    from gladia_cli.server.prerecorded import subtitles

    words = [
        {"word": f" w{i}", "start": float(i), "end": i + 0.9, "confidence": 1.0} for i in range(10)
    ]
    utterance = {"text": " ...", "start": 0.0, "end": 9.9, "channel": 0, "words": words}
    short = {"maximum_duration": 3, "maximum_characters_per_row": 5, "maximum_rows_per_caption": 1}
    cues = subtitles.cues([utterance], short)
    assert [rows for _, _, rows in cues] == [["w0 w1"], ["w2 w3"], ["w4 w5"], ["w6 w7"], ["w8 w9"]]
    by_time = subtitles.cues([utterance], {"maximum_duration": 3})
    assert [(start, end) for start, end, _ in by_time] == [
        (0.0, 2.9),
        (3.0, 5.9),
        (6.0, 8.9),
        (9.0, 9.9),
    ]
    srt = subtitles.to_srt([utterance], {"maximum_duration": 3})
    assert srt.startswith("1\n00:00:00,000 --> 00:00:02,900\nw0 w1 w2\n\n2\n")
    assert subtitles.to_vtt([{**utterance, "words": words[:1]}], {}) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:00.900\nw0\n"
    )
