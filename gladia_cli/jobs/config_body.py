"""`--config FILE.json`: a request body read from a file, for `file`/`live`/`mix` (a `POST
/v2/live` body) and `transcribe` (a `POST /v2/pre-recorded` body); the flags are then laid
over it (protocol/body_flags.py). One reader, so both say a missing file, a file that
cannot be read, invalid JSON and JSON that is not an object the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gladia_cli.errors import UsageError


@dataclass(frozen=True)
class BodyKind:
    what: str  # the body, as the "must hold a JSON object (…)" error names it
    hint: str
    # Whether every error gets the hint, or only invalid JSON (as `file` has always said it).
    hint_on_every_error: bool = True
    not_found_hint: str | None = None
    drop: tuple[str, ...] = ()  # keys the command sets itself, whatever the file says


LIVE = BodyKind(
    "an init body", "--config takes a POST /v2/live body as JSON", hint_on_every_error=False
)
PRERECORDED = BodyKind(
    "a POST /v2/pre-recorded body",
    "--config takes a POST /v2/pre-recorded body as JSON",
    not_found_hint="check the path",
    drop=("audio_url",),  # each input brings its own
)


def load_body(path: Path | None, kind: BodyKind) -> dict[str, Any]:
    """The JSON object in `path` ({} without one); a UsageError (exit 2) otherwise."""
    if path is None:
        return {}
    hint = kind.hint if kind.hint_on_every_error else None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such config file: {path}", hint=kind.not_found_hint) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", hint=hint) from None
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})", hint=kind.hint
        ) from None
    if not isinstance(body, dict):
        raise UsageError(f"{path} must hold a JSON object ({kind.what})", hint=hint)
    for key in kind.drop:
        body.pop(key, None)
    return body
