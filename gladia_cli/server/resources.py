"""What the live and the pre-recorded routes share: one `ServerResources`, opened as the
server starts (app.py's cleanup context) and closed once, after the routes let go of it.

The live routes (live/routes.py) and the pre-recorded ones (prerecorded/routes.py) are each
handed it; neither reaches into the other for the engine, the folder or the clock.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gladia_cli.server.addons.runner import AddonRunner
from gladia_cli.server.clock import Clock
from gladia_cli.server.config import ServerConfig
from gladia_cli.server.data_dir import DataDir
from gladia_cli.server.recognition.transcriber_pool import TranscriberFactory, transcribers_for


class ServerResources:
    """The configuration, the clock, the server's folder, the engine (its transcribers and
    the threads that call them) and the add-ons."""

    def __init__(
        self,
        config: ServerConfig,
        clock: Clock,
        data: DataDir,
        transcribers: TranscriberFactory,
        executor: ThreadPoolExecutor,
        addons: AddonRunner,
    ) -> None:
        self.config = config
        self.clock = clock
        self.data = data
        self.transcribers = transcribers
        self.executor = executor
        self.addons = addons
        self._closed = False

    @classmethod
    def open(cls, config: ServerConfig, clock: Clock) -> ServerResources:
        # The sessions' and jobs' files: removed with the server, or kept in --data-dir
        # (first: a folder in use fails the start before any model is loaded).
        data = DataDir.at(Path(config.data_dir)) if config.data_dir else DataDir.temporary()
        try:
            transcribers = transcribers_for(
                config.engine,
                config.script_path,
                config.workers,
                model=config.model,
                decoders=config.decoders,
                faults=config.faults.recognition,
            )
        except BaseException:
            data.close()  # a start that failed leaves no folder and no lock behind
            raise
        # Threads that call the recognisers (or wait on their processes' pipes).
        executor = ThreadPoolExecutor(max(4, 2 * config.workers), thread_name_prefix="recognizer")
        # The add-ons' own worker threads (models loaded on first use); translation
        # borrows the engine's model when it can translate.
        addons = AddonRunner(config.addon_models, transcribers.translator())
        return cls(config, clock, data, transcribers, executor, addons)

    def close(self) -> None:
        """The recognisers' threads, the add-ons, the engine, then the folder; once."""
        if self._closed:
            return
        self._closed = True
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.addons.close()
        self.transcribers.close()
        self.data.close()
