"""Checks made before anything is opened: outputs that would destroy the input, ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from gladia_cli.cli.preflight import check_outputs
from gladia_cli.errors import UsageError
from gladia_cli.jobs.stored import checked_id


def test_outputs_must_not_be_an_input(tmp_path: Path) -> None:
    audio = tmp_path / "talk.wav"
    audio.write_bytes(b"RIFF")
    check_outputs([str(audio)], tmp_path / "talk.txt", tmp_path / "sent.wav")
    check_outputs(["-", "mic", "mic:2", "https://example.com/talk.wav"], Path("-"), None)
    with pytest.raises(UsageError, match="is the input file"):
        check_outputs([str(audio)], audio, None)
    with pytest.raises(UsageError, match="is the input file"):
        check_outputs(["mic", str(audio)], None, tmp_path / "." / "talk.wav")
    with pytest.raises(UsageError, match="same file"):
        check_outputs([], tmp_path / "x", tmp_path / "x")


@pytest.mark.parametrize(
    "value",
    ["6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b", "6f1c2a3b", "6F1C", "6f1c2a3b-1d", "a" * 32],
)
def test_session_ids_and_prefixes(value: str) -> None:
    assert checked_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "..",
        "../../admin",
        "6f1c2a3b/x",
        "6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b0",  # one character too many
        "6f1c-2a",  # a dash where a UUID has none
        "g",
    ],
)
def test_anything_else_is_refused(value: str) -> None:
    with pytest.raises(UsageError, match="not a session id"):
        checked_id(value)
