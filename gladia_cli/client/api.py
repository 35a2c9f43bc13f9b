"""The HTTP half of the live API, with requests: create a session, and the REST endpoints.

Failures become the error tree's exit codes: 401/403 → 3 (auth), 400/422 → 2 (the server's
validation messages shown), unreachable / 5xx / retries exhausted → 4.
"""

from __future__ import annotations

import builtins
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3

from gladia_cli import __version__
from gladia_cli.client.http import CrossOriginRedirect, KeySession, left_origin
from gladia_cli.errors import (
    AuthError,
    GladiaError,
    NetworkError,
    SessionLimitReached,
    UsageError,
)
from gladia_cli.protocol.create_tag import (
    IDEMPOTENCY_HEADER,
    carrying,
    metadata_filter,
    tagged,
)
from gladia_cli.protocol.origin import KEY_HEADER, shown, socket_allowed
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


@dataclass(frozen=True)
class _Failed:
    """A try that failed in a way worth trying again."""

    reason: str
    unsure: bool = False  # the server may have acted on it (its reply lost or cut short)
    wait: str | None = None  # Retry-After


def _never_sent(exc: requests.RequestException) -> bool:
    """A connection error from before the request left (the connection never opened)."""
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)
    return isinstance(reason, urllib3.exceptions.NewConnectionError | ConnectionRefusedError)


def cut_short(response: requests.Response) -> bool:
    """An answer whose end was the connection's end (no Content-Length, not chunked) and
    whose body is not the JSON the API always sends: cut short, maybe inside its headers
    (http.client reads an end of stream there as the end of the headers)."""
    framed = "Content-Length" in response.headers or "chunked" in response.headers.get(
        "Transfer-Encoding", ""
    )
    if framed or response.status_code in (204, 304):
        return False
    try:
        response.json()
    except ValueError:
        return True
    return False


