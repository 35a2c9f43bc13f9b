"""Who spoke when in a pre-recorded job: Resemblyzer's speaker encoder, run without torch.

The model: `pretrained.pt` inside the `resemblyzer` 0.1.4 wheel on PyPI (Apache-2.0; a GE2E
speaker encoder, 17 MB: a 3-layer LSTM over 40-band mel frames, a 256-dimension voice
embedding). Nothing is fetched: the file is found where the package is installed, its
sha256 checked, and read with a restricted unpickler (legacy torch format: tensors become
numpy arrays, nothing else may be built), so neither torch nor Resemblyzer's own code is
imported. Resemblyzer's package requires torch, so it is installed without its dependencies
(`pip install --no-deps resemblyzer==0.1.4`; the Makefile does); without it, diarization
stays an add-on error.

The method (Resemblyzer's): each utterance's audio, normalised to -30 dBFS, becomes
1.6 s windows of mel frames (1.3 a second), each window an L2-normed embedding, the
utterance their normed mean. All windows of a job go through the LSTM as one batch: its
cost is 160 steps whatever the file's length. Utterances are then grouped by average-link
agglomerative clustering on cosine similarity, merging while the closest two groups are
more alike than `SAME_SPEAKER` (or until `diarization_config` says how many there are).
Speakers are numbered in the order they first speak.

Measured on the real speech of tests/data/real: sentences of one LibriVox reader are 0.80-0.89
alike; different people 0.44-0.69 (tests/server/test_api_today.py,
tests/integration/test_diarization.py).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import pickle
import struct
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]

PACKAGE = "resemblyzer"
INSTALL_HINT = "pip install --no-deps resemblyzer==0.1.4 (its model; torch is not needed)"
MODEL_FILE = "pretrained.pt"
MODEL_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
SAMPLE_RATE = 16000
N_FFT, HOP, N_MELS = 400, 160, 40  # 25 ms windows, 10 ms steps (Resemblyzer's hparams)
WINDOW_FRAMES = 160  # 1.6 s of mel frames per partial embedding
WINDOWS_PER_SECOND = 1.3
TARGET_DBFS = -30.0
SAME_SPEAKER = 0.75  # cosine similarity above which two groups are one voice


class DiarizationUnavailable(Exception):
    """The model is not installed, or is not the file it should be."""


def model_path() -> Path | None:
    """Where the installed package keeps its model (the package is not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


def available() -> bool:
    return model_path() is not None


# --- the weights: a legacy torch file, read without torch --------------------------------


class _Tensor:
    def __init__(self, storage: tuple[str, int], offset: int, size: Any, stride: Any) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor(storage: Any, offset: int, size: Any, stride: Any, *_: Any) -> _Tensor:
    return _Tensor(storage, offset, tuple(size), tuple(stride))


class _Weights(pickle.Unpickler):
    """Builds an OrderedDict of tensors and nothing else (a model file is data)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if module == "torch" and name == "FloatStorage":
            return name
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a model file")

    def persistent_load(self, pid: Any) -> tuple[str, int]:
        # ("storage", storage type, key, location, element count)
        if not (isinstance(pid, tuple) and pid[0] == "storage" and pid[1] == "FloatStorage"):
            raise pickle.UnpicklingError("unexpected storage in a model file")
        return str(pid[2]), int(pid[4])


def load_weights(path: Path) -> dict[str, Floats]:
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
        raise DiarizationUnavailable(f"{path} is not Resemblyzer 0.1.4's model (sha256 differs)")
    stream = _Stream(data)
    for _ in range(3):  # magic number, protocol version, system info
        _Weights(stream).load()
    state = _Weights(stream).load()
    keys = _Weights(stream).load()
    storages: dict[str, Floats] = {}
    for key in keys:
        (count,) = struct.unpack("<q", stream.read(8))
        storages[str(key)] = np.frombuffer(stream.read(4 * count), dtype="<f4")
    weights = {}
    for name, tensor in state["model_state"].items():
        base = storages[tensor.storage[0]][tensor.offset :]
        strides = tuple(4 * s for s in tensor.stride)
        array = np.lib.stride_tricks.as_strided(base, shape=tensor.size, strides=strides)
        weights[str(name)] = np.ascontiguousarray(array, dtype=np.float32)
    return weights


class _Stream:
    """The file's bytes, read in order by pickle and by the storage reader."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._at + n
        chunk = bytes(self._data[self._at : end])
        self._at += len(chunk)
        return chunk

    def readline(self) -> bytes:
        end = bytes(self._data[self._at :]).find(b"\n")
        return self.read(-1 if end < 0 else end + 1)

    def readinto(self, buffer: Any) -> int:
        chunk = self.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


# --- features and the network --------------------------------------------------------------


def _hz_to_mel(hz: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Slaney's mel scale (librosa's default): linear to 1 kHz, logarithmic above."""
    linear = hz / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log, linear)


def _mel_to_hz(mel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    linear = mel * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log, linear)


@functools.cache
def mel_filters() -> npt.NDArray[np.float64]:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): Slaney-normalised triangles."""
    frequencies = np.fft.rfftfreq(N_FFT, 1 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(0.0, _hz_to_mel(np.array(SAMPLE_RATE / 2.0)), N_MELS + 2))
    widths = np.diff(edges)
    ramps = edges[:, None] - frequencies[None, :]
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    filters = np.maximum(0.0, np.minimum(lower, upper))
    return filters * (2.0 / (edges[2:] - edges[:-2]))[:, None]


def mel_frames(audio: Floats) -> Floats:
    """The power mel spectrogram, frames × 40 (librosa's melspectrogram, centred)."""
    padded = np.pad(audio.astype(np.float64), N_FFT // 2)
    count = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP][:count]
    window = np.hanning(N_FFT + 1)[:-1]  # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel: Floats = (power @ mel_filters().T).astype(np.float32)
    return mel


def _sigmoid(x: Floats) -> Floats:
    result: Floats = 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow, unlike 1/(1+exp(-x))
    return result


class SpeakerEncoder:
    def __init__(self, weights: dict[str, Floats]) -> None:
        self._w = weights
        self._layers = [
            (
                np.ascontiguousarray(weights[f"lstm.weight_ih_l{k}"].T),
                np.ascontiguousarray(weights[f"lstm.weight_hh_l{k}"].T),
                weights[f"lstm.bias_ih_l{k}"] + weights[f"lstm.bias_hh_l{k}"],
            )
            for k in range(3)
        ]

    def embed_windows(self, windows: Floats) -> Floats:
        """(batch, 160, 40) mel windows → (batch, 256) L2-normed embeddings.

        BLAS on one thread: the recurrent steps are 480 small products, and OpenBLAS's
        threads waiting on each other made them 10-20 times slower on a busy machine
        (0.6-1.9 s against 7-14 s for 28 s of speech, two cores and a load of 10)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return self._embed_windows(windows)

    def _embed_windows(self, windows: Floats) -> Floats:
        inputs = windows
        hidden = np.zeros((len(windows), 256), np.float32)
        for w_input, w_hidden, bias in self._layers:
            gates_in = inputs @ w_input + bias  # every step's input part at once
            hidden = np.zeros((len(windows), w_hidden.shape[0]), np.float32)
            cell = np.zeros_like(hidden)
            outputs = np.empty((len(windows), windows.shape[1], hidden.shape[1]), np.float32)
            for step in range(windows.shape[1]):
                gates = gates_in[:, step] + hidden @ w_hidden
                i, f, g, o = np.split(gates, 4, axis=1)  # torch's gate order
                cell = _sigmoid(f) * cell + _sigmoid(i) * np.tanh(g)
                hidden = _sigmoid(o) * np.tanh(cell)
                outputs[:, step] = hidden
            inputs = outputs
        raw = np.maximum(0.0, hidden @ self._w["linear.weight"].T + self._w["linear.bias"])
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        embedded: Floats = raw / np.maximum(norms, 1e-9)
        return embedded

    def embed(self, utterances: Sequence[Floats]) -> Floats:
        """One embedding per utterance (16 kHz mono float audio), all windows in one batch."""
        windows: list[Floats] = []
        owners: list[int] = []
        step = round(SAMPLE_RATE / WINDOWS_PER_SECOND / HOP)
        for index, audio in enumerate(utterances):
            mel = mel_frames(_normalised(audio))
            for start in range(0, max(1, len(mel) - WINDOW_FRAMES + step + 1), step):
                piece = mel[start : start + WINDOW_FRAMES]
                if len(piece) < WINDOW_FRAMES:
                    piece = np.pad(piece, ((0, WINDOW_FRAMES - len(piece)), (0, 0)))
                windows.append(piece)
                owners.append(index)
        partial = self.embed_windows(np.stack(windows))
        found = np.zeros((len(utterances), partial.shape[1]), np.float32)
        np.add.at(found, np.array(owners), partial)
        norms = np.linalg.norm(found, axis=1, keepdims=True)
        embedded: Floats = found / np.maximum(norms, 1e-9)
        return embedded


def _normalised(audio: Floats) -> Floats:
    """Raised to -30 dBFS when quieter (Resemblyzer's preprocessing; never lowered)."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if len(audio) else 0.0
    if rms <= 0:
        return audio
    gain = 10 ** ((TARGET_DBFS - 20 * np.log10(rms)) / 20)
    result: Floats = (audio * gain).astype(np.float32) if gain > 1 else audio
    return result


@functools.cache
def encoder() -> SpeakerEncoder:
    path = model_path()
    if path is None:
        raise DiarizationUnavailable(f"no speaker model installed ({INSTALL_HINT})")
    return SpeakerEncoder(load_weights(path))


# --- grouping ------------------------------------------------------------------------------


def cluster(
    embeddings: Floats,
    *,
    speakers: int | None = None,
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    threshold: float = SAME_SPEAKER,
) -> list[int]:
    """A speaker per embedding, numbered in order of first appearance."""
    count = len(embeddings)
    if count == 0:
        return []
    groups: list[list[int]] = [[i] for i in range(count)]
    similarity = embeddings @ embeddings.T
    low = max(1, speakers or min_speakers or 1)
    high = speakers or max_speakers or count
    while len(groups) > low:
        best, pair = -2.0, (0, 1)
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                value = float(similarity[np.ix_(groups[a], groups[b])].mean())
                if value > best:
                    best, pair = value, (a, b)
        if best < threshold and len(groups) <= high:
            break
        a, b = pair
        groups[a] += groups.pop(b)
    speaker_of = {}
    for group in groups:
        for member in group:
            speaker_of[member] = group
    order: dict[int, int] = {}
    labels = []
    for index in range(count):
        first = min(speaker_of[index])
        labels.append(order.setdefault(first, len(order)))
    return labels
