"""Requests repeated after a lost reply: the `Idempotency-Key` a client sends with a create
(protocol/create_tag.py), and what the first request with it created.

Uploads have no `custom_metadata` for a client to look them up by, so a client whose
`POST /v2/upload` reply was lost can only send it again; with the same key, it gets the
first upload back and the file is stored once. Keys are per owner (one key's client cannot
reach another's uploads) and bounded in number (the oldest forgotten first).
"""

from __future__ import annotations

from collections import OrderedDict

MAX_KEYS = 10_000
MAX_KEY_CHARS = 200  # longer values are not remembered (a key is a client's id, not data)


class RepeatedRequests:
    def __init__(self, limit: int = MAX_KEYS) -> None:
        self._limit = limit
        self._first: OrderedDict[tuple[str, str], str] = OrderedDict()

    def first(self, owner: str, key: str | None) -> str | None:
        """The id the first request with this key created, if one did."""
        if not key or len(key) > MAX_KEY_CHARS:
            return None
        return self._first.get((owner, key))

    def remember(self, owner: str, key: str | None, created: str) -> None:
        if not key or len(key) > MAX_KEY_CHARS:
            return
        self._first[(owner, key)] = created
        self._first.move_to_end((owner, key))
        while len(self._first) > self._limit:
            self._first.popitem(last=False)
