"""The import rule of ARCHITECTURE.md, checked on the source: each package imports only the
layers below it, and the packages form no cycle.

Every `import` counts, including the lazy ones inside functions and those under
TYPE_CHECKING: a lazy import is still a dependency, only a cheaper one at start-up.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import gladia_cli

ROOT = Path(gladia_cli.__file__).resolve().parent
BASE = {"errors", "safe_text", "environment"}  # leaf modules: import nothing of gladia_cli

# Package (or top-level module) → what it may import besides itself and `gladia_cli`
# (the root package holds only `__version__`). ARCHITECTURE.md draws the same table.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "safe_text": set(),
    "environment": set(),
    "protocol": {"errors", "safe_text"},
    "audio": {"errors", "safe_text", "protocol"},
    "recording": {"errors", "safe_text", "protocol"},
    "render": {"errors", "safe_text", "environment", "protocol"},
    "server": {"errors", "safe_text", "protocol", "audio"},
    "credentials": {"errors"},
    "settings": {"errors", "protocol", "credentials"},
    "client": {"errors", "safe_text", "protocol", "settings"},
    "jobs": {
        "errors",
        "safe_text",
        "environment",
        "protocol",
        "audio",
        "recording",
        "render",
        "settings",
        "client",
    },
    "diagnostics": {
        "errors",
        "safe_text",
        "protocol",
        "credentials",
        "settings",
        "audio",
        "server",
    },
    "cli": BASE
    | {
        "protocol",
        "audio",
        "recording",
        "render",
        "server",
        "credentials",
        "settings",
        "client",
        "jobs",
        "diagnostics",
    },
    "__main__": {"cli"},
}

# Known exceptions, each (importing module, imported module or package). The test fails
# when one is no longer used, so this list only shrinks.
EXCEPTIONS = {
    # The settings' default engine and model are named by the engines' catalog (cheap
    # constants, no engine code).
    ("gladia_cli.settings", "gladia_cli.server.recognition.engines.catalog"),
}


def _module_name(path: Path) -> str:
    parts = ["gladia_cli", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> set[str]:
    """The gladia_cli modules `path` imports (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            # `from gladia_cli.audio import codecs` imports the module gladia_cli.audio.codecs
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "gladia_cli" or name.startswith("gladia_cli.")}


def _existing(name: str) -> bool:
    relative = Path(*name.split(".")[1:])
    return (ROOT / relative).with_suffix(".py").is_file() or (ROOT / relative).is_dir()


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "gladia_cli"


def _edges() -> set[tuple[str, str]]:
    """(importing module, imported module) across packages."""
    edges = set()
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        for target in _imports(path, module):
            crosses = target != "gladia_cli" and _package(target) != _package(module)
            if crosses and _existing(target):
                edges.add((module, target))
    return edges


def _excepted(module: str, target: str) -> tuple[str, str] | None:
    for importer, imported in EXCEPTIONS:
        if module == importer and (target == imported or target.startswith(imported + ".")):
            return importer, imported
    return None


def test_every_package_has_a_rule() -> None:
    packages = {_package(_module_name(path)) for path in ROOT.rglob("*.py")} - {"gladia_cli"}
    assert packages <= set(ALLOWED), f"add {sorted(packages - set(ALLOWED))} to ALLOWED"


def test_no_package_imports_a_layer_above_it() -> None:
    used: set[tuple[str, str]] = set()
    wrong = []
    for module, target in sorted(_edges()):
        if _package(target) in ALLOWED[_package(module)]:
            continue
        exception = _excepted(module, target)
        if exception is None:
            wrong.append(f"{module} imports {target}")
        else:
            used.add(exception)
    assert not wrong, "imports against ARCHITECTURE.md:\n" + "\n".join(wrong)
    stale = sorted(EXCEPTIONS - used)
    assert not stale, f"exceptions no longer needed (remove them from EXCEPTIONS): {stale}"


def test_the_packages_form_no_cycle() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module, target in _edges():
        graph[_package(module)].add(_package(target))
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycle = [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for package in sorted(graph):
        if package not in state:
            visit(package, [package])


def test_the_rule_sees_lazy_imports() -> None:
    """The check would be empty if it missed imports inside functions (most cli ones are)."""
    edges = _edges()
    assert ("gladia_cli.cli.local_server", "gladia_cli.server.runner") in edges  # in a function
    assert any(
        m.startswith("gladia_cli.cli.") and t.startswith("gladia_cli.audio") for m, t in edges
    )


def test_no_two_modules_import_each_other() -> None:
    """Within a package too: a pair that imports each other (the pre-recorded job and its
    many-input run, the server's app and its pre-recorded routes, once) is one module
    split in two, or a helper in the wrong one."""
    edges: set[tuple[str, str]] = set()
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        edges.update(
            (module, target)
            for target in _imports(path, module)
            if target not in (module, "gladia_cli") and _existing(target)
        )
    mutual = sorted({tuple(sorted(edge)) for edge in edges if edge[::-1] in edges})
    assert not mutual, f"modules importing each other: {mutual}"


def test_the_application_never_reaches_up_into_the_commands() -> None:
    """jobs/ takes what the options decided as plain objects: no import of cli/ at all,
    and no exception for one."""
    assert "cli" not in ALLOWED["jobs"]
    assert not [pair for pair in EXCEPTIONS if pair[0].startswith("gladia_cli.jobs")]
    up = sorted(m for m, t in _edges() if _package(m) == "jobs" and _package(t) == "cli")
    assert not up, f"jobs/ imports cli/: {up}"


# The server's rooms (ARCHITECTURE.md, "The server"): a module the live and the pre-recorded
# rooms both need sits at the top of server/, not in one of them; recognition serves both.
ROOMS_NEVER_IMPORT = {
    "live": {"prerecorded"},
    "prerecorded": {"live"},
    "recognition": {"live", "prerecorded"},
}


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "server" else None


def test_the_server_rooms_keep_to_themselves() -> None:
    """Every import counts here too (lazy and TYPE_CHECKING ones): live/ and prerecorded/
    never import each other, and recognition/ imports neither."""
    wrong = []
    for path in sorted((ROOT / "server").rglob("*.py")):
        module = _module_name(path)
        room = _room(module)
        for target in sorted(_imports(path, module)):
            if room in ROOMS_NEVER_IMPORT and _room(target) in ROOMS_NEVER_IMPORT[room]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "a room of the server imports another:\n" + "\n".join(wrong)
    rooms = {_room(_module_name(p)) for p in (ROOT / "server").rglob("*.py")}
    assert set(ROOMS_NEVER_IMPORT) <= rooms  # the rule would pass on a renamed room


def test_the_rooms_are_composed_not_composing() -> None:
    """app.py puts the rooms together (it imports both); no room imports it or the runner
    (the circle app.py ↔ prerecorded.py once was)."""
    composition = {"gladia_cli.server.app", "gladia_cli.server.runner"}
    wrong = sorted(
        f"{_module_name(path)} imports {target}"
        for path in (ROOT / "server").rglob("*.py")
        if _room(_module_name(path)) is not None
        for target in _imports(path, _module_name(path)) & composition
    )
    assert not wrong, "\n".join(wrong)
    app = ROOT / "server" / "app.py"
    assert {"gladia_cli.server.live.routes", "gladia_cli.server.prerecorded.routes"} <= _imports(
        app, "gladia_cli.server.app"
    )
