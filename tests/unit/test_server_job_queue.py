"""The turn-taking of pre-recorded work across keys (server/prerecorded/job_queue.py), and the job's
decode loop using it (file_transcription.transcribe_file)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import soundfile

from gladia_cli.server.prerecorded.file_transcription import (
    BLOCK_SECONDS,
    JobCancelled,
    transcribe_file,
)
from gladia_cli.server.prerecorded.job_queue import (
    JOB_NICENESS,
    RoundRobin,
    Turns,
    background_priority,
)
from gladia_cli.server.recognition.transcriber_pool import transcribers_for


def test_owners_are_served_in_turn_whatever_their_backlog() -> None:
    queue: RoundRobin[str] = RoundRobin()
    for n in range(4):
        queue.push("flood", f"f{n}")
    queue.push("other", "o0")
    queue.push("third", "t0")
    queue.push("other", "o1")
    served = []
    while (item := queue.pop()) is not None:
        served.append(item[1])
    assert served == ["f0", "o0", "t0", "f1", "o1", "f2", "f3"]


def test_an_owner_not_eligible_is_passed_over_and_keeps_its_place() -> None:
    queue: RoundRobin[str] = RoundRobin()
    queue.push("a", "a0")
    queue.push("a", "a1")
    queue.push("b", "b0")
    assert queue.pop(lambda owner: owner != "a") == ("b", "b0")
    assert queue.pop() == ("a", "a0")
    assert queue.waiting("a") == 1 and len(queue) == 1


def test_a_discarded_item_leaves_the_queue() -> None:
    queue: RoundRobin[str] = RoundRobin()
    queue.push("a", "a0")
    queue.push("b", "b0")
    assert queue.discard("a0") and not queue.discard("a0")
    assert queue.pop() == ("b", "b0")
    assert queue.pop() is None


def _wait_until(condition: object, what: str) -> None:
    """Threads reach their wait at their own pace: bounded polling, no assertion on time."""
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.001)


def test_slots_go_round_robin_across_owners_not_first_come() -> None:
    turns = Turns(1)
    never = threading.Event()
    assert turns.acquire("flood", never)  # the flood's current block
    order: list[str] = []
    lock = threading.Lock()

    def block(owner: str) -> None:
        assert turns.acquire(owner, never)
        with lock:
            order.append(owner)
        turns.release()

    threads = []
    # The flood queues three more blocks before the other key asks for one.
    for n, owner in enumerate(["flood", "flood", "flood", "other"]):
        thread = threading.Thread(target=block, args=(owner,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda n=n: turns.waiting == n + 1, "a thread never waited")
    turns.release()
    for thread in threads:
        thread.join(10)
    assert order == ["flood", "other", "flood", "flood"]


def test_a_job_cancelled_while_waiting_leaves_without_a_slot() -> None:
    turns = Turns(1)
    never, cancelled = threading.Event(), threading.Event()
    assert turns.acquire("a", never)
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(turns.acquire("b", cancelled)))
    thread.start()
    _wait_until(lambda: turns.waiting == 1, "the thread never waited")
    cancelled.set()
    turns.wake()
    thread.join(10)
    assert result == [False] and turns.waiting == 0
    turns.release()
    assert turns.acquire("c", never)  # the slot was not lost


@pytest.fixture
def long_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "long.wav"
    noise = np.random.default_rng(7).standard_normal(16000 * 35) * 3000
    soundfile.write(path, noise.astype(np.int16), 16000)
    yield path


def test_every_block_of_a_job_is_decoded_inside_a_turn(long_file: Path) -> None:
    transcribers = transcribers_for("scripted", None, 1)
    turns_taken = 0

    @contextmanager
    def turn() -> Iterator[None]:
        nonlocal turns_taken
        turns_taken += 1
        yield

    try:
        transcribe_file(
            str(long_file), {}, transcribers, job_id="j", cancelled=threading.Event(), turn=turn
        )
    finally:
        transcribers.close()
    blocks = -(-35 // BLOCK_SECONDS)
    assert turns_taken == blocks + 1  # each block, then the end of the file


def test_a_job_cancelled_during_its_turn_wait_decodes_nothing_more(long_file: Path) -> None:
    transcribers = transcribers_for("scripted", None, 1)
    cancelled = threading.Event()

    @contextmanager
    def turn() -> Iterator[None]:
        cancelled.set()  # deleted while it waited for its turn
        yield

    try:
        with pytest.raises(JobCancelled):
            transcribe_file(
                str(long_file), {}, transcribers, job_id="j", cancelled=cancelled, turn=turn
            )
    finally:
        transcribers.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness: Linux")
def test_job_threads_run_at_a_lower_priority_than_the_event_loop() -> None:
    seen: list[int] = []

    def job_thread() -> None:
        background_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    thread = threading.Thread(target=job_thread)
    thread.start()
    thread.join(10)
    assert seen == [min(19, before + JOB_NICENESS)]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before  # only that one
