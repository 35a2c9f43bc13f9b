"""Outputs written aside (render/staged_file.py): renamed when complete, `.partial`
otherwise, and stale temporary files told apart from everything else."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gladia_cli.render.staged_file import HOST, TEMP, StagedFile, final_of, stale_temps


def test_complete_is_renamed_and_an_old_partial_goes(tmp_path: Path) -> None:
    final = tmp_path / "talk.srt"
    (tmp_path / "talk.srt.partial").write_text("old")
    staged = StagedFile(final)
    assert TEMP.match(staged.temp.name) and final_of(staged.temp) == final
    staged.temp.write_text("whole")
    assert staged.settle(complete=True) == final
    assert final.read_text() == "whole" and sorted(p.name for p in tmp_path.iterdir()) == [
        "talk.srt"
    ]


def test_incomplete_is_partial_and_an_empty_one_is_nothing(tmp_path: Path) -> None:
    final = tmp_path / "talk.srt"
    final.write_text("an earlier whole result")
    staged = StagedFile(final)
    staged.temp.write_text("half")
    assert staged.settle(complete=False) == tmp_path / "talk.srt.partial"
    assert final.read_text() == "an earlier whole result"
    empty = StagedFile(tmp_path / "x.txt")
    assert empty.settle(complete=False) is None and not list(tmp_path.glob(".x.txt*"))


def test_the_temporary_file_has_the_permissions_open_would_give(tmp_path: Path) -> None:
    mask = os.umask(0o027)
    try:
        staged = StagedFile(tmp_path / "a.txt")
    finally:
        os.umask(mask)
    assert staged.temp.stat().st_mode & 0o777 == 0o640


def test_only_this_machines_files_of_dead_processes_are_stale(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f".a.txt.gladia-{HOST}-{gone.pid}-0123abcd.tmp"
    mine = tmp_path / f".b.txt.gladia-{HOST}-{os.getpid()}-0123abcd.tmp"
    init = tmp_path / f".c.txt.gladia-{HOST}-1-0123abcd.tmp"  # pid 1 lives
    other = "0" * 8 if HOST != "0" * 8 else "1" * 8
    foreign = tmp_path / f".d.txt.gladia-{other}-{gone.pid}-0123abcd.tmp"
    for path in (dead, mine, init, foreign, tmp_path / ".e.txt.abcdef.tmp", tmp_path / "f.txt"):
        path.write_text("x")
    assert stale_temps(tmp_path) == [dead]
