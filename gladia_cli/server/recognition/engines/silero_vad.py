"""Streaming Silero VAD v6: one speech probability per 512-sample frame (32 ms at 16 kHz).

The ONNX file ships inside faster-whisper (`faster_whisper/assets/silero_vad_v6.onnx`).
Frames are counted from the start of the stream; each is run with the 64 samples before
it as context and the LSTM state of the frame before, one frame per call, so the
probabilities depend only on the samples, never on how `feed` calls cut them (a batched
call gave bit-identical results here, but one frame per call makes it hold by
construction and costs ~0.05 ms per 32 ms frame). The ONNX session is shared by every
channel (onnxruntime's `run` is thread-safe and releases the GIL); each `StreamingVad`
carries its own state.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

FRAME_SAMPLES = 512
CONTEXT_SAMPLES = 64
STATE_SHAPE = (1, 1, 128)

Floats = npt.NDArray[np.float32]


class _Shared:
    session: Any = None
    lock = threading.Lock()


def model_path() -> Path:
    from faster_whisper.utils import get_assets_path

    return Path(get_assets_path()) / "silero_vad_v6.onnx"


def shared_session() -> Any:
    """One onnxruntime session per process, single-threaded (the frames are tiny)."""
    with _Shared.lock:
        if _Shared.session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.inter_op_num_threads = 1
            options.intra_op_num_threads = 1
            options.enable_cpu_mem_arena = False
            options.log_severity_level = 4  # nothing on stderr
            _Shared.session = onnxruntime.InferenceSession(
                str(model_path()), providers=["CPUExecutionProvider"], sess_options=options
            )
        return _Shared.session


class StreamingVad:
    """Speech probabilities of consecutive frames; partial frames wait for more samples."""

    def __init__(self, session: Any | None = None) -> None:
        self._session = session if session is not None else shared_session()
        self._h = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self.frames = 0  # frames processed since the stream started

    def feed(self, samples: Floats) -> list[float]:
        """Probabilities of the frames completed by `samples` (float32 in [-1, 1])."""
        stream = np.concatenate([self._pending, samples.astype(np.float32, copy=False)])
        whole = len(stream) - len(stream) % FRAME_SAMPLES
        self._pending = stream[whole:]
        probabilities = []
        for start in range(0, whole, FRAME_SAMPLES):
            frame = stream[start : start + FRAME_SAMPLES]
            window = np.concatenate([self._context, frame])[np.newaxis, :]
            output, self._h, self._c = self._session.run(
                None, {"input": window, "h": self._h, "c": self._c}
            )
            self._context = frame[-CONTEXT_SAMPLES:]
            probabilities.append(float(np.asarray(output).reshape(-1)[0]))
            self.frames += 1
        return probabilities
