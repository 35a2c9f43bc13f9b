"""Attack: an unexpected error in a command without --debug (doctor, auth, devices). Its
hint said "run again with --debug", which those commands refuse as an unknown option; it
now names GLADIA_DEBUG=1, which every command honours."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# The real CLI, with a bug planted in one of doctor's checks.
PLANTED = (
    "import sys, gladia_cli.diagnostics as d\n"
    "def boom(*a, **k): raise RuntimeError('planted bug')\n"
    "d.versions_check = boom\n"
    "from gladia_cli.cli.app import main\n"
    "sys.argv = ['gladia', 'doctor', '--skip-network', '--skip-engine']\n"
    "main()\n"
)


@pytest.mark.parametrize("debug", ["", "1"])
def test_the_unexpected_error_hint_can_be_followed(debug: str) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": "/nonexistent", "GLADIA_DEBUG": debug}
    done = subprocess.run(
        [sys.executable, "-c", PLANTED], capture_output=True, env=env, timeout=60, check=False
    )
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert "gladia: error: unexpected RuntimeError: planted bug" in stderr
    if debug:
        assert "Traceback" in stderr
    else:
        assert "Traceback" not in stderr
        assert "gladia: hint: run again with GLADIA_DEBUG=1 (or --debug)" in stderr
