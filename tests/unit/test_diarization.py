"""The speaker encoder's pieces without the model where possible: the restricted reader of
its weights file, the mel features, the grouping of embeddings into speakers."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest

from gladia_cli.server.prerecorded import diarization


def test_the_weights_file_is_checked_before_it_is_read(tmp_path: Path) -> None:
    fake = tmp_path / "pretrained.pt"
    fake.write_bytes(b"not the model")
    with pytest.raises(diarization.DiarizationUnavailable, match="sha256 differs"):
        diarization.load_weights(fake)


def test_the_unpickler_builds_nothing_but_tensors() -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    with pytest.raises(pickle.UnpicklingError, match="not allowed"):
        diarization._Weights(io.BytesIO(pickle.dumps(Evil()))).load()


def test_the_installed_model_loads_offline_as_an_lstm() -> None:
    path = diarization.model_path()
    assert path is not None, f"install the speaker model: {diarization.INSTALL_HINT}"
    weights = diarization.load_weights(path)
    assert weights["lstm.weight_ih_l0"].shape == (1024, 40)
    assert weights["lstm.weight_hh_l2"].shape == (1024, 256)
    assert weights["linear.weight"].shape == (256, 256)


def test_mel_features_have_librosas_shape_and_place_a_tone() -> None:
    filters = diarization.mel_filters()
    assert filters.shape == (40, 201) and (filters >= 0).all()
    t = np.arange(16000) / 16000
    tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    mel = diarization.mel_frames(tone)
    assert mel.shape == (101, 40)  # centred frames: 1 + 16000 // 160
    peak = int(np.argmax(mel[50]))
    centres = np.argmax(filters, axis=1) * 16000 / 400  # each band's peak frequency
    assert abs(centres[peak] - 440) < 120


def _around(direction: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    points = direction + 0.05 * rng.standard_normal((count, len(direction)))
    normed: np.ndarray = points / np.linalg.norm(points, axis=1, keepdims=True)
    return normed


def test_grouping_numbers_speakers_in_order_and_honours_the_counts() -> None:
    rng = np.random.default_rng(3)
    a, b = np.eye(16)[0], np.eye(16)[1]
    first, second = _around(a, 3, rng), _around(b, 2, rng)
    embeddings = np.vstack([second[:1], first, second[1:]]).astype(np.float32)
    assert diarization.cluster(embeddings) == [0, 1, 1, 1, 0]
    assert diarization.cluster(embeddings, speakers=1) == [0] * 5
    assert len(set(diarization.cluster(embeddings, min_speakers=3))) == 3
    assert diarization.cluster(embeddings[:0]) == []


def test_doctor_checks_the_speaker_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from gladia_cli import diagnostics as d

    assert d.speaker_model_check().status == "ok"
    monkeypatch.setattr(diarization, "MODEL_SHA256", "0" * 64)
    tampered = d.speaker_model_check()
    assert tampered.status == "fail" and "sha256 differs" in tampered.detail
    monkeypatch.setattr(diarization, "model_path", lambda: None)
    missing = d.speaker_model_check()
    assert missing.status == "warn" and missing.fix == diarization.INSTALL_HINT
