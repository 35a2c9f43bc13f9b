"""Attack: config files that are not what they should be. A file that is not UTF-8 was an
unexpected UnicodeDecodeError (exit 1) for every command, doctor included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import run_cli


def test_a_config_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b'\xff\xfeapi_url = "http://x"\n')
    run = run_cli("auth", "status", env={"GLADIA_CONFIG": str(config), "GLADIA_API_KEY": ""})
    assert run.code == 2, run.stderr
    assert f"gladia: error: cannot read the config file {config}: it is not UTF-8" in run.stderr
    assert "gladia: hint: fix or remove the file" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("env", "detail", "code"),
    [
        ({"GLADIA_CONFIG": "CONFIG"}, "cannot read the config file CONFIG: it is not UTF-8", 2),
        ({"GLADIA_API_KEY": "gl-key-0123456789\r"}, "the API key from GLADIA_API_KEY holds", 3),
        ({"GLADIA_PROFILE": "nope"}, "no profile 'nope'", 2),
    ],
)
def test_doctor_reports_broken_settings_as_a_check_and_runs_the_others(
    tmp_path: Path, env: dict[str, str], detail: str, code: int
) -> None:
    """doctor refused to run at all (one error line, no report) on what it is run for."""
    config = tmp_path / "config.toml"
    config.write_bytes(b'\xff\xfeapi_url = "http://x"\n')
    env = {"GLADIA_API_KEY": "", **{k: v.replace("CONFIG", str(config)) for k, v in env.items()}}
    run = run_cli("doctor", "--skip-network", "--skip-engine", "--json", env=env)
    assert run.code == code, run.stderr
    report = json.loads(run.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["settings"]["status"] == "fail"
    assert checks["settings"]["detail"].startswith(detail.replace("CONFIG", str(config)))
    assert checks["settings"]["fix"]
    assert "versions" in checks and "PortAudio" in checks  # the others ran
    assert "gladia: 1 check(s) failed: settings" in run.stderr


def test_a_config_file_that_is_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    run = run_cli("auth", "status", env={"GLADIA_CONFIG": str(tmp_path), "GLADIA_API_KEY": ""})
    assert run.code == 2, run.stderr
    assert "gladia: error: cannot read the config file" in run.stderr
