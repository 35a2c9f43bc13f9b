"""A plain HTTP client for the caption page's server-sent events (no browser): what a
page's EventSource does, one event at a time, so a test sees exactly what was sent."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Event:
    id: str
    name: str
    data: str

    @property
    def json(self) -> Any:
        return json.loads(self.data)


class SseStream:
    def __init__(
        self,
        url: str,
        *,
        last_event_id: str | None = None,
        host: str | None = None,
        timeout: float = 20.0,
    ) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(
            parts.hostname or "", parts.port, timeout=timeout
        )
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        if host is not None:
            headers["Host"] = host
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.status = self.response.status
        self.retry: int | None = None
        self.comments: list[str] = []

    def next(self) -> Event | None:
        """The next event; None when the server ended the stream."""
        event_id, name = "", "message"
        data: list[str] = []
        while True:
            raw = self.response.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    return Event(event_id, name, "\n".join(data))
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "":
                self.comments.append(value)
            elif field == "id":
                event_id = value
            elif field == "event":
                name = value
            elif field == "data":
                data.append(value)
            elif field == "retry":
                self.retry = int(value)

    def take(self, count: int) -> list[Event]:
        events: list[Event] = []
        for _ in range(count):
            event = self.next()
            assert event is not None, f"the stream ended after {events}"
            events.append(event)
        return events

    def rest(self) -> list[Event]:
        """Every event until the server ends the stream."""
        events: list[Event] = []
        while (event := self.next()) is not None:
            events.append(event)
        return events

    def close(self) -> None:
        self.connection.close()
