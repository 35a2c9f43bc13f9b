"""Shell completions: the committed scripts match the CLI, and real shells accept and run them.

The scripts are static (they never call `gladia`), so they go stale whenever an option is
added or renamed; the first test is the alarm. The bash tests drive the completion function
the way bash does (COMP_WORDS, COMP_CWORD) and read COMPREPLY; zsh and fish are checked
only where installed (CI guarantees bash alone).
"""

from __future__ import annotations

import copy
import enum
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer._click import Command

from gladia_cli.cli.app import app
from tools import completions

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "completions"
BASH_SCRIPT = COMMITTED / completions.BASH_FILE
ZSH_SCRIPT = COMMITTED / completions.ZSH_FILE
FISH_SCRIPT = COMMITTED / completions.FISH_FILE

FORMATS = ["json", "jsonl", "srt", "table", "text", "vtt", "words"]


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    return completions.generate_for_app()


def test_committed_scripts_match_the_cli(fresh: dict[str, str]) -> None:
    stale = completions.stale_files(COMMITTED, fresh)
    names = ", ".join(str(path.relative_to(REPO)) for path in stale)
    assert not stale, f"stale shell completions ({names}): run `make completions`"


def test_check_mode_names_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert completions.main(["--check", str(tmp_path)]) == 1
    assert "run `make completions`" in capsys.readouterr().err
    assert completions.main([str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_gladia", "gladia.bash", "gladia.fish"]
    assert completions.main(["--check", str(tmp_path)]) == 0
    (tmp_path / completions.FISH_FILE).write_text("# edited by hand\n", encoding="utf-8")
    assert completions.main(["--check", str(tmp_path)]) == 1
    assert capsys.readouterr().err.splitlines()[0] == f"stale: {tmp_path / 'gladia.fish'}"


def _with_file_option(template_name: str, new_name: str, *, keep_old: bool) -> Command:
    """A copy of the app's tree whose `file` command has one more (or a renamed) option."""
    command = typer.main.get_command(app)
    file_command = copy.copy(command.commands["file"])  # type: ignore[attr-defined]
    template = next(p for p in file_command.params if p.name == template_name)
    changed = copy.copy(template)
    changed.name, changed.opts = new_name.lstrip("-").replace("-", "_"), [new_name]
    others = (
        file_command.params if keep_old else [p for p in file_command.params if p is not template]
    )
    file_command.params = [*others, changed]
    tree = copy.copy(command)
    tree.commands = {**command.commands, "file": file_command}  # type: ignore[attr-defined]
    return tree


# As a word: bash wraps its option lists, so `--label` may end a line.
OLD_SPELLING = {
    "gladia.bash": r"(?<![\w-])--label(?![\w-])",
    "_gladia": r"\)--label=",
    "gladia.fish": r"-l label ",
}


@pytest.mark.parametrize(("keep_old", "what"), [(True, "added"), (False, "renamed")])
def test_an_added_or_renamed_option_changes_every_script(
    fresh: dict[str, str], keep_old: bool, what: str
) -> None:
    tree = _with_file_option("label", "--fake-label", keep_old=keep_old)
    changed = completions.generate(tree)
    for name, text in changed.items():
        assert text != fresh[name], f"{name} does not notice an {what} option"
        assert "fake-label" in text
        # Other commands may share the option: count the spellings rather than look for one.
        spelling = re.compile(OLD_SPELLING[name])
        old, before = len(spelling.findall(text)), len(spelling.findall(fresh[name]))
        assert (old == before) if keep_old else (old < before)
    # The app itself is untouched by the copy.
    assert completions.generate_for_app() == fresh


class Colour(enum.Enum):
    red = "red"
    green = "green"


def test_hidden_items_are_left_out_and_enum_choices_completed() -> None:
    tiny = typer.Typer()

    @tiny.callback()
    def root() -> None:
        """Root."""

    @tiny.command("paint")
    def paint(
        colour: Annotated[Colour, typer.Option("--colour", "-c")] = Colour.red,
        secret: Annotated[str, typer.Option("--secret", hidden=True)] = "",
    ) -> None:
        """Paint."""

    @tiny.command("internal", hidden=True)
    def internal() -> None:
        """Internal."""

    scripts = completions.generate(typer.main.get_command(tiny))
    for text in scripts.values():
        assert "--colour" in text
        assert "--secret" not in text
        assert "internal" not in text
    assert '--colour | -c)\n                    _gladia_words "red green"' in scripts["gladia.bash"]
    assert "(--colour -c)--colour=:colour:(red green)" in scripts["_gladia"]
    assert "-l colour -s c -x -a 'red green'" in scripts["gladia.fish"]


# ---------------------------------------------------------------------------------------------
# Real shells

needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def _shell_env(home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LC_ALL": "C"}


@needs_bash
def test_bash_accepts_the_script() -> None:
    subprocess.run(["bash", "-n", str(BASH_SCRIPT)], check=True, timeout=30)


def _bash_complete(words: list[str], cwd: Path) -> list[str]:
    """COMPREPLY of the completion function for `words` (the last one under the cursor)."""
    script = "\n".join(
        [
            f"source {shlex.quote(str(BASH_SCRIPT))}",
            '[[ $(complete -p gladia) == *"-F _gladia gladia" ]] || exit 3',
            f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})",
            f"COMP_CWORD={len(words) - 1}",
            f"COMP_LINE={shlex.quote(' '.join(words))}",
            "COMP_POINT=${#COMP_LINE}",
            '_gladia gladia "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"',
            'printf "%s\\n" "${COMPREPLY[@]}"',
        ]
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        cwd=cwd,
        env=_shell_env(cwd),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return sorted(line for line in done.stdout.splitlines() if line)


@pytest.fixture
def audio_dir(tmp_path: Path) -> Path:
    (tmp_path / "meeting.wav").touch()
    (tmp_path / "my talk.wav").touch()
    (tmp_path / "notes").mkdir()
    return tmp_path


BASH_CASES = [
    (["gladia", "fi"], ["file"]),
    (["gladia", "--v"], ["--version"]),
    (["gladia", "file", "--for"], ["--format"]),
    (["gladia", "file", "--format", ""], FORMATS),
    (["gladia", "file", "-f", "j"], ["json", "jsonl"]),
    (["gladia", "file", "--format", "=", "s"], ["srt"]),  # --format=s, as bash splits it
    (["gladia", "file", "--format", "="], FORMATS),
    (["gladia", "file", "--pace", ""], ["2x", "max", "realtime"]),
    (["gladia", "file", "--events", "speech_"], ["speech_end", "speech_start", "speech_turn_end"]),
    (["gladia", "file", "--local-engine", ""], ["scripted", "sphinx", "whisper"]),
    (["gladia", "file", "--local-model", ""], ["base", "tiny.en"]),
    (["gladia", "file", "x.wav", "--pa"], ["--pace", "--partials"]),
    (["gladia", "file", "--partials", "--no-p"], ["--no-partials"]),
    (["gladia", "file", "--api-key", ""], []),  # free text: nothing to offer
    (["gladia", "file", "--api-key", "k", "me"], ["meeting.wav"]),  # PATH after a value
    (["gladia", "file", "m"], ["meeting.wav", "my talk.wav"]),
    (["gladia", "file", "x.wav", "-o", "no"], ["notes"]),
    (["gladia", "file", "--", "--f"], []),  # after --, only arguments
    (["gladia", "serve", "--engine", "s"], ["scripted", "sphinx"]),
    (["gladia", "serve", "--script", "me"], ["meeting.wav"]),
    (["gladia", "live", ""], ["mic", "system"]),  # and the computer's sound
    (["gladia", "live", "--device-rate", "4"], ["44100", "48000"]),
    (["gladia", "mix", "x.wav", "m"], ["meeting.wav", "mic", "my talk.wav"]),  # files or mic
    (["gladia", "mix", "mic", "s"], ["system"]),
    (["gladia", "mix", "--pace", "m"], ["max"]),
    (["gladia", "devices", "--j"], ["--json"]),
    (["gladia", "sessions", ""], ["delete", "get", "list"]),
    (["gladia", "sessions", "l"], ["list"]),
    (["gladia", "sessions", "list", "--status", ""], ["done", "error", "processing", "queued"]),
    (["gladia", "sessions", "get", "--api-url", "u", "--h"], ["--help"]),
]


@needs_bash
@pytest.mark.parametrize(
    ("words", "expected"), BASH_CASES, ids=[" ".join(w) for w, _ in BASH_CASES]
)
def test_bash_completes(words: list[str], expected: list[str], audio_dir: Path) -> None:
    assert _bash_complete(words, audio_dir) == expected


@needs_bash
def test_bash_offers_every_command(audio_dir: Path) -> None:
    command = typer.main.get_command(app)
    visible = {name for name, sub in command.commands.items() if not sub.hidden}  # type: ignore[attr-defined]
    assert set(_bash_complete(["gladia", ""], audio_dir)) == visible


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_accepts_the_script() -> None:
    subprocess.run(["zsh", "-n", str(ZSH_SCRIPT)], check=True, timeout=30)
    assert ZSH_SCRIPT.read_text(encoding="utf-8").startswith("#compdef gladia\n")


needs_fish = pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")


@needs_fish
def test_fish_accepts_the_script() -> None:
    subprocess.run(["fish", "--no-execute", str(FISH_SCRIPT)], check=True, timeout=30)


@needs_fish
def test_fish_completes(audio_dir: Path) -> None:
    lines = [
        "gladia fi",
        "gladia file --format ",
        "gladia sessions ",
        "gladia sessions list --status d",
        "gladia file --api-key k me",
        "gladia mix x.wav m",
    ]
    script = f"source {shlex.quote(str(FISH_SCRIPT))}\n" + "".join(
        f"echo '== {line}'\ncomplete -C{shlex.quote(line)}\n" for line in lines
    )
    done = subprocess.run(
        ["fish", "--no-config", "-c", script],
        cwd=audio_dir,
        env=_shell_env(audio_dir),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    answers: dict[str, list[str]] = {}
    for row in done.stdout.splitlines():
        if row.startswith("== "):
            current = answers.setdefault(row[3:], [])
        else:
            current.append(row.split("\t")[0])
    assert answers == {
        "gladia fi": ["file"],
        "gladia file --format ": FORMATS,
        "gladia sessions ": ["delete", "get", "list"],
        "gladia sessions list --status d": ["done"],
        "gladia file --api-key k me": ["meeting.wav"],
        "gladia mix x.wav m": ["meeting.wav", "mic", "my talk.wav"],
    }
