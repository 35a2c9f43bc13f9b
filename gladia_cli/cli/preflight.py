"""Checks made before anything is opened: each one guards against a mistake that would
otherwise destroy data or fail late with a confusing message."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from gladia_cli.errors import AudioInputError, UsageError


def _is_path(spec: str) -> bool:
    """Whether a source argument names a file (not stdin, a URL or a microphone)."""
    if spec in {"-", "mic"} or spec.startswith("mic:"):
        return False
    return not spec.lower().startswith(("http://", "https://"))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)  # hard links and symlinks too
    except OSError:  # one of them does not exist (yet)
        return a.resolve() == b.resolve()


def check_outputs(
    inputs: Sequence[str],
    output: Path | None,
    save_audio: Path | None,
    record: Path | None = None,
) -> None:
    """`-o`, `--save-audio` and `--record` must not name an input (it would be truncated
    before being read) or each other."""
    outputs = [
        (option, path)
        for option, path in (
            ("-o/--output", output),
            ("--save-audio", save_audio),
            ("--record", record),
        )
        if path is not None and str(path) != "-"
    ]
    for option, path in outputs:
        for spec in inputs:
            if _is_path(spec) and _same_file(Path(spec), path):
                raise UsageError(
                    f"{option} {path} is the input file: writing it would destroy the audio",
                    hint="write the output to another file",
                )
    for index, (first, first_path) in enumerate(outputs):
        for second, second_path in outputs[index + 1 :]:
            if _same_file(first_path, second_path):
                raise UsageError(
                    f"{first} and {second} name the same file",
                    hint="each of them needs a file of its own",
                )


def check_stdio(*, writes_stdout: bool, reads_stdin: bool) -> None:
    """A closed standard output or input (`>&-`, `<&-`): Python then has None for it."""
    if writes_stdout and sys.stdout is None:
        raise UsageError(
            "standard output is closed: nowhere to write the transcript",
            hint="redirect it (> FILE), or use -o FILE",
        )
    if reads_stdin and sys.stdin is None:
        raise AudioInputError(
            "standard input is closed: no audio to read from -",
            hint="pipe audio into it, or give a file",
        )
