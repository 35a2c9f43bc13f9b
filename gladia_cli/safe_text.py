"""Text from a server is untrusted: shown as plain text, without control characters."""

from __future__ import annotations

import re

# C0 and C1 controls (ESC included: no terminal escape sequence gets through), but not tab.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def plain(text: str) -> str:
    """`text` with control characters removed and newlines folded into spaces."""
    return _CONTROL.sub(lambda m: " " if m.group() in "\n\r" else "", text)
