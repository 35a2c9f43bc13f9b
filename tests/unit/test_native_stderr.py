"""libmpg123's lines kept off stderr while an MP3 decodes (audio/native_stderr.py); what
others write to descriptor 2 meanwhile still gets there, after the window."""

from __future__ import annotations

import os

import pytest

from gladia_cli.audio.native_stderr import without_decoder_noise

NOISE = b"[src/libmpg123/layer3.c:INT123_do_layer3():1774] error: part2_3_length (4032) too large\n"


def test_the_decoders_lines_are_dropped_and_the_rest_kept(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with without_decoder_noise():
        os.write(2, NOISE)
        os.write(2, b"gladia: warning: a notice from another thread\n")
        os.write(2, NOISE)
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "gladia: warning: a notice from another thread\nafter\n"


def test_inactive_it_changes_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with without_decoder_noise(active=False):
        os.write(2, NOISE)
    assert capfd.readouterr().err == NOISE.decode()


def test_windows_one_after_another_reuse_the_scratch_file(
    capfd: pytest.CaptureFixture[str],
) -> None:
    for n in range(3):
        with without_decoder_noise():
            os.write(2, NOISE + f"line {n}\n".encode())
    assert capfd.readouterr().err == "line 0\nline 1\nline 2\n"
