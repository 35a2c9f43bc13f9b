"""A stored session (`GET /v2/live/{id}`) as the messages a live run would have rendered,
so `gladia sessions get ID --format …` reuses the live renderers (pure, no I/O).

Its `result.transcription.utterances` become final `transcript` messages in time order,
and the result itself a `post_final_transcript` (its data, as the live API sends it), from
which the add-on sections are read.
"""

from __future__ import annotations

import json
from typing import Any

from gladia_cli.errors import NetworkError, UsageError
from gladia_cli.protocol.client_session import result_utterances
from gladia_cli.protocol.messages import ServerMessage, build_message, parse_server_message
from gladia_cli.render.base import Labels


def _message(message_type: str, session_id: str, created_at: str, **fields: Any) -> ServerMessage:
    raw = build_message(message_type, session_id, created_at, **fields)
    return parse_server_message(json.dumps(raw, ensure_ascii=False, separators=(",", ":")))


def stored_messages(session: dict[str, Any]) -> list[ServerMessage]:
    """The messages standing for a stored session's result; refused when it has none."""
    session_id = str(session.get("id", ""))
    status = session.get("status")
    result = session.get("result")
    utterances = result_utterances(result)
    if utterances is None or not isinstance(result, dict):
        raise NetworkError(
            f"session {session_id} has no transcript (status {status!r})",
            hint="a session in status queued or processing has its result later; "
            "--format json shows what the server holds",
        )
    created_at = str(session.get("completed_at") or session.get("created_at") or "")
    ordered = sorted(utterances, key=lambda u: (u.start, u.channel))
    messages = [
        _message(
            "transcript",
            session_id,
            created_at,
            data={"id": f"stored-{index}", "is_final": True, "utterance": u.to_dict()},
        )
        for index, u in enumerate(ordered)
    ]
    messages.append(_message("post_final_transcript", session_id, created_at, data=result))
    return messages


def stored_channels(session: dict[str, Any]) -> int:
    """The session's channel count: as the server stored it, else as its utterances show."""
    file = session.get("file")
    counted = file.get("number_of_channels") if isinstance(file, dict) else None
    if isinstance(counted, int) and not isinstance(counted, bool) and counted > 0:
        return counted
    params = session.get("request_params")
    channels = params.get("channels") if isinstance(params, dict) else None
    if isinstance(channels, int) and not isinstance(channels, bool) and channels > 0:
        return channels
    utterances = result_utterances(session.get("result")) or []
    return max((u.channel for u in utterances), default=0) + 1


def labels_of(label_option: str | None, channels: int) -> Labels:
    """`--label a,b` for a session of `channels` channels (one name per channel)."""
    if not label_option:
        return Labels((), channels)
    names = tuple(name.strip() for name in label_option.split(","))
    if len(names) != channels:
        raise UsageError(
            f"--label names {len(names)} channel{'s' if len(names) > 1 else ''} "
            f"but the session has {channels}",
            hint=f"give one name per channel, in channel order ({channels})",
        )
    return Labels(names, channels)
