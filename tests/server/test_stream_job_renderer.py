"""The stream job closes the renderer it is given once, on every path (the command no
longer closes it again), and the run's verdict is the job's."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from gladia_cli.audio.file_source import open_file_source
from gladia_cli.environment import Environment
from gladia_cli.errors import NetworkError
from gladia_cli.jobs.signals import ExternalSignals
from gladia_cli.jobs.stream_job import StreamJob, run_stream_job
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.render.base import NullRenderer, SessionOutcome
from gladia_cli.render.notices import Notices
from gladia_cli.render.screen import Screen
from gladia_cli.settings import Settings
from tests.support import local_server

DATA = Path(__file__).resolve().parents[1] / "data"


class Counting(NullRenderer):
    """A renderer that counts how often it is finished and closed."""

    def __init__(self) -> None:
        self.closes = 0
        self.finished = 0

    def finish(self, outcome: SessionOutcome) -> None:
        self.finished += 1

    def close(self) -> None:
        self.closes += 1


@contextlib.contextmanager
def _job(settings: Settings, renderer: Counting) -> Iterator[StreamJob]:
    source = open_file_source(str(DATA / "book_table.wav"))
    wire = AudioFormat(sample_rate=source.format.sample_rate, channels=source.format.channels)
    body = {
        "encoding": wire.encoding,
        "bit_depth": wire.bit_depth,
        "sample_rate": wire.sample_rate,
        "channels": wire.channels,
        "messages_config": {"receive_acknowledgments": True, "receive_errors": True},
    }
    try:
        yield StreamJob(settings, body, source, wire, renderer, pace=None)
    finally:
        source.close()


def _notices() -> Notices:
    return Notices(Screen(Environment()), quiet=True)


def test_a_whole_session_closes_the_renderer_once() -> None:
    renderer = Counting()
    with local_server() as server:
        settings = Settings(api_url=server.url, api_key="any")
        with _job(settings, renderer) as job:
            code = run_stream_job(job, _notices(), ExternalSignals())
    assert code == 0 and renderer.finished == 1 and renderer.closes == 1


def test_a_job_that_never_starts_still_closes_it_once() -> None:
    @contextlib.contextmanager
    def no_server(settings: Settings) -> Iterator[Settings]:
        raise NetworkError("no server today")
        yield settings

    renderer = Counting()
    job = _job(Settings(api_key="any"), renderer)
    with job as ready, pytest.raises(NetworkError, match="no server today"):
        run_stream_job(ready, _notices(), ExternalSignals(), server_for=no_server)
    assert renderer.closes == 1 and renderer.finished == 0
