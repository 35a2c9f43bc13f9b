"""Attack: config files that are not what they should be. A file that is not UTF-8 was an
unexpected UnicodeDecodeError (exit 1) for every command, doctor included."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.conftest import run_cli


@pytest.mark.parametrize("command", [["auth", "status"], ["doctor", "--skip-network"]])
def test_a_config_file_that_is_not_utf8_is_a_usage_error(
    tmp_path: Path, command: list[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b'\xff\xfeapi_url = "http://x"\n')
    run = run_cli(*command, env={"GLADIA_CONFIG": str(config), "GLADIA_API_KEY": ""})
    assert run.code == 2, run.stderr
    assert f"gladia: error: cannot read the config file {config}: it is not UTF-8" in run.stderr
    assert "gladia: hint: fix or remove the file" in run.stderr
    assert "Traceback" not in run.stderr


def test_a_config_file_that_is_a_directory_is_a_usage_error(tmp_path: Path) -> None:
    run = run_cli("auth", "status", env={"GLADIA_CONFIG": str(tmp_path), "GLADIA_API_KEY": ""})
    assert run.code == 2, run.stderr
    assert "gladia: error: cannot read the config file" in run.stderr
