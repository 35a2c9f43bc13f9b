"""A progress bar on stderr while a recording of known length streams.

Shown only when stderr is a terminal and the output is not the live table (which has its
own status line); rich prints the job's notices above it on the same console.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from gladia_cli.render.base import StatusView


class ProgressBar:
    def __init__(self, console: Console, name: str, total_seconds: float) -> None:
        self._name = name
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[detail]}", style="dim"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        )
        self._task = self._progress.add_task(name, total=total_seconds, detail="")

    def start(self) -> None:
        self._progress.start()

    def update(self, view: StatusView) -> None:
        detail = f"{view.state}, {view.sent_seconds:.1f} s sent"
        if view.reconnects:
            detail += f", {view.reconnects} reconnect{'s' if view.reconnects > 1 else ''}"
        self._progress.update(self._task, completed=view.sent_seconds, detail=detail)

    def stop(self) -> None:
        self._progress.stop()
