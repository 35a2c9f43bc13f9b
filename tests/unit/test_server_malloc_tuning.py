"""The server pins glibc's mmap threshold, unless the environment already chose one."""

from __future__ import annotations

import platform

import pytest

from gladia_cli.server.recognition import malloc_tuning


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_pinned_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(malloc_tuning.ENVIRONMENT, raising=False)
    monkeypatch.setattr(malloc_tuning.PROCESS, "decode_buffers_kept", False)  # no model here
    assert malloc_tuning.pin_mmap_threshold() is True


def test_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(malloc_tuning.ENVIRONMENT, "1048576")
    assert malloc_tuning.pin_mmap_threshold() is False


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_decode_buffers_kept_on_glibc_and_the_low_pin_then_yields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(malloc_tuning.ENVIRONMENT, raising=False)
    monkeypatch.setattr(malloc_tuning.PROCESS, "decode_buffers_kept", False)
    assert malloc_tuning.keep_decode_buffers() is True
    # A streaming command pinning the low threshold after its --local server's engine
    # loaded must not undo it.
    assert malloc_tuning.pin_mmap_threshold() is False
    monkeypatch.setattr(malloc_tuning.PROCESS, "decode_buffers_kept", False)
    assert malloc_tuning.pin_mmap_threshold() is True  # this test process as it was


def test_the_environment_wins_over_decode_buffers_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(malloc_tuning.ENVIRONMENT, "1048576")
    assert malloc_tuning.keep_decode_buffers() is False