def new_request_id() -> str:
    """The id a create carries (protocol/create_tag.py)."""
    return uuid.uuid4().hex


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
        self._http = KeySession()
        self._http.headers["User-Agent"] = f"gladia-cli/{__version__}"
        self._http.trust_env = True

    def _headers(self) -> dict[str, str]:
        if not self._settings.api_key:
            raise AuthError("no API key", hint=KEY_HINT)
        return {KEY_HEADER: self._settings.api_key}

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
        `content_type` is the body's, for a `data=` body that is not a form. A request that
        creates something goes through `_create` instead."""
        headers = self._headers()
        if content_type is not None:
            headers["Content-Type"] = content_type
        attempt = 0
        while True:
            outcome = self._attempt(method, path, headers, timeout, retry=retry, **kwargs)
            if isinstance(outcome, requests.Response):
                return outcome
            attempt += 1
            self._back_off(outcome, attempt, retry=retry)

    def _create(
        self,
        path: str,
        *,
        look: Callable[[], dict[str, Any] | None] | None,
        request_id: str,
        timeout: float | None = None,
        content_type: str | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """`POST path` that creates something, retried as `_request(retry=True)` would, but
        never blindly: after a failure the server may have acted on (the reply lost or cut
        short, a 5xx), `look` finds what the lost request created (by the client's id in
        `custom_metadata`, protocol/create_tag.py) before anything is sent again; with no
        way to look (`look` None) it is not sent again — unless it is an upload (`data=`),
        which creates no job: its `Idempotency-Key` header (the same id on every try) lets
        the local server answer a repeat with the first upload."""
        headers = {**self._headers(), IDEMPOTENCY_HEADER: request_id}
        if content_type is not None:
            headers["Content-Type"] = content_type
        what = f"POST {path}"
        attempt, unsure = 0, False
        while True:
            outcome: requests.Response | _Failed | None = None
            if unsure and look is not None:
                try:
                    found = look()
                except GladiaError as exc:
                    outcome = _Failed(
                        f"{what}: its reply was lost, and whether it was carried out could not "
                        f"be checked ({exc.message})",
                        unsure=True,
                    )
                else:
                    if found is not None:
                        self._notice(f"{what}: its reply was lost, but it was carried out")
                        return found
            if outcome is None:
                outcome = self._attempt("POST", path, headers, timeout, retry=True, **kwargs)
                if isinstance(outcome, requests.Response):
                    return json_body(outcome, what)
                unsure = outcome.unsure
                if unsure and look is None and kwargs.get("data") is None:
                    raise NetworkError(
                        f"{outcome.reason}; the {self.noun} may have been created, so the "
                        "request is not sent again",
                        hint=f"see whether it was: {self.list_command}",
                    )
            assert isinstance(outcome, _Failed)
            attempt += 1
            self._back_off(outcome, attempt, retry=True)

    def _attempt(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        timeout: float | None,
        *,
        retry: bool,
        **kwargs: Any,
    ) -> requests.Response | _Failed:
        """One try: the answer, or a failure worth trying again (the others raise)."""
        url = self._settings.api_url + path
        timeout = timeout or self._timeout
        seek = getattr(kwargs.get("data"), "seek", None)
        if seek is not None:
            seek(0)  # a retry re-sends a file from its start (the SDK's sends nothing)
        try:
            response = self._http.request(method, url, headers=headers, timeout=timeout, **kwargs)
        except requests.exceptions.ConnectTimeout:
            return _Failed(f"cannot reach {self._settings.api_url} (ConnectTimeout)")
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            # A reset or a reply cut short: the request may have been carried out.
            reason = f"cannot reach {self._settings.api_url} ({type(exc).__name__})"
            return _Failed(reason, unsure=not _never_sent(exc))
        except CrossOriginRedirect as exc:
            raise NetworkError(str(exc), hint=URL_HINT) from None
        except requests.Timeout:
            raise NetworkError(
                f"{self._settings.api_url} did not answer within {timeout:g} s",
                hint="check your network, or try again later",
            ) from None
        except requests.RequestException as exc:
            raise NetworkError(f"request to {self._settings.api_url} failed: {exc}") from None
        if response.status_code < 400 and left_origin(response, url):
            self._notice(
                f"{self._settings.api_url} redirected to {shown(response.url)}, another "
                "origin: the API key was not sent there"
            )
        if response.status_code < 400:
            if cut_short(response):
                # The connection ended inside the headers, or before a body with no length:
                # http.client takes that end for the end of the headers. A reset, really.
                return _Failed(f"the reply from {self._settings.api_url} was cut short", True)
            return response
        creating = method == "POST" and path == self.collection
        if response.status_code == 429 and creating and self._raise_on_session_limit:
            detail = _server_message(response)
            raise SessionLimitReached(
                f"the API refused another {self.noun} (429)" + (f": {detail}" if detail else "")
            )
        if not (retry and response.status_code in RETRYABLE_STATUSES):
            raise self._error(response)
        return _Failed(
            f"the API answered {response.status_code}",
            # A 5xx may come from a proxy after the API acted (408 and 429: it did not).
            unsure=response.status_code >= 500,
            wait=response.headers.get("Retry-After"),
        )

    def _back_off(self, failure: _Failed, attempt: int, *, retry: bool) -> None:
        """Wait before the next try, or raise when there is none."""
        reason = failure.reason
        if not retry or not self._backoff.allows(attempt):
            if retry:
                reason += f"; gave up after {attempt} attempts"
            raise NetworkError(
                reason,
                hint="check --api-url and your network; --local runs a server on this machine",
            )
        delay = retry_after(failure.wait, self._backoff.delay(attempt))
        self._notice(f"{reason}; retrying in {delay:.1f} s")
        self._sleep(delay)

    def _error(self, response: requests.Response) -> GladiaError:
        status = response.status_code
        detail = _server_message(response)
        suffix = f": {detail}" if detail else ""
        if response.history and left_origin(response, str(response.history[0].url)):
            # Whoever answered after the redirect never saw the key: its 401 says nothing
            # about the key, and its message is not the API's.
            return NetworkError(
                f"{shown(str(response.history[0].url))} redirected to {shown(response.url)}, "
                f"another origin, which answered {status} (the API key is not sent there)",
                hint=URL_HINT,
            )
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
        if status == 507:  # Insufficient Storage: the server's disk, not ours
            return NetworkError(
                f"the server's storage is full (507){suffix}",
                hint="try again later, or ask the server's administrator to free space",
            )
        return NetworkError(f"the API answered {status}{suffix}")

    def create_session(self, body: dict[str, Any]) -> CreatedSession:
        """`POST /v2/live`, retried on 408/429/5xx and network errors, with backoff; after a
        lost reply, the session it may have created is looked for (and deleted: its URL was
        lost with the reply) before another is created."""
        params = {"region": self._settings.region} if self._settings.region else None
        request_id = new_request_id()
        sent = tagged(body, request_id)
        answer = self._create(
            "/v2/live",
            json=sent if sent is not None else body,
            params=params,
            look=(lambda: self._delete_lost(request_id)) if sent is not None else None,
            request_id=request_id,
        )
        try:
            created = CreatedSession(
                id=str(answer["id"]),
                url=str(answer["url"]),
                created_at=str(answer["created_at"]),
            )
        except (ValueError, KeyError, TypeError):
            raise NetworkError("the API answered POST /v2/live with an unexpected body") from None
        if not socket_allowed(self._settings.api_url, created.url):
            raise NetworkError(
                f"the API gave a WebSocket URL on another origin ({shown(created.url)}, not "
                f"{shown(self._settings.api_url)}): not connecting",
                hint="the audio and the session's token would go there; check --api-url "
                "(a proxy or a redirect may be in the way)",
            )
        return created

    def get(self, session_id: str) -> dict[str, Any]:
        path = f"{self.collection}/{_segment(session_id)}"
        return json_body(self._request("GET", path, retry=True), f"GET {self.collection}/ID")

    def list(
        self,
        *,
        offset: int = 0,
        limit: int = 20,
        status: list[str] | None = None,
        request_id: str | None = None,
        retry: bool = True,
    ) -> dict[str, Any]:
        """A page of the collection; `request_id`: only what a create of ours carrying it
        made (protocol/create_tag.py)."""
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if status:
            params["status"] = status
        if request_id is not None:
            params["custom_metadata"] = metadata_filter(request_id)
        response = self._request("GET", self.collection, params=params, retry=retry)
        return json_body(response, f"GET {self.collection}")

    def created_by(self, request_id: str) -> builtins.list[dict[str, Any]]:
        """What a create carrying `request_id` made (GladiaError when the list fails: the
        create's own retries pace the looks)."""
        listing = self.list(limit=100, request_id=request_id, retry=False)
        return carrying(listing, request_id)

    def _delete_lost(self, request_id: str) -> None:
        """The sessions a lost `POST /v2/live` created: unusable (their URL was in the lost
        reply), never sent audio; deleted, so that one input leaves one session."""
        for item in self.created_by(request_id):
            session_id = plain(str(item.get("id")))
            try:
                self.delete(session_id)
            except GladiaError as exc:
                self._notice(
                    f"the reply to POST /v2/live was lost; session {session_id} it created "
                    f"could not be deleted ({exc.message})"
                )
            else:
                self._notice(
                    f"the reply to POST /v2/live was lost; session {session_id} it created "
                    "(no audio) was deleted"
                )

    def check_key(self) -> float:
        """`GET /v2/live?limit=1`: the cheapest authenticated request, which Gladia's API and
        the local server both answer. Its round-trip time in seconds; AuthError when the key
        is refused, NetworkError when the API cannot be reached (no retry: a check)."""
        started = time.perf_counter()
        response = self._request("GET", "/v2/live", params={"limit": 1})
        if response.history and left_origin(response, str(response.history[0].url)):
            # The key was not sent to whoever answered: its answer proves nothing about it.
            raise NetworkError(
                f"{self._settings.api_url} redirected to {shown(response.url)}, another "
                "origin, where the key is not sent: it could not be checked",
                hint=URL_HINT,
            )
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
