"""Keep glibc from hoarding freed audio buffers, so a long-running server's memory is flat.

glibc serves an allocation above its mmap threshold (128 KiB at first) with a mapping of
its own, given back to the system when freed. But each such free raises the threshold (up
to 32 MiB), so later buffers of that size (audio batches for the recogniser, socket reads)
come from the heap and the recogniser threads' arenas, whose holes are not given back. In
a 2 h soak the server's RSS grew 10–15 MiB that way while the Python heap (tracemalloc)
stayed at 2–4 MiB. Setting the threshold explicitly turns that adjustment off.

A process that runs Whisper needs the opposite for its decodes: CTranslate2 allocates and
frees its activations on every decode (base's attention over a 15 s window is 18 MB), and
under a 64 KiB threshold each one is a fresh mapping whose pages the kernel zeroes and
faults in again: 133,000 page faults and 0.3 s of system time per final, which made a
final 0.65 s instead of 0.40 (benchmarks/malloc_threshold.py). So once the model is loaded
(its weights loaded under the low threshold, so that their temporaries went back), the
Whisper engine raises both thresholds above those buffers (`keep_decode_buffers`): they are
then reused from the heap, as under glibc's sliding threshold, and the trim threshold still
gives back what is freed beyond them. From then on the low threshold is not set again in
this process (a streaming command pins it when it starts, whether or not its `--local`
server was built first): the decodes come first.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
# Below the threshold glibc started from: pinned at 64 KiB, a 2 h soak stayed within 3 MiB
# (128 KiB: within 5).
MMAP_THRESHOLD = 64 * 1024
ENVIRONMENT = "MALLOC_MMAP_THRESHOLD_"  # glibc's own tunable: the user's choice wins
# Above a decode's largest buffer (18 MB) and at glibc's own ceiling for the threshold
# (32 MiB on 64-bit); the trim threshold as large. A final 1.7× as fast; the server's peak
# RSS about 100 MiB higher (the freed buffers stay with the threads that decode).
DECODE_MMAP_THRESHOLD = 32 * 1024 * 1024
DECODE_TRIM_THRESHOLD = 32 * 1024 * 1024


class _Process:
    decode_buffers_kept = False  # a model decodes in this process (keep_decode_buffers)


PROCESS = _Process()


def pin_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold for this process; False where there is nothing to do
    (not glibc, or the environment already chose) or a model's decode buffers are kept."""
    if PROCESS.decode_buffers_kept:
        return False
    return set_malloc_option(M_MMAP_THRESHOLD, threshold)


def keep_decode_buffers() -> bool:
    """Let a model's decode buffers be reused from the heap (see the module docstring);
    False where there is nothing to do (not glibc, or the environment already chose)."""
    kept = set_malloc_option(M_MMAP_THRESHOLD, DECODE_MMAP_THRESHOLD) and set_malloc_option(
        M_TRIM_THRESHOLD, DECODE_TRIM_THRESHOLD
    )
    PROCESS.decode_buffers_kept = PROCESS.decode_buffers_kept or kept
    return kept


def set_malloc_option(parameter: int, value: int) -> bool:
    """glibc's `mallopt(parameter, value)`; False where there is nothing to do (not glibc,
    or the environment already chose) or glibc refused it."""
    if not sys.platform.startswith("linux") or ENVIRONMENT in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(parameter, value))
