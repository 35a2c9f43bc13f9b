"""Requests that create things (`POST /v2/live`, `/v2/pre-recorded`, `/v2/upload`) are not
repeated blindly.

A reply lost on the way back (a reset, a reply cut inside its headers, a proxy's 502 after
the API acted) leaves the client not knowing whether the thing exists. Sending the request
again would make a second job (billed), a second stored file, an orphan live session. So
every create carries an id the client chose: in `custom_metadata` (`gladia_cli_request`),
which Gladia stores, returns and filters lists by, and in an `Idempotency-Key` header. After
such a failure the client lists by that id first (`GET …?custom_metadata=…`), and only
when nothing carries it sends the request again:

- a pre-recorded job found is the job: its id is used, nothing is created again;
- a live session found cannot be used (its WebSocket URL, with the token, was in the lost
  reply): it is deleted, having received no audio, and a new one is created;
- an upload has no metadata and no list: the header carries the id, and the local server
  answers a repeat with the first upload (other servers may store the file twice; no job
  is created by an upload).

The id is not added when the user's `custom_metadata` is not an object or would exceed
Gladia's 2000 characters with it; a lost reply then ends the command (exit 4) with the list
command to check, rather than risk a duplicate.
"""

from __future__ import annotations

import json
from typing import Any

from gladia_cli.protocol.init_config import CUSTOM_METADATA_MAX_CHARS

TAG = "gladia_cli_request"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def tagged(body: dict[str, Any], request_id: str) -> dict[str, Any] | None:
    """`body` with the id in its `custom_metadata`, or None when it cannot carry it."""
    metadata = body.get("custom_metadata", {})
    if not isinstance(metadata, dict):
        return None
    with_tag = {**metadata, TAG: request_id}
    if len(json.dumps(with_tag, separators=(",", ":"))) > CUSTOM_METADATA_MAX_CHARS:
        return None
    return {**body, "custom_metadata": with_tag}


def metadata_filter(request_id: str) -> str:
    """The `custom_metadata` query value of a list that finds it (Gladia's JSON form)."""
    return json.dumps({TAG: request_id}, separators=(",", ":"))


def carrying(listing: Any, request_id: str) -> list[dict[str, Any]]:
    """The items of a list answer that carry the id (checked here: a server may ignore the
    filter and list everything)."""
    items = listing.get("items") if isinstance(listing, dict) else None
    found = []
    for item in items if isinstance(items, list) else ():
        metadata = item.get("custom_metadata") if isinstance(item, dict) else None
        if isinstance(metadata, dict) and metadata.get(TAG) == request_id:
            found.append(item)
    return found
