"""The HTTP half of the live API, with requests: create a session, and the REST endpoints.

Failures become the error tree's exit codes: 401/403 → 3 (auth), 400/422 → 2 (the server's
validation messages shown), unreachable / 5xx / retries exhausted → 4.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from gladia_cli import __version__
from gladia_cli.errors import (
    AuthError,
    GladiaError,
    NetworkError,
    SessionLimitReached,
    UsageError,
)
from gladia_cli.protocol.retry import RETRYABLE_STATUSES, Backoff, retry_after
from gladia_cli.safe_text import plain
from gladia_cli.settings import Settings

WAIT_POLL = Backoff(base=0.2, factor=2.0, cap=3.0, attempts=1)  # `get --wait`
FILE_TIMEOUT = 300.0  # a recording's download (the SDK's get_file timeout)
KEY_HINT = "run `gladia auth login` (or set GLADIA_API_KEY), or use --local to run offline"


@dataclass(frozen=True)
class CreatedSession:
    id: str
    url: str  # the WebSocket URL, carrying the session token: never print it
    created_at: str


def _server_message(response: requests.Response) -> str:
    """The error text a Gladia-shaped body carries, made safe to print on one line."""
    try:
        body = response.json()
    except ValueError:
        return plain(response.text[:200]) or response.reason or ""
    if not isinstance(body, dict):
        return ""
    errors = body.get("validation_errors")
    if isinstance(errors, list) and errors:
        return plain("; ".join(str(e) for e in errors))
    return plain(str(body.get("message", "")))


URL_HINT = "check --api-url, GLADIA_API_URL or the profile's api_url"


def json_body(response: requests.Response, what: str) -> dict[str, Any]:
    """The JSON object a 2xx answer carries. A server that is not the API (a web page, a
    proxy's login page) answers 200 too: that is a server error naming `what`, never a
    JSONDecodeError, nor a success."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        kind = response.headers.get("Content-Type") or "no content type"
        where = urlsplit(response.url)
        raise NetworkError(
            f"{where.scheme}://{where.netloc} answered {what} with something that is not the "
            f"Gladia API's JSON ({plain(kind)[:60]})",
            hint=URL_HINT,
        )
    return body


def _segment(value: str) -> str:
    """One URL path segment: `../admin` must not climb out of /v2/live/ (the key goes along)."""
    return quote(value, safe="")


class LiveApi:
    # The REST collection `get`, `list` and `delete` work on, and where a 404 sends people.
    collection = "/v2/live"
    noun = "session"  # what the collection holds, in messages
    list_command = "gladia sessions list"
    list_hint = "list sessions with: gladia sessions list"
    undeletable: tuple[str, ...] = ("processing",)  # statuses DELETE refuses (403)

    def __init__(
        self,
        settings: Settings,
        *,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 10.0,
        notice: Callable[[str], None] | None = None,
        raise_on_session_limit: bool = False,
    ) -> None:
        self._settings = settings
        # The embedded --local server stops with this command: nothing of it can be read later.
        self.is_local = settings.local
        self._raise_on_session_limit = raise_on_session_limit
        self._backoff = backoff or Backoff(base=0.5, attempts=4)
        self._sleep = sleep
        self._timeout = timeout
        self._notice = notice or (lambda _: None)
        self._http = requests.Session()
        self._http.headers["User-Agent"] = f"gladia-cli/{__version__}"
        self._http.trust_env = True

    def _headers(self) -> dict[str, str]:
        if not self._settings.api_key:
            raise AuthError("no API key", hint=KEY_HINT)
        return {"x-gladia-key": self._settings.api_key}

    def _request(
        self,
        method: str,
        path: str,
        *,
        retry: bool = False,
        timeout: float | None = None,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """`timeout` replaces the default one (an upload takes longer than a GET);
        `content_type` is the body's, for a `data=` body that is not a form."""
        url = self._settings.api_url + path
        timeout = timeout or self._timeout
        headers = self._headers()
        if content_type is not None:
            headers["Content-Type"] = content_type
        attempt = 0
        while True:
            seek = getattr(kwargs.get("data"), "seek", None)
            if seek is not None:
                seek(0)  # a retry re-sends a file from its start (the SDK's sends nothing)
            try:
                response = self._http.request(
                    method, url, headers=headers, timeout=timeout, **kwargs
                )
            except (requests.ConnectionError, requests.exceptions.ConnectTimeout) as exc:
                failure: str = f"cannot reach {self._settings.api_url} ({type(exc).__name__})"
                wait = None
            except requests.Timeout:
                raise NetworkError(
                    f"{self._settings.api_url} did not answer within {timeout:g} s",
                    hint="check your network, or try again later",
                ) from None
            except requests.RequestException as exc:
                raise NetworkError(f"request to {self._settings.api_url} failed: {exc}") from None
            else:
                if response.status_code < 400:
                    return response
                creating = method == "POST" and path == self.collection
                if response.status_code == 429 and creating and self._raise_on_session_limit:
                    detail = _server_message(response)
                    raise SessionLimitReached(
                        f"the API refused another {self.noun} (429)"
                        + (f": {detail}" if detail else "")
                    )
                if not (retry and response.status_code in RETRYABLE_STATUSES):
                    raise self._error(response)
                failure = f"the API answered {response.status_code}"
                wait = response.headers.get("Retry-After")
            attempt += 1
            if not retry or not self._backoff.allows(attempt):
                if retry:
                    failure += f"; gave up after {attempt} attempts"
                raise NetworkError(
                    failure,
                    hint="check --api-url and your network; --local runs a server on this machine",
                )
            delay = retry_after(wait, self._backoff.delay(attempt))
            self._notice(f"{failure}; retrying in {delay:.1f} s")
            self._sleep(delay)

    def _error(self, response: requests.Response) -> GladiaError:
        status = response.status_code
        detail = _server_message(response)
        suffix = f": {detail}" if detail else ""
        if status in (401, 403):
            return AuthError(f"the API refused the key ({status}){suffix}", hint=KEY_HINT)
        if status == 413:  # only an upload is ever that large
            return UsageError(
                f"the API refused the request ({status}){suffix}",
                hint="make the file smaller: fewer channels, a lower rate, or a compressed "
                "format (e.g. ffmpeg -i INPUT -ac 1 -ar 16000 -c:a libopus out.ogg)",
            )
        if status in (400, 422):
            return UsageError(f"the API refused the request ({status}){suffix}")
        if status == 404:
            return UsageError(f"not found (404){suffix}", hint=self.list_hint)
        return NetworkError(f"the API answered {status}{suffix}")

    def create_session(self, body: dict[str, Any]) -> CreatedSession:
        """`POST /v2/live`, retried on 408/429/5xx and network errors, with backoff."""
        params = {"region": self._settings.region} if self._settings.region else None
        response = self._request("POST", "/v2/live", json=body, params=params, retry=True)
        created = json_body(response, "POST /v2/live")
        try:
            return CreatedSession(
                id=str(created["id"]),
                url=str(created["url"]),
                created_at=str(created["created_at"]),
            )
        except (ValueError, KeyError, TypeError):
            raise NetworkError("the API answered POST /v2/live with an unexpected body") from None

    def get(self, session_id: str) -> dict[str, Any]:
        path = f"{self.collection}/{_segment(session_id)}"
        return json_body(self._request("GET", path, retry=True), f"GET {self.collection}/ID")

    def list(
        self, *, offset: int = 0, limit: int = 20, status: list[str] | None = None
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if status:
            params["status"] = status
        response = self._request("GET", self.collection, params=params, retry=True)
        return json_body(response, f"GET {self.collection}")

    def check_key(self) -> float:
        """`GET /v2/live?limit=1`: the cheapest authenticated request, which Gladia's API and
        the local server both answer. Its round-trip time in seconds; AuthError when the key
        is refused, NetworkError when the API cannot be reached (no retry: a check)."""
        started = time.perf_counter()
        response = self._request("GET", "/v2/live", params={"limit": 1})
        if not isinstance(json_body(response, "GET /v2/live").get("items"), list):
            raise NetworkError(
                f"{self._settings.api_url} answered GET /v2/live without a list of sessions",
                hint=URL_HINT,
            )
        return time.perf_counter() - started

    def download_file(self, session_id: str, into: Path) -> None:
        """`GET …/{id}/file`: the recording, streamed into the file `into`."""
        path = f"{self.collection}/{_segment(session_id)}/file"
        response = self._request("GET", path, retry=True, timeout=FILE_TIMEOUT, stream=True)
        try:
            with into.open("wb") as out:
                for piece in response.iter_content(1 << 16):
                    out.write(piece)
        except requests.RequestException as exc:
            raise NetworkError(f"the recording of {session_id} was cut short ({exc})") from None
        finally:
            response.close()

    def patch_metadata(self, session_id: str, metadata: dict[str, Any]) -> None:
        """`PATCH …/{id}`: attach `post_session_metadata` (Gladia keeps it with the session)."""
        path = f"{self.collection}/{_segment(session_id)}"
        self._request("PATCH", path, json={"post_session_metadata": metadata}, retry=True)

    def delete(self, session_id: str) -> None:
        self._request("DELETE", f"{self.collection}/{_segment(session_id)}")

    def wait_finished(
        self, item_id: str, *, on_status: Callable[[str], None] | None = None
    ) -> dict[str, Any]:
        """The session (or job) once done or in error, however long that takes (`X get
        --wait`; Ctrl-C ends it): polled from 0.2 s, doubling to every 3 s. `on_status`
        hears each new status."""
        attempt, last = 0, None
        while True:
            item = self.get(item_id)
            status = str(item.get("status"))
            if status != last and on_status is not None:
                on_status(status)
            last = status
            if status in ("done", "error"):
                return item
            attempt += 1
            self._sleep(WAIT_POLL.delay(attempt))

    def wait_until_done(self, session_id: str, timeout: float) -> dict[str, Any]:
        """The session's result, polling while it is still being processed."""
        deadline = time.monotonic() + timeout
        while True:
            session = self.get(session_id)
            if session.get("status") in ("done", "error") or time.monotonic() >= deadline:
                return session
            self._sleep(0.2)
