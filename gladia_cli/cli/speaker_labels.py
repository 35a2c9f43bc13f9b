"""`--speakers` (live, file) around a streaming job: what it refuses up front, and the saved
transcript written again with the speakers once the session is done (jobs/speakers.py
finds them; protocol/speakers.py places them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gladia_cli.cli.options import StreamOptions
from gladia_cli.errors import UsageError
from gladia_cli.protocol.messages import ServerMessage
from gladia_cli.render.base import SessionOutcome, StatusView
from gladia_cli.render.captions import CaptionLimits
from gladia_cli.render.output import is_stdout

if TYPE_CHECKING:
    from gladia_cli.cli.streaming import Plan
    from gladia_cli.render.output import Output
    from gladia_cli.settings import Settings


def check(opts: StreamOptions, fmt: str, *, output_dir: bool = False) -> None:
    """What `--speakers` cannot do, said before anything starts (`output_dir`: the outputs
    are files of --output-dir)."""
    if opts.local:
        from gladia_cli.server import diarization

        if not diarization.available():
            raise UsageError(
                "--speakers: the local server cannot tell speakers apart: its speaker model "
                "is not installed",
                hint=f"{diarization.INSTALL_HINT}; or use the API",
            )
    if fmt == "jsonl" and (output_dir or not is_stdout(opts.output)):
        raise UsageError(
            "--speakers labels the transcript formats; jsonl is the server's messages verbatim",
            hint="use -f json, text, srt, vtt or words; the speakers are also saved with the "
            "session (gladia sessions get ID -f text)",
        )


class NothingYet:
    """The renderer of an output written after the session (--speakers): it takes nothing."""

    needs_result = False

    def start(self, session_id: str) -> None:
        pass

    def message(self, message: ServerMessage) -> None:
        pass

    def status(self, view: StatusView) -> None:
        pass

    def finish(self, outcome: SessionOutcome) -> None:
        pass

    def close(self) -> None:
        pass


def label_speakers(
    plan: Plan,
    body: dict[str, Any],
    output: Output | None,
    to_file: bool,
    settings: Settings,
    session_id: str,
) -> None:
    """After the session: its speakers (jobs/speakers.py), then the file output written
    with them (without them, and exit 4, when they could not be had)."""
    from gladia_cli.client.api import LiveApi
    from gladia_cli.errors import GladiaError
    from gladia_cli.jobs.speakers import find_speakers
    from gladia_cli.protocol import speakers

    opts = plan.opts
    failure: GladiaError | None = None
    turns: list[speakers.Turn] | None = None
    try:
        turns = find_speakers(settings, session_id, body, say=plan.notices.info)
    except GladiaError as exc:
        failure = exc
    if to_file:
        from gladia_cli.cli.sessions_cmd import render_stored
        from gladia_cli.cli.transcribing import by_speaker

        session = LiveApi(settings).wait_until_done(session_id, timeout=opts.stop_timeout)
        label = opts.label
        if turns is not None:
            found = len({t.speaker for t in turns})
            if label and len(label.split(",")) != found:
                plan.notices.warning(
                    f"--label names {len(label.split(','))} speakers, {found} were found: "
                    "they are named speaker 0, speaker 1…"
                )
                label = None
            session = speakers.with_speakers(session, turns)
            if plan.fmt != "json":
                session, label = by_speaker(session, label)
        render_stored(
            plan.env,
            session,
            plan.fmt,
            output=opts.output,
            label=label if turns is not None else None,
            captions=CaptionLimits(opts.max_line_chars, opts.max_cue_seconds),
            into=output,
        )
    elif turns is not None:
        found = len({t.speaker for t in turns})
        plan.notices.info(
            f"speakers: {found} found, saved with the session: "
            f"gladia sessions get {session_id} -f text"
        )
    if failure is not None:
        raise failure
