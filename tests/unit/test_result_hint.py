"""Hints after a stream that ended short of its result (jobs/stream_job.result_hint): with
--local the embedded server is gone with the command, so `gladia sessions get ID` cannot
work there (it failed with "no API key"); what was kept is named, or the loss said."""

from __future__ import annotations

from pathlib import Path

from gladia_cli.jobs.stream_job import result_hint

ID = "3f9a1c2e-8b20-4097-bbbf-256e7147b194"


def test_a_server_that_keeps_sessions_is_pointed_at() -> None:
    hint = result_hint("the result may come later", ID, local=False)
    assert hint == f"the result may come later: gladia sessions get {ID}"


def test_with_local_the_loss_is_said_plainly_and_how_to_keep_the_next_one() -> None:
    hint = result_hint("the result may come later", ID, local=True)
    assert "sessions get" not in hint and ID not in hint
    assert "the local server stopped with gladia, and the session with it" in hint
    assert "--record" in hint and "gladia serve" in hint


def test_with_local_and_a_recording_the_recording_is_named() -> None:
    hint = result_hint("x", ID, local=True, record=Path("talk.jsonl"), then="more: --stop-timeout")
    assert "sessions get" not in hint
    assert "every message received is in talk.jsonl (gladia replay talk.jsonl)" in hint
    assert hint.endswith("more: --stop-timeout")
