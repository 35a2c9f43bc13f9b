"""Attack: `--from-list` naming what is not a list (a URL, a directory, nothing): the
error had no hint saying what the option takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import run_cli


@pytest.mark.parametrize("spec", ["https://example.com/list.txt", "missing.txt", "."])
def test_from_list_that_is_not_a_file_says_what_it_takes(tmp_path: Path, spec: str) -> None:
    run = run_cli("file", "--from-list", spec, "--local", "--local-engine", "scripted")
    assert run.code == 2, run.stderr
    assert f"gladia: error: --from-list {spec}:" in run.stderr
    assert "gladia: hint: --from-list takes a local text file, one path or URL a line" in (
        run.stderr
    )
    assert "Traceback" not in run.stderr
