"""WebSocket close codes: what each side uses, and which ones a client may retry.

Gladia documents 1000 (finished, do not reconnect), 1009 (frame over 1 MiB) and the
4400–4499 range (the client sent something wrong: reading the reason is the fix, reconnecting
is not). The 44xx codes below are the local server's choices for cases Gladia leaves
undocumented (protocol.md §10).
"""

from __future__ import annotations

NORMAL = 1000
GOING_AWAY = 1001
ABNORMAL = 1006  # no close frame received: a dropped connection
MESSAGE_TOO_BIG = 1009
INTERNAL_ERROR = 1011

BAD_MESSAGE = 4400  # malformed JSON, invalid base64, a chunk that is not whole frames
INVALID_TOKEN = 4401  # no session has this token
SESSION_FINISHED = 4410  # the session ended and everything was delivered
SUPERSEDED = 4409  # another connection took over this session

CLIENT_ERROR_RANGE = range(4400, 4500)

MAX_FRAME_BYTES = 1024 * 1024


def is_retryable(code: int | None) -> bool:
    """Whether a client should reconnect to the same URL after a close with `code`.

    `None` means the connection broke without a close frame: always worth a retry.
    """
    if code is None:
        return True
    return code != NORMAL and code not in CLIENT_ERROR_RANGE
