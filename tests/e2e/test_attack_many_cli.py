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


def test_output_dir_with_o_or_table_says_what_is_wrong(tmp_path: Path) -> None:
    """With --output-dir given, they said "there are several inputs" and "add --output-dir"."""
    audio = str(Path(__file__).parent.parent / "data" / "budget.wav")
    out = str(tmp_path / "out")
    with_o = run_cli("file", audio, "--output-dir", out, "-o", str(tmp_path / "x.txt"), "--local")
    assert with_o.code == 2, with_o.stderr
    assert "gladia: error: -o/--output names one file, and this runs over many inputs" in (
        with_o.stderr
    )
    assert "gladia: hint: drop -o: --output-dir DIR writes one output per input" in with_o.stderr
    table = run_cli("file", audio, "--output-dir", out, "-f", "table", "--local")
    assert table.code == 2, table.stderr
    assert "the table is drawn on a terminal: it cannot be written to --output-dir" in (
        table.stderr
    )
    assert "add --output-dir" not in table.stderr


@pytest.mark.parametrize("skip_existing", [False, True])
def test_a_directory_where_an_output_goes_fails_that_input_only(
    tmp_path: Path, skip_existing: bool
) -> None:
    """os.replace raised in the worker thread: a traceback, the worker gone (the next input
    never ran), and "all 2 inputs done", exit 0. --skip-existing took the directory for
    the output."""
    data = Path(__file__).parent.parent / "data"
    out = tmp_path / "out"
    (out / "budget.jsonl").mkdir(parents=True)
    run = run_cli(
        "file", str(data / "budget.wav"), str(data / "market.wav"), "--output-dir", str(out),
        "--local", "--local-engine", "scripted", *(["--skip-existing"] if skip_existing else []),
    )  # fmt: skip
    assert run.code == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert f"cannot write {out}/budget.jsonl: Is a directory; the transcript is in" in run.stderr
    assert "gladia: error: 1 of 2 inputs failed" in run.stderr
    assert (out / "market.jsonl").is_file()  # the other input ran
    assert '"post_final_transcript"' in (out / "budget.jsonl.partial").read_text()
