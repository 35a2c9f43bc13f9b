"""The server's shared resources (server/resources.py): made as the server starts, handed
to the live and the pre-recorded routes alike, closed once after them."""

from __future__ import annotations

from pathlib import Path

import pytest

from gladia_cli.server.app import API, PRERECORDED, RESOURCES
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.data_dir import DataDir
from gladia_cli.server.runner import LocalServer


def test_both_rooms_are_handed_the_same_resources_closed_when_the_server_stops() -> None:
    server = LocalServer(ServerConfig(port=0, engine="scripted"))
    with server:
        assert server._runner is not None
        app = server._runner.app
        resources = app[RESOURCES]
        assert app[API].resources is resources
        assert app[PRERECORDED].resources is resources
        folder = resources.data.path
        assert folder.is_dir()
    with pytest.raises(RuntimeError):  # the recognisers' threads were shut down
        resources.executor.submit(print)
    assert not folder.exists()  # a temporary folder goes with the server


def test_a_start_that_fails_after_taking_the_folder_lets_go_of_it(tmp_path: Path) -> None:
    config = ServerConfig(
        port=0,
        engine="scripted",
        script_path=str(tmp_path / "missing.json"),
        data_dir=str(tmp_path),
    )
    with pytest.raises(FileNotFoundError):  # the engine's script, after the folder
        LocalServer(config).start()
    DataDir.at(tmp_path).close()  # not busy: the failed start left no lock behind
