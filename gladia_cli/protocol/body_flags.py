"""Command-line flags → a request body, as tables: where each flag's value goes (`Flag`),
and `body_from`, which lays the given flags over a body in the table's order.

The tables sit beside the validators of the bodies they build (`init_config.LIVE_FLAGS`,
`prerecorded_config.JOB_FLAGS`): what a flag sets is read in one line, and the order of the
table is the order of the keys in the body sent (and shown by --dry-run).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gladia_cli.errors import UsageError

Path = tuple[str, ...]


@dataclass(frozen=True)
class Flag:
    """One flag: `name` is what the command's options call it (what `values` is asked)."""

    name: str
    path: Path  # where its value goes
    convert: Callable[[Any], Any] | None = None  # the value as the body holds it
    switch: Path | None = None  # a boolean turned on with it (`translation` for --translate)
    replace: bool = False  # an object value replaces the body's there (else merges into it)
    only_with: str | None = None  # taken only when that flag is given too
    unless: Path | None = None  # not taken when the body already holds this path


def given(value: Any) -> bool:
    """Whether a flag was given: not None, not False, not empty (0 is a value)."""
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | tuple | dict) and not value)


def key_values(
    values: Sequence[str] | None, option: str, example: str | None = None
) -> dict[str, str]:
    """Repeated KEY=VALUE arguments as a mapping (VALUE may hold `=`; the last one of a key
    wins); a UsageError for one that is not, with `example` as the hint."""
    pairs: dict[str, str] = {}
    for value in values or []:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"{option} takes KEY=VALUE, not {value!r}",
                hint=f"for example {option} {example}" if example else None,
            )
        pairs[key] = rest
    return pairs


class _Body:
    def __init__(self, body: dict[str, Any], source: str, hint: str) -> None:
        self.body, self._source, self._hint = body, source, hint

    def holds(self, path: Path) -> bool:
        node: Any = self.body
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return False
            node = node[key]
        return True

    def _object(self, node: dict[str, Any], key: str) -> dict[str, Any]:
        """`node[key]`, which a flag is about to add to: it must be an object."""
        value = node.get(key) or {}
        if not isinstance(value, dict):
            raise UsageError(f"{key} in {self._source} must be a JSON object", hint=self._hint)
        return value

    def set(self, path: Path, value: Any, *, replace: bool) -> None:
        node = self.body
        for key in path[:-1]:
            node[key] = child = dict(self._object(node, key))
            node = child
        last = path[-1]
        if isinstance(value, dict) and not replace:
            value = {**self._object(node, last), **value}
        node[last] = value


def body_from(
    table: Sequence[Flag],
    values: Callable[[str], Any],
    body: dict[str, Any] | None = None,
    *,
    source: str = "",
    hint: str = "",
) -> dict[str, Any]:
    """`body` (a copy) with every given flag laid over it, in the table's order. `values`
    gives a flag's value by its name, asked in the table's order (so a value read from a
    file fails where its flag stands). An object a flag adds to must be one in `body`:
    otherwise a UsageError names `source` (the config file) with `hint`."""
    out = _Body(copy.deepcopy(body) if body else {}, source, hint)
    for flag in table:
        if flag.only_with is not None and not given(values(flag.only_with)):
            continue
        if flag.unless is not None and out.holds(flag.unless):
            continue
        value = values(flag.name)
        if not given(value):
            continue
        if flag.switch is not None:
            out.set(flag.switch, True, replace=True)
        out.set(flag.path, flag.convert(value) if flag.convert else value, replace=flag.replace)
    return out.body
