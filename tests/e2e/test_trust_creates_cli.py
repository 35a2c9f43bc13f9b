"""Issue 18, item 3: requests that create things are not repeated blindly. `gladia
transcribe` whose `POST /v2/pre-recorded` reply was lost once created 2 jobs (twice: 3), a
lost upload reply stored the file twice, a lost init reply left orphan live sessions, and
an init reply cut inside its headers was not retried ("not the Gladia API's JSON"). Through
tests/faultproxy.py, which cuts a reply after the server answered (it acted)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from gladia_cli.server.app import PRERECORDED
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import DATA, Run, run_cli
from tests.faultproxy import FaultProxy, Plan
from tests.support import HEADERS, local_server

WAV = DATA / "budget.wav"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with local_server() as running:
        yield running


def _through(server: LocalServer, plan: Plan, *args: str) -> tuple[Run, FaultProxy]:
    with FaultProxy(server.url, plan) as proxy:
        run = run_cli(*args, "--api-url", proxy.url)
    return run, proxy


def _listed(server: LocalServer, collection: str) -> list[dict[str, object]]:
    response = requests.get(f"{server.url}{collection}?limit=100", headers=HEADERS, timeout=10)
    items: list[dict[str, object]] = response.json()["items"]
    return items


def _uploads(server: LocalServer) -> int:
    assert server._runner is not None
    return len(server._runner.app[PRERECORDED].uploads)


@pytest.mark.parametrize(
    "cut",
    [("POST /v2/pre-recorded",), ("POST /v2/pre-recorded", "GET /v2/pre-recorded?")],
    ids=["the create's reply", "and the look's"],
)
def test_a_lost_job_reply_makes_no_second_job(server: LocalServer, cut: tuple[str, ...]) -> None:
    run, proxy = _through(server, Plan(cut_reply=cut), "transcribe", str(WAV), "-f", "text")
    assert len(proxy.stats.reply_cuts) == len(cut)
    assert run.code == 0, run.stderr
    assert len(_listed(server, "/v2/pre-recorded")) == 1
    assert "its reply was lost, but it was carried out" in run.stderr
    assert run.stdout.strip()  # the transcript of the one job


def test_a_lost_upload_reply_stores_the_file_once(server: LocalServer) -> None:
    run, proxy = _through(server, Plan(cut_reply=("POST /v2/upload",)), "transcribe", str(WAV))
    assert proxy.stats.reply_cuts == ["POST /v2/upload HTTP/1.1"]
    assert run.code == 0, run.stderr
    assert _uploads(server) == 1
    assert len(_listed(server, "/v2/pre-recorded")) == 1


@pytest.mark.parametrize("at", [0, 40], ids=["whole", "mid-headers"])
def test_a_lost_init_reply_leaves_no_orphan_session(server: LocalServer, at: int) -> None:
    plan = Plan(cut_reply=("POST /v2/live",), cut_reply_at=at)
    run, proxy = _through(server, plan, "file", str(WAV), "--pace", "max", "-f", "text")
    assert len(proxy.stats.reply_cuts) == 1
    assert run.code == 0, run.stderr
    assert "not the Gladia API's JSON" not in run.stderr
    sessions = _listed(server, "/v2/live")
    assert [s["status"] for s in sessions] == ["done"], sessions
    assert "(no audio) was deleted" in run.stderr


def test_a_create_that_cannot_be_looked_up_is_not_sent_again(server: LocalServer) -> None:
    """Metadata that leaves no room for the client's id (Gladia's 2000 characters): after a
    lost reply, exit 4 with where to look, not a second session."""
    filler = "x" * 1960
    plan = Plan(cut_reply=("POST /v2/live",))
    run, _ = _through(
        server, plan, "file", str(WAV), "--pace", "max", "--metadata", f"note={filler}"
    )
    assert run.code == 4, run.stderr
    assert "may have been created, so the request is not sent again" in run.stderr
    assert "gladia: hint: see whether it was: gladia sessions list" in run.stderr
    assert len(_listed(server, "/v2/live")) == 1


def test_the_client_id_is_in_the_metadata_of_what_it_created(server: LocalServer) -> None:
    run = run_cli("transcribe", str(WAV), "--api-url", server.url, "--metadata", "ticket=T-1")
    assert run.code == 0, run.stderr
    (job,) = _listed(server, "/v2/pre-recorded")
    metadata = job["custom_metadata"]
    assert isinstance(metadata, dict) and metadata["ticket"] == "T-1"
    assert isinstance(metadata["gladia_cli_request"], str)


def test_without_the_fault_nothing_is_looked_up(tmp_path: Path, server: LocalServer) -> None:
    run, proxy = _through(server, Plan(), "transcribe", str(WAV))
    assert run.code == 0 and "reply was lost" not in run.stderr
    assert proxy.stats.reply_cuts == []
