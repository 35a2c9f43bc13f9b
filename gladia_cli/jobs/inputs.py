"""Many inputs for one command: arguments, quoted globs, directories and `--from-list`,
expanded into the list of recordings to transcribe, and the output name each one gets.

Pure functions over the file system (no audio is opened here), so a mistake in the command
line fails before any session is created:

- a quoted glob (`'talk*.wav'`, `'rec/**/*.flac'`: `**` descends) is expanded by us, sorted;
  a glob that matches nothing is a usage error naming it;
- a directory stands for the audio files directly in it (not its subdirectories: quote a
  `**` glob for those), sorted; one holding none is a usage error;
- anything else (a file, an http(s) URL, a path that does not exist) is kept as given: a
  missing file fails as that input's own error, as with one input;
- the same file named twice (also through a glob, a symlink or `./x.wav` vs `x.wav`) is
  transcribed once, where it first appears: the argument order is kept.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from gladia_cli.errors import UsageError

# What a directory's listing keeps: the containers libsndfile reads (audio/file_source.py).
AUDIO_EXTENSIONS = frozenset(
    {
        ".wav",
        ".wave",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".mp3",
        ".aiff",
        ".aif",
        ".aifc",
        ".au",
        ".snd",
        ".caf",
        ".w64",
        ".rf64",
    }
)
GLOB_CHARACTERS = frozenset("*?[")
STDIN = "-"


def is_url(spec: str) -> bool:
    return spec.lower().startswith(("http://", "https://"))


def is_glob(spec: str) -> bool:
    return not is_url(spec) and any(c in GLOB_CHARACTERS for c in spec)


def asks_for_many(args: Sequence[str], *, from_list: str | None, output_dir: Path | None) -> bool:
    """Whether the command line has the shape of a run over many inputs.

    Decided by the shape, not by how many files a glob happened to match, so a script's
    output contract does not change when a folder holds one recording: several arguments,
    a glob, a directory, `--from-list` or `--output-dir`. One plain path (or `-`, or a URL)
    is the single-input command as it always was."""
    if from_list is not None or output_dir is not None or len(args) != 1:
        return True
    (only,) = args
    return is_glob(only) or (only != STDIN and not is_url(only) and Path(only).is_dir())


def single_input_jobs_notice(jobs: int) -> str | None:
    """What to tell a user who asked for --jobs N over one input: it runs alone (a script
    looping over files with `--jobs 4 "$f"` is not wrong, so this is a notice, not an error)."""
    if jobs <= 1:
        return None
    return f"--jobs {jobs} has no effect with one input: it runs as one session"


_LIST_HINT = "--from-list takes a local text file, one path or URL a line (-: standard input)"


def read_list(spec: str, stdin: BinaryIO) -> list[str]:
    """`--from-list FILE` (`-`: standard input): one path or URL a line; blank lines and
    lines starting with `#` are skipped; surrounding spaces are not part of a path."""
    try:
        data = stdin.read() if spec == STDIN else Path(spec).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"--from-list {spec}: no such file", hint=_LIST_HINT) from None
    except OSError as exc:
        raise UsageError(
            f"--from-list {spec}: cannot read it ({exc.strerror})", hint=_LIST_HINT
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            f"--from-list {spec} is not UTF-8 text",
            hint=_LIST_HINT,
        ) from None
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _directory(path: Path) -> list[str]:
    found = sorted(
        str(entry)
        for entry in path.iterdir()
        if entry.suffix.lower() in AUDIO_EXTENSIONS and entry.is_file()
    )
    if not found:
        raise UsageError(
            f"{path} is a directory with no audio files in it",
            hint="only its top level is searched; for subdirectories, quote a glob: "
            f"'{path}/**/*.wav'",
        )
    return found


def _glob(pattern: str) -> list[str]:
    # glob.glob, not Path.glob: the pattern may be absolute.
    matches = glob.glob(pattern, recursive=True)  # noqa: PTH207
    found = sorted(p for p in matches if not Path(p).is_dir())
    if not found:
        raise UsageError(
            f"no file matches {pattern!r}",
            hint="check the pattern; it is expanded by gladia, relative to the current directory",
        )
    return found


def _identity(spec: str) -> str:
    """What makes two specs the same input: the real path of a file, the URL as given."""
    if is_url(spec) or spec == STDIN:
        return spec
    return os.path.realpath(spec)


def expand(args: Sequence[str], listed: Iterable[str] = ()) -> list[str]:
    """Every input, in order: `args` then the `--from-list` lines, each expanded."""
    out: list[str] = []
    seen: set[str] = set()
    for spec in [*args, *listed]:
        if is_glob(spec) and not Path(spec).exists():  # a file may be called `take[1].wav`
            specs = _glob(spec)
        elif spec != STDIN and not is_url(spec) and Path(spec).is_dir():
            specs = _directory(Path(spec))
        else:
            specs = [spec]
        for one in specs:
            identity = _identity(one)
            if identity not in seen:
                seen.add(identity)
                out.append(one)
    if STDIN in out and len(out) > 1:
        raise UsageError(
            "standard input (-) can only be the one input",
            hint="save it to a file first, or transcribe it on its own",
        )
    return out


def _name_path(spec: str) -> PurePosixPath:
    """The path a spec's output name is made from: the file's absolute path; for a URL,
    its host and path (`https://h/a/x.mp3` → `/h/a/x.mp3`)."""
    if spec == STDIN:
        return PurePosixPath("/stdin")
    if is_url(spec):
        parts = urlsplit(spec)
        path = unquote(parts.path).strip("/") or "index"
        return PurePosixPath("/", parts.netloc.replace(":", "_"), path)
    # abspath: `..` collapsed, symlinks kept (the name is the one the user sees).
    return PurePosixPath(Path(os.path.abspath(spec)).as_posix())  # noqa: PTH100


def output_names(inputs: Sequence[str], extension: str) -> dict[str, PurePosixPath]:
    """Each input's output path, relative to `--output-dir`: `<stem><extension>`.

    Inputs whose stems are the same (`a/x.wav` and `b/x.wav`; compared ignoring case, for
    file systems that do) must not overwrite each other: each of them keeps the part of
    its path that tells it apart, below their common directory, as subdirectories
    (`a/x.srt`, `b/x.srt`); two of them in one directory keep their extension too
    (`x.wav.srt`, `x.flac.srt`). The names depend only on the set of inputs, so running
    the same command again (`--skip-existing`) finds the same names."""
    paths = {spec: _name_path(spec) for spec in inputs}
    groups: dict[str, list[str]] = {}
    for spec, path in paths.items():
        groups.setdefault(path.stem.casefold(), []).append(spec)
    names: dict[str, PurePosixPath] = {}
    for members in groups.values():
        if len(members) == 1:
            (spec,) = members
            names[spec] = PurePosixPath(paths[spec].stem + extension)
            continue
        common = PurePosixPath(os.path.commonpath([str(paths[m].parent) for m in members]))
        relative = {m: paths[m].relative_to(common) for m in members}
        stems = [str(r.with_suffix("")).casefold() for r in relative.values()]
        keep_suffix = len(set(stems)) < len(stems)
        for spec, rel in relative.items():
            kept = rel.name if keep_suffix else rel.stem
            names[spec] = rel.parent / (kept + extension)
    taken: dict[str, str] = {}
    for spec, name in names.items():
        key = str(name).casefold()
        if key in taken:  # e.g. X.wav and x.wav side by side on a case-sensitive disk
            raise UsageError(
                f"{taken[key]} and {spec} would both be written to {name}",
                hint="transcribe one of them separately, with its own --output-dir",
            )
        taken[key] = spec
    return names
