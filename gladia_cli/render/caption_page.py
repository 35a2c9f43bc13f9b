"""The caption page `--web` serves (caption_page.html): one self-contained file, with the
policy a browser enforces on it.

The Content-Security-Policy allows exactly the page's own inline style and script (by their
sha256) and connections to the server that served it: nothing else is fetched (no CDN, no
font, no image) and nothing injected into it could run, even if a transcript's text were
ever treated as markup (the script never does: it sets textContent only).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from importlib import resources

_INLINE = re.compile(r"<(style|script)>(.*?)</\1>", re.DOTALL)


@dataclass(frozen=True)
class CaptionPage:
    body: bytes
    policy: str  # Content-Security-Policy


def _source_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


@functools.cache
def caption_page() -> CaptionPage:
    html = resources.files("gladia_cli.render").joinpath("caption_page.html").read_text("utf-8")
    hashes: dict[str, list[str]] = {"style": [], "script": []}
    for kind, content in _INLINE.findall(html):
        hashes[kind].append(_source_hash(content))
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(hashes['script'])}",
            f"style-src {' '.join(hashes['style'])}",
            "connect-src 'self'",
            "img-src data:",  # the empty favicon, so that the browser asks for none
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    return CaptionPage(html.encode(), policy)
