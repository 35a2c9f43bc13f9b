"""How slowly a client may send before the server stops waiting for it.

Every connection costs a file descriptor and some memory; a client that drips its request
a byte at a time (slowloris) holds both for as long as it likes unless each stage has a
deadline. The deadlines are real time on purpose: they are the network's pace, not a
session's (session timers use the injected clock).

- The request line and headers: `HEADER_SECONDS` from the connection's start or the end of
  its previous response (aiohttp's keep-alive timer, which also closes idle connections).
- A JSON body (at most 2 MiB): `BODY_SECONDS` in all.
- An upload (up to 1000 MB): at least `UPLOAD_WINDOW_BYTES` in every `UPLOAD_WINDOW_SECONDS`
  (`Progress`), so a slow but honest client is served and a dripping one is not.
"""

from __future__ import annotations

HEADER_SECONDS = 10.0
BODY_SECONDS = 10.0
UPLOAD_WINDOW_SECONDS = 10.0
UPLOAD_WINDOW_BYTES = 64 * 1024


class Progress:
    """A stream that must bring `min_bytes` in every `window` seconds (until it ends).

    `remaining(now)` is how long the next read may wait; at 0 the sender is too slow.
    Each window starts when the previous one got its bytes, so a burst does not buy an
    idle minute later (at most one window of credit).
    """

    def __init__(self, now: float, *, window: float, min_bytes: int) -> None:
        self.window = window
        self.min_bytes = min_bytes
        self._window_start = now
        self._in_window = 0

    def received(self, count: int, now: float) -> None:
        self._in_window += count
        if self._in_window >= self.min_bytes:
            self._window_start = now
            self._in_window = 0

    def remaining(self, now: float) -> float:
        return max(0.0, self._window_start + self.window - now)

    def describe(self) -> str:
        """The rule in words, for the client's 408."""
        return f"less than {self.min_bytes // 1024} KB received in {self.window:g} s"
