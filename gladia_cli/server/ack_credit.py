"""When a chunk's acknowledgment goes out: the server's back-pressure on a fast client (no I/O).

A session whose recognition falls behind must slow its client down without looking dead.
Not reading the socket would do it (TCP pushes back), but then pings go unanswered, a
stop_recording waits behind megabytes of audio, and clients (ours, the official SDK) call
the connection dead and reconnect, again and again. So the server always reads, stores what
arrives (on disk: it costs no memory), and holds back *acknowledgments* instead:

- A chunk ending at stream offset `end` is acknowledged once recognition has reached
  `end - limit`, i.e. once it is at most `limit` bytes ahead of what was recognised.
  Acknowledgments go out in order; a held one holds those after it.
- A client that keeps a bounded window of unacknowledged audio (ours does, for sources that
  can wait) then sends at recognition's pace, `limit` + its window ahead at most, while pings,
  pongs, transcripts and the stop go through as usual. A client that ignores the window is
  not slowed, but costs only disk: recognition reads the stored stream.
- At the stop every held acknowledgment goes out (the audio is stored; the client must see
  it all acknowledged), and a new connection starts with none held (the client re-sends
  what it did not see acknowledged, and the first acknowledgment of a connection must be
  for its first bytes).
"""

from __future__ import annotations

from collections import deque

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.ingest import MAX_HOLD_BYTES, Received


def credit_limit(seconds: float, fmt: AudioFormat) -> int:
    """`seconds` of the session's audio in bytes, whole frames, and at most half of what the
    ingest compares after a reconnect: a client that resumes at its last acknowledgment
    without saying where (no resume hint) must still be placed exactly."""
    limit = min(round(seconds * fmt.bytes_per_second), MAX_HOLD_BYTES // 2)
    return max(fmt.frame_bytes, limit - limit % fmt.frame_bytes)


class AckCredit:
    def __init__(self, limit_bytes: int) -> None:
        self.limit = max(1, limit_bytes)
        self._held: deque[Received] = deque()

    @property
    def holding(self) -> bool:
        return bool(self._held)

    @property
    def held_bytes(self) -> int:
        """Stream bytes from the oldest held acknowledgment's start to the newest's end."""
        return self._held[-1].end - self._held[0].start if self._held else 0

    def offer(self, received: Received, recognised: int) -> list[Received]:
        """`received` was stored; `recognised`: the stream offset recognition has reached.
        Returns the chunks to acknowledge now, in order."""
        self._held.append(received)
        return self.progress(recognised)

    def progress(self, recognised: int) -> list[Received]:
        """Recognition reached `recognised`: the held chunks that may be acknowledged now."""
        due = []
        while self._held and self._held[0].end - recognised <= self.limit:
            due.append(self._held.popleft())
        return due

    def release_all(self) -> list[Received]:
        """Everything held, at once (the recording stopped)."""
        due, self._held = list(self._held), deque()
        return due

    def clear(self) -> None:
        """Forget what is held (its connection is gone: the client re-sends it)."""
        self._held.clear()
