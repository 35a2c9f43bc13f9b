"""Messages for people on stderr: `gladia: …` notices and `gladia: warning: …` warnings.

They go through the `Screen`, so they print above the live table and never between a data
line and the progress bar. Text from the server is passed through `plain()` by whoever
quotes it; here it is a rich `Text`, never markup.
"""

from __future__ import annotations

from rich.text import Text

from gladia_cli.render.screen import Screen
from gladia_cli.safe_text import plain


class Notices:
    def __init__(self, screen: Screen, quiet: bool) -> None:
        self.screen = screen
        self.quiet = quiet

    def _print(self, text: str, style: str) -> None:
        self.screen.notice(Text(plain(text), style=style))

    def info(self, text: str) -> None:
        """Progress of the session (connecting, stopping, done): silenced by --quiet."""
        if not self.quiet:
            self._print(f"gladia: {text}", "dim")

    def always(self, text: str) -> None:
        """What the person asked to be told (the caption page's address): never silenced."""
        self._print(f"gladia: {text}", "")

    def failure(self, text: str) -> None:
        """One failed input of a run over many, in its summary: never silenced."""
        self._print(f"gladia: {text}", "red")

    def warning(self, text: str) -> None:
        """Something the user must know (a reconnect, a failed add-on): never silenced."""
        self._print(f"gladia: warning: {text}", "yellow")
