"""`--config FILE.json`: one reader for the live and the pre-recorded bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from gladia_cli.errors import UsageError
from gladia_cli.jobs.config_body import LIVE, PRERECORDED, BodyKind, load_body


def _error(path: Path, kind: BodyKind) -> UsageError:
    with pytest.raises(UsageError) as caught:
        load_body(path, kind)
    return caught.value


def test_no_file_is_an_empty_body_and_an_object_is_the_body(tmp_path: Path) -> None:
    assert load_body(None, LIVE) == {}
    config = tmp_path / "c.json"
    config.write_text('{"model": "solaria-1", "audio_url": "https://x/a.wav"}', encoding="utf-8")
    assert load_body(config, LIVE) == {"model": "solaria-1", "audio_url": "https://x/a.wav"}
    assert load_body(config, PRERECORDED) == {"model": "solaria-1"}  # each input has its own


def test_each_failure_is_one_usage_error_with_its_hint(tmp_path: Path) -> None:
    missing, folder = tmp_path / "missing.json", tmp_path
    listed, broken = tmp_path / "list.json", tmp_path / "broken.json"
    listed.write_text("[1]", encoding="utf-8")
    broken.write_text("{", encoding="utf-8")
    live_hint = "--config takes a POST /v2/live body as JSON"
    job_hint = "--config takes a POST /v2/pre-recorded body as JSON"
    assert (_error(missing, LIVE).message, _error(missing, LIVE).hint) == (
        f"no such config file: {missing}",
        None,
    )
    assert _error(missing, PRERECORDED).hint == "check the path"
    assert _error(folder, LIVE).message.startswith(f"cannot read {folder}: ")
    assert (_error(folder, LIVE).hint, _error(folder, PRERECORDED).hint) == (None, job_hint)
    invalid = _error(broken, LIVE)
    assert invalid.message.startswith(f"{broken} is not valid JSON (line 1: ")
    assert (invalid.hint, _error(broken, PRERECORDED).hint) == (live_hint, job_hint)
    assert _error(listed, LIVE).message == f"{listed} must hold a JSON object (an init body)"
    job = _error(listed, PRERECORDED)
    assert (job.message, job.hint) == (
        f"{listed} must hold a JSON object (a POST /v2/pre-recorded body)",
        job_hint,
    )
