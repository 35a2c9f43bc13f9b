"""Debian's Chromium, headless, for the caption page's tests (testing-recipes.md).

Two ways to look, both against a page a test's CLI serves on loopback:

- `DomDump`: `chromium --dump-dom --virtual-time-budget`, the page's DOM once its scripts
  ran (and, given a path, a screenshot). Virtual time stands still while a request is
  pending, so the dump comes once the CLI closes the event stream, then the budget runs
  (fades, reconnection attempts): the page as a person sees it after the session.
- `Browser`: one Chromium driven over the DevTools protocol (its WebSocket, with the
  project's websocket-client), for what happens while the session runs: a partial replaced
  by its final, the page outliving the CLI. Waits are for a condition, bounded.

Each starts with a fresh profile and without the background traffic that this machine's
closed network refuses.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import time
import zlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import websocket

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
)
_DEVTOOLS = re.compile(r"DevTools listening on (ws://\S+)")


def chromium() -> str:
    """The browser's path, or skip (the Makefile installs Debian's `chromium`)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


class DomDump:
    """One `chromium --dump-dom` run, started now; `result()` waits for the DOM."""

    def __init__(
        self,
        url: str,
        directory: Path,
        *,
        screenshot: Path | None = None,
        size: tuple[int, int] = (1280, 360),
        budget_ms: int = 5000,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._log = (directory / "chromium.log").open("wb")
        args = [
            chromium(),
            *FLAGS,
            f"--user-data-dir={directory / 'profile'}",
            f"--virtual-time-budget={budget_ms}",
            f"--window-size={size[0]},{size[1]}",
            "--hide-scrollbars",
            "--dump-dom",
        ]
        if screenshot is not None:
            args.append(f"--screenshot={screenshot}")
        self._process = subprocess.Popen(
            [*args, url], stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL
        )

    def result(self, timeout: float = 120) -> str:
        try:
            out, _ = self._process.communicate(timeout=timeout)
        finally:
            self.kill()
        return out.decode()

    def kill(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.communicate()
        self._log.close()


class Browser:
    """One headless Chromium and its DevTools connection."""

    def __init__(self, directory: Path, *, size: tuple[int, int] = (1280, 360)) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        log_path = directory / "chromium.log"
        self._log = log_path.open("wb")
        self._process = subprocess.Popen(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={directory / 'profile'}",
                f"--window-size={size[0]},{size[1]}",
                "--hide-scrollbars",
                "--remote-debugging-port=0",  # the port it took is in its log
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while (found := _DEVTOOLS.search(log_path.read_text(errors="replace"))) is None:
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise AssertionError(f"chromium did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.05)
        self._socket = websocket.create_connection(found.group(1), timeout=60, suppress_origin=True)
        self._next_id = 0

    def call(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        self._next_id += 1
        request: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            request["sessionId"] = session
        self._socket.send(json.dumps(request))
        while True:  # events of other pages and targets come in between: not ours
            reply = json.loads(self._socket.recv())
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def open(self, url: str) -> Page:
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        return Page(self, session["sessionId"])

    def close(self) -> None:
        if hasattr(self, "_socket"):
            self._socket.close()
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self._browser = browser
        self._session = session

    def evaluate(self, expression: str) -> Any:
        reply = self._browser.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, self._session
        )
        if "exceptionDetails" in reply:
            raise AssertionError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30) -> Any:
        """The expression's value once it is truthy (fails after `timeout` seconds). An
        error counts as not yet: the page may still be loading."""
        deadline = time.monotonic() + timeout
        error: AssertionError | None = None
        while True:
            try:
                value = self.evaluate(expression)
            except AssertionError as exc:
                value, error = None, exc
            else:
                error = None
            if value:
                return value
            assert time.monotonic() < deadline, f"never true: {expression} ({error})"
            time.sleep(0.05)

    def screenshot(self, path: Path) -> None:
        data = self._browser.call("Page.captureScreenshot", {"format": "png"}, self._session)
        path.write_bytes(base64.b64decode(data["data"]))


# --- reading a dumped DOM ----------------------------------------------------------------

_VOID = {"meta", "link", "br", "img", "input", "hr", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    @property
    def text(self) -> str:
        """The text, as textContent gives it (entities decoded)."""
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def elements(self) -> list[Node]:
        """Every element below, in document order."""
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                found += [child, *child.elements()]
        return found

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [
            e
            for e in self.elements()
            if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
        ]

    def by_id(self, element_id: str) -> Node:
        (found,) = [e for e in self.elements() if e.attrs.get("id") == element_id]
        return found

    def style(self) -> dict[str, str]:
        """The inline style the page's script set, as properties."""
        pairs = (p.split(":", 1) for p in self.attrs.get("style", "").split(";") if ":" in p)
        return {name.strip(): value.strip() for name, value in pairs}


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self._open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self._open[-1].children.append(node)
        if tag not in _VOID:
            self._open.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def parse_dom(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# --- reading a screenshot (no imaging library here: PNG is zlib and five row filters) -----


def png_pixels(path: Path) -> list[list[tuple[int, ...]]]:
    """An 8-bit RGB or RGBA PNG's pixels, row by row (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, chunks, header = 8, [], b""
    while position < len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height = int.from_bytes(header[:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour, interlace = header[8], header[9], header[12]
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 4 if colour == 6 else 3
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        method = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if method == 1:
                line[x] = (line[x] + left) & 0xFF
            elif method == 2:
                line[x] = (line[x] + up) & 0xFF
            elif method == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif method == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + best) & 0xFF
        rows.append(line)
        previous = line
    return [[tuple(row[x : x + channels]) for x in range(0, stride, channels)] for row in rows]
