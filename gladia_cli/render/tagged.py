"""Standard output shared by the inputs of a run over many (`gladia file A B`, no
--output-dir): each line says which input it belongs to, since with --jobs they interleave.

- jsonl: each line is Gladia's message byte for byte, with one top-level key added last,
  `"source"`: the input as given (`jq 'select(.source == "a.wav")'`). Adding a key keeps
  every existing jq filter working, where a wrapper object or header lines would not.
- text: each line starts with the input and a colon, as grep prints several files
  (`a.wav: [ch0] hello`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TextIO

from gladia_cli.render.output import Output

SOURCE_KEY = "source"


def with_source(line: str, source: str) -> str:
    """`{…}` → `{…,"source":"a.wav"}`, the rest of the line untouched."""
    body = line.rstrip()
    if not body.endswith("}"):
        return line  # not an object: nothing to add to (Gladia sends objects)
    inner = body[:-1].rstrip()
    tag = f"{json.dumps(SOURCE_KEY)}:{json.dumps(source, ensure_ascii=False)}"
    separator = "" if inner.endswith("{") else ","
    return f"{inner}{separator}{tag}}}"


class SourceTaggedOutput(Output):
    def __init__(
        self,
        stream: TextIO,
        source: str,
        fmt: str,
        *,
        guard: Callable[[], AbstractContextManager[None]] | None = None,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(stream, guard=guard, on_closed=on_closed)
        self._source = source
        self._fmt = fmt

    def line(self, text: str) -> None:
        if self._fmt == "jsonl":
            self.write(with_source(text, self._source) + "\n")
        else:
            self.write("".join(f"{self._source}: {part}\n" for part in text.split("\n")))
