"""The server's sessions: found by id (for their owner only) or token, and forgotten in time.

A finished session is evicted `ttl` seconds after its end, or earlier when more than
`max_finished` finished sessions are stored (the oldest first); its folder (audio,
messages, result: see session_files.py) goes with it. The bound is a count of sessions,
which is enough for memory: a stored session's memory does not grow with its length (its
disk does). Unfinished sessions are never evicted: they finish on their own (idle timeout,
maximum duration), then age like the others.
"""

from __future__ import annotations

import asyncio
import logging

from gladia_cli.server.clock import Clock
from gladia_cli.server.live.live_session import LiveSession
from gladia_cli.server.live.stored_session import StoredSession

# A session of this server, or one an earlier server left in --data-dir.
Session = LiveSession | StoredSession

log = logging.getLogger("gladia.server")


class SessionStore:
    def __init__(self, clock: Clock, *, ttl: float, max_finished: int) -> None:
        self._clock = clock
        self._ttl = ttl
        self._max_finished = max_finished
        self.by_id: dict[str, Session] = {}
        self.by_token: dict[str, Session] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def add(self, session: Session) -> None:
        self.by_id[session.id] = session
        self.by_token[session.token] = session

    def get(self, session_id: str, owner: str) -> Session | None:
        """The session, if `owner` created it (others get None, as for an unknown id)."""
        self.sweep()
        session = self.by_id.get(session_id)
        return session if session is not None and session.owner == owner else None

    def by_token_of(self, token: str) -> Session | None:
        self.sweep()
        return self.by_token.get(token)

    def visible(self, owner: str) -> list[Session]:
        self.sweep()
        return [s for s in self.by_id.values() if s.owner == owner]

    def active(self) -> int:
        return sum(not s.finished.is_set() for s in self.by_id.values())

    def _forget(self, session: Session) -> None:
        self.by_id.pop(session.id, None)
        self.by_token.pop(session.token, None)

    async def remove(
        self, session: Session, *, shutting_down: bool = False, keep_files: bool = False
    ) -> None:
        self._forget(session)
        await session.close(shutting_down=shutting_down, keep_files=keep_files)

    def sweep(self) -> None:
        """Evict what is past its TTL, then the oldest finished beyond the bound."""
        now = self._clock.now()
        finished = sorted(
            (s for s in self.by_id.values() if s.finished_at is not None),
            key=lambda s: s.finished_at or 0.0,
        )
        expired = [s for s in finished if now - (s.finished_at or 0.0) >= self._ttl]
        survivors = finished[len(expired) :]
        excess = max(0, len(survivors) - self._max_finished)
        for session in expired + survivors[:excess]:
            if session.connection is not None and session.reconnectable:
                continue  # still delivering its end: evicted on a later sweep
            log.info("session %s: evicted", session.id)
            self._forget(session)  # gone for every request from now on
            task = asyncio.get_running_loop().create_task(session.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def sweep_forever(self, every: float) -> None:
        while True:
            await self._clock.sleep_until(self._clock.now() + every)
            self.sweep()

    async def close_all(self, *, keep_files: bool = False) -> None:
        """Server shutdown: every session, live connections closed with 1001; their files
        stay when `keep_files` (a --data-dir)."""
        sessions = list(self.by_id.values())
        await asyncio.gather(
            *(self.remove(s, shutting_down=True, keep_files=keep_files) for s in sessions),
            *self._closing,
            return_exceptions=True,
        )
