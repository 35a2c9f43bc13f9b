"""One error tree: every failure a user can meet carries a message, a hint and an exit code.

The CLI prints them in one place (`gladia: error: …` plus `hint: …`); nothing else prints
tracebacks unless `--debug` is given.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    AUTH = 3
    NETWORK = 4
    AUDIO_INPUT = 5
    ABORTED = 130


class GladiaError(Exception):
    """Base of every error meant for the user."""

    exit_code: ExitCode = ExitCode.UNEXPECTED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(GladiaError):
    """Bad options or a request the API refused as invalid (400/422)."""

    exit_code = ExitCode.USAGE


class AuthError(GladiaError):
    """Missing, wrong or insufficient API key (401/403)."""

    exit_code = ExitCode.AUTH


class NetworkError(GladiaError):
    """Server unreachable, retries exhausted, 5xx, or a fatal WebSocket close."""

    exit_code = ExitCode.NETWORK


class SessionLimitReached(NetworkError):
    """429 on `POST /v2/live`: as many sessions run as the account (or server) allows. Raised
    at once only when asked (a run over many inputs queues the input and tries later);
    otherwise it is retried like any 429."""


class EngineUnavailable(GladiaError):
    """The local server's recogniser cannot run: a package missing, a model that fails its
    checksum or does not load. Found when the server starts, before it listens; what turns
    audio into text is missing, so the audio exit code (5), as for a missing device."""

    exit_code = ExitCode.AUDIO_INPUT


class AudioInputError(GladiaError):
    """An audio source that cannot be read: missing file, bad format, missing device."""

    exit_code = ExitCode.AUDIO_INPUT


class OutputWriteError(GladiaError):
    """An output that cannot be written (a full disk): the audio input/output exit code."""

    exit_code = ExitCode.AUDIO_INPUT

    def __init__(self, message: str, *, hint: str | None = None, no_space: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.no_space = no_space  # every later output on that disk would fail the same way


class Aborted(GladiaError):
    """A second Ctrl-C: stop at once."""

    exit_code = ExitCode.ABORTED

    def __init__(self, message: str = "aborted") -> None:
        super().__init__(message)
