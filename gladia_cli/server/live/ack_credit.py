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

from array import array

from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.server.live.ingest import MAX_HOLD_BYTES, Received


def credit_limit(seconds: float, fmt: AudioFormat) -> int:
    """`seconds` of the session's audio in bytes, whole frames, and at most half of what the
    ingest compares after a reconnect: a client that resumes at its last acknowledgment
    without saying where (no resume hint) must still be placed exactly."""
    limit = min(round(seconds * fmt.bytes_per_second), MAX_HOLD_BYTES // 2)
    return max(fmt.frame_bytes, limit - limit % fmt.frame_bytes)


class AckCredit:
    """The held acknowledgments: where each chunk sits on the stream, in order; never its
    bytes (they are stored). A client that ignores the window (or a server withholding its
    acknowledgments on purpose) has every chunk beyond recognition held: 16 bytes each, not
    the chunk (a 10 h `--pace max` run held its audio, +98 MiB, when they were kept)."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit = max(1, limit_bytes)
        self._starts = array("q")
        self._ends = array("q")
        self._head = 0  # the first still held; those before it went out

    def __len__(self) -> int:
        return len(self._ends) - self._head

    @property
    def holding(self) -> bool:
        return len(self) > 0

    @property
    def held_bytes(self) -> int:
        """Stream bytes from the oldest held acknowledgment's start to the newest's end."""
        return self._ends[-1] - self._starts[self._head] if self.holding else 0

    def offer(self, received: Received, recognised: int) -> list[Received]:
        """`received` was stored; `recognised`: the stream offset recognition has reached.
        Returns the chunks to acknowledge now, in order (without their bytes)."""
        self._starts.append(received.start)
        self._ends.append(received.end)
        return self.progress(recognised)

    def progress(self, recognised: int) -> list[Received]:
        """Recognition reached `recognised`: the held chunks that may be acknowledged now."""
        first = self._head
        while self._head < len(self._ends) and self._ends[self._head] - recognised <= self.limit:
            self._head += 1
        return self._take(first, self._head)

    def release_all(self) -> list[Received]:
        """Everything held, at once (the recording stopped)."""
        first, self._head = self._head, len(self._ends)
        return self._take(first, self._head)

    def clear(self) -> None:
        """Forget what is held (its connection is gone: the client re-sends it)."""
        self._starts, self._ends, self._head = array("q"), array("q"), 0

    def _take(self, first: int, last: int) -> list[Received]:
        due = [Received(self._starts[i], self._ends[i], b"") for i in range(first, last)]
        if self._head > 4096 and self._head * 2 > len(self._ends):  # drop what went out
            del self._starts[: self._head]
            del self._ends[: self._head]
            self._head = 0
        return due
