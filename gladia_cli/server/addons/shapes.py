"""Gladia's shapes shared by the add-ons: the result container and its error."""

from __future__ import annotations

from typing import Any


def container(
    results: Any, exec_time: float, error: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The add-on result wrapper used in post_final_transcript and GET results."""
    return {
        "success": error is None,
        "is_empty": not results,
        "exec_time": round(exec_time, 3),
        "error": error,
        "results": results,
    }


def addon_error(
    message: str, *, status_code: int = 500, exception: str = "Error"
) -> dict[str, Any]:
    """`AddonError` of a result container (protocol.md §3.5.1)."""
    return {"status_code": status_code, "exception": exception, "message": message}
