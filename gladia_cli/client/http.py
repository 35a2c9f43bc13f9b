"""The HTTP session every request to the API goes through: requests', with redirects that
never carry the key, nor a request's body, off its origin (protocol/origin.py says why and
what an origin is)."""

from __future__ import annotations

from typing import Any

import requests

from gladia_cli.protocol.origin import KEY_HEADER, same_origin, shown


class CrossOriginRedirect(requests.RequestException):
    """A redirect to another origin of a request that carries a body (the audio of an
    upload, a session's options): not followed."""


class KeySession(requests.Session):
    """requests' `rebuild_auth` runs on every redirect it follows; it drops `Authorization`
    when the host changes, and leaves any other header. Here `x-gladia-key` goes too, on
    any change of scheme, host or port (and stays gone on later hops, even back home); a
    307/308 that would re-send a body there is refused (a 301/302/303 turns a POST into a
    GET without its body, which may go)."""

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: Any) -> None:
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        previous = str(response.request.url) if response.request is not None else ""
        target = str(prepared_request.url)
        if same_origin(previous, target):
            return
        prepared_request.headers.pop(KEY_HEADER, None)
        if prepared_request.body is not None:
            raise CrossOriginRedirect(
                f"{shown(previous)} redirected {prepared_request.method} to {shown(target)}, "
                "another origin: not followed (the request's content would go there)"
            )


def left_origin(response: requests.Response, url: str) -> bool:
    """Whether `response` came from another origin than `url`'s, after redirects (the key
    was then not sent to whoever answered)."""
    return bool(response.history) and not same_origin(url, str(response.url))
