"""Expanding many inputs (arguments, globs, directories, --from-list) and naming their
outputs: pure file-system work, no audio opened."""

from __future__ import annotations

import io
from pathlib import Path, PurePosixPath

import pytest

from gladia_cli.errors import UsageError
from gladia_cli.jobs import inputs


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("b.wav", "a.wav", "c.flac", "notes.txt", "sub/d.wav", "sub/deeper/e.mp3"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_directory_is_its_audio_files_sorted_not_its_subdirectories(tree: Path) -> None:
    assert inputs.expand(["."]) == ["a.wav", "b.wav", "c.flac"]


def test_a_glob_is_expanded_sorted_and_double_star_descends(tree: Path) -> None:
    assert inputs.expand(["*.wav"]) == ["a.wav", "b.wav"]
    assert inputs.expand(["**/*.wav"]) == ["a.wav", "b.wav", "sub/d.wav"]


def test_argument_order_is_kept_and_duplicates_go(tree: Path) -> None:
    (tree / "link.wav").symlink_to(tree / "a.wav")
    got = inputs.expand(["c.flac", "*.wav", "./a.wav", "link.wav", "sub/d.wav", "sub"])
    assert got == ["c.flac", "a.wav", "b.wav", "sub/d.wav"]


def test_urls_and_missing_files_are_kept_as_given(tree: Path) -> None:
    # A missing file is that input's own failure (exit 5), as with one input.
    got = inputs.expand(["https://example.com/x?.mp3", "missing.wav", "a.wav"])
    assert got == ["https://example.com/x?.mp3", "missing.wav", "a.wav"]


def test_a_file_whose_name_looks_like_a_glob_is_that_file(tree: Path) -> None:
    (tree / "take[1].wav").write_bytes(b"x")
    assert inputs.expand(["take[1].wav"]) == ["take[1].wav"]


def test_a_glob_matching_nothing_is_a_usage_error_naming_it(tree: Path) -> None:
    with pytest.raises(UsageError, match=r"no file matches 'zz\*\.wav'"):
        inputs.expand(["a.wav", "zz*.wav"])


def test_a_directory_without_audio_is_a_usage_error(tree: Path) -> None:
    (tree / "empty").mkdir()
    with pytest.raises(UsageError, match="no audio files") as caught:
        inputs.expand(["empty"])
    assert caught.value.hint is not None and "**" in caught.value.hint


def test_stdin_only_alone(tree: Path) -> None:
    assert inputs.expand(["-"]) == ["-"]
    with pytest.raises(UsageError, match="standard input"):
        inputs.expand(["-", "a.wav"])


def test_from_list_skips_blanks_and_comments(tree: Path) -> None:
    listing = tree / "list.txt"
    listing.write_text("# recordings\n\n  a.wav  \nhttps://h/x.mp3\n#b.wav\nsub\n")
    listed = inputs.read_list(str(listing), io.BytesIO())
    assert listed == ["a.wav", "https://h/x.mp3", "sub"]
    assert inputs.expand([], listed) == ["a.wav", "https://h/x.mp3", "sub/d.wav"]
    assert inputs.read_list("-", io.BytesIO(b"b.wav\n# c\n")) == ["b.wav"]


def test_from_list_errors_are_usage_errors(tree: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        inputs.read_list("nope.txt", io.BytesIO())
    (tree / "bin.txt").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UsageError, match="UTF-8"):
        inputs.read_list("bin.txt", io.BytesIO())


def test_the_shape_of_the_command_line_decides_many(tree: Path) -> None:
    many = inputs.asks_for_many
    assert not many(["a.wav"], from_list=None, output_dir=None)
    assert not many(["-"], from_list=None, output_dir=None)
    assert not many(["https://h/x.wav"], from_list=None, output_dir=None)
    assert many(["a.wav", "b.wav"], from_list=None, output_dir=None)
    assert many(["a*.wav"], from_list=None, output_dir=None)  # even if it matches one
    assert many(["sub"], from_list=None, output_dir=None)
    assert many([], from_list="list.txt", output_dir=None)
    assert many(["a.wav"], from_list=None, output_dir=Path("out"))


def test_output_names_are_stems_with_the_formats_extension(tree: Path) -> None:
    names = inputs.output_names(["a.wav", "sub/d.wav", "https://h/talks/x.mp3"], ".srt")
    assert names == {
        "a.wav": PurePosixPath("a.srt"),
        "sub/d.wav": PurePosixPath("d.srt"),
        "https://h/talks/x.mp3": PurePosixPath("x.srt"),
    }


def test_clashing_stems_keep_what_tells_them_apart(tree: Path) -> None:
    names = inputs.output_names(["x/a.wav", "y/a.wav", "y/deep/a.mp3", "b.wav"], ".txt")
    assert names == {
        "x/a.wav": PurePosixPath("x/a.txt"),
        "y/a.wav": PurePosixPath("y/a.txt"),
        "y/deep/a.mp3": PurePosixPath("y/deep/a.txt"),
        "b.wav": PurePosixPath("b.txt"),
    }
    # Same directory: the extension stays; case alone counts as a clash.
    names = inputs.output_names(["a.wav", "A.flac"], ".srt")
    assert names == {"a.wav": PurePosixPath("a.wav.srt"), "A.flac": PurePosixPath("A.flac.srt")}


def test_names_that_still_clash_are_refused(tree: Path) -> None:
    with pytest.raises(UsageError, match="would both be written to"):
        inputs.output_names(["x.wav", "x.wav.mp3", "x.flac"], ".srt")
