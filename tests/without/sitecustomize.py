"""Packages made absent, as in an install without an extra: on PYTHONPATH, this module is
imported at start-up and hides the modules GLADIA_TEST_WITHOUT names (comma-separated),
their submodules too (a submodule alone: a broken install). `find_spec` and `import` then
fail as for a package never installed. Used by tests/e2e/test_install_cli.py."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType

_HIDDEN = frozenset(n for n in os.environ.get("GLADIA_TEST_WITHOUT", "").split(",") if n)


class _Hide:
    @staticmethod
    def find_spec(
        name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if any(name == hidden or name.startswith(hidden + ".") for hidden in _HIDDEN):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


if _HIDDEN:
    sys.meta_path.insert(0, _Hide())
