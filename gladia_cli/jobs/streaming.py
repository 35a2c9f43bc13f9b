"""The live stream job for `file`, `live` and `mix`: an opened source, the plan the command
made (cli/streaming.py), and the verdict.

`run_stream` builds what the plan asks for around one session — the init body for the
source's format (`plan.request`: checked before any network call), the renderer (with the
progress bar, the caption page, the many-inputs view), `--speakers` after it — runs it
(stream_job.py), and returns the whole verdict: an add-on that failed makes it exit 4.
The renderer it opens is closed once, by the stream job, on every path.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gladia_cli.audio.source import AudioSource
from gladia_cli.environment import Environment
from gladia_cli.errors import NetworkError, UsageError
from gladia_cli.jobs.stream_plan import StreamPlan
from gladia_cli.render import DEFAULT_EVENTS, WORDLESS_FORMATS, create_renderer
from gladia_cli.render.addons import FailureWatch
from gladia_cli.render.base import Labels, Renderer, StatusView
from gladia_cli.render.notices import Notices
from gladia_cli.render.output import Output, is_stdout
from gladia_cli.render.web import WebOptions

if TYPE_CHECKING:
    from gladia_cli.jobs.signals import ExternalSignals


def show_body(env: Environment, body: dict[str, Any], dry_run: bool) -> None:
    """The init body, pretty: on stdout for --dry-run (it is the data asked for), else on
    stderr beside the other notices. It holds no key (the key goes in a header)."""
    text = json.dumps(body, indent=2, ensure_ascii=False)
    if dry_run:
        env.stdout.write(text + "\n")
        env.stdout.flush()
    else:
        env.stderr.write(f"gladia: init body (POST /v2/live):\n{text}\n")
        env.stderr.flush()


def labels_for(label: str | None, source: AudioSource, *, merged: bool = False) -> Labels:
    """One name per channel: `label` (--label), else the source's (mix: the file names),
    else ch0…

    `merged`: the source sends one channel of several that were the same (`file`)."""
    channels = source.format.channels
    names: list[str] = []
    if label:
        names = [name.strip() for name in label.split(",")]
        if len(names) != channels:
            counted = f"{channels} channel{'s' if channels > 1 else ''}"
            raise UsageError(
                f"--label names {len(names)} channel{'s' if len(names) > 1 else ''} "
                f"but the audio sent has {counted}",
                hint=(
                    "its channels carry the same signal and are sent as one; "
                    "add --multichannel to keep them all"
                    if merged
                    else f"give one name per channel, in channel order ({counted})"
                ),
            )
    elif source.labels:
        names = list(source.labels)
    return Labels(tuple(names), channels)


def with_web(
    renderer: Renderer, web: WebOptions | None, labels: Labels, notices: Notices
) -> Renderer:
    """`renderer`, also feeding the caption page when asked (its server starts now)."""
    if web is None:
        return renderer
    from gladia_cli.render.web import WebRenderer, start_caption_server

    try:
        server = start_caption_server(web, notices)
    except BaseException:
        renderer.close()  # a file -o opened, for one
        raise
    return WebRenderer(renderer, server, labels)


def _renderer(
    plan: StreamPlan,
    source: AudioSource,
    labels: Labels,
    pipe_closed: threading.Event,
    output: Output | None = None,
    on_status: Callable[[StatusView], None] | None = None,
    *,
    deferred: bool = False,
) -> tuple[Renderer, FailureWatch]:
    """The format's renderer, watched for failed add-ons, with a progress bar when useful
    (or, given `on_status`, the status handed to it instead: the many-inputs view);
    `deferred`: nothing is written during the session (--speakers writes it after)."""
    from gladia_cli.jobs.speakers import NothingYet

    shown = DEFAULT_EVENTS if plan.events == frozenset() else plan.events
    inner: Renderer = (
        NothingYet()
        if deferred
        else create_renderer(
            plan.fmt,
            output_path=plan.output,
            labels=labels,
            events=shown,
            screen=plan.screen,
            on_closed=pipe_closed.set,
            captions=plan.captions,
            output=output,
        )
    )
    watch = FailureWatch(inner, plan.notices.warning)
    renderer: Renderer = watch
    if on_status is not None:
        from gladia_cli.render.status_tap import StatusTap

        return StatusTap(watch, on_status), watch
    if plan.fmt != "table" and not plan.quiet and plan.env.stderr_isatty and source.duration:
        from gladia_cli.render.progress import ProgressRenderer

        renderer = ProgressRenderer(watch, plan.screen, source.description, source.duration)
    return renderer, watch


def run_stream(
    plan: StreamPlan,
    source: AudioSource,
    *,
    pace: float | None,
    merged: bool = False,
    live_source: bool = False,
    output: Output | None = None,
    on_status: Callable[[StatusView], None] | None = None,
    signals: ExternalSignals | None = None,
    output_is_file: bool | None = None,
) -> int:
    """Run a streaming job for a source that is already open (so input errors come first).

    With --speakers, a transcript going to a file (`-o`, or `output` when `output_is_file`)
    is written again once the speakers are known, from the session's result
    (jobs/speakers.py); what goes to the terminal or a pipe is the live view.

    `live_source`: the audio comes from a microphone, which cannot wait for the network.
    A run over many inputs (stream_many.py) gives each job its `output`, takes its status
    with `on_status`, and handles signals itself (`signals`: an ExternalSignals); a 429
    then raises SessionLimitReached at once, for the run to queue the input.
    Exit 0 means the whole result is there: an add-on that failed makes it 4 (unless the
    reader of stdout left first: `| head` ends quietly)."""
    from gladia_cli.jobs.stream_job import StreamJob, run_stream_job

    wire, body = plan.request(source)
    if plan.dry_run:
        show_body(plan.env, body, True)
        return 0
    if plan.show_body:
        show_body(plan.env, body, False)
    # With --speakers, --label names the speakers found after the session, not the channel.
    labels = labels_for(None if plan.speakers else plan.label, source, merged=merged)
    pipe_closed = threading.Event()
    after_session = None
    if plan.speakers:
        from gladia_cli.jobs.speakers import label_speakers

        if wire.channels != 1:
            raise UsageError(
                f"--speakers is for one-channel audio; this has {wire.channels} channels",
                hint="its channels already keep the speakers apart: name them with --label",
            )
        # -o is written as usual, then again with the speakers; an output of a run over
        # many inputs is written once, after (it cannot be rewound).
        saved = not is_stdout(plan.output) if output is None else bool(output_is_file)
        after_session = functools.partial(
            label_speakers, plan, body, output if saved else None, saved
        )
    deferred = plan.speakers and output is not None and bool(output_is_file)
    renderer, watch = _renderer(
        plan, source, labels, pipe_closed, output, on_status, deferred=deferred
    )
    renderer = with_web(renderer, plan.web, labels, plan.notices)
    job = StreamJob(
        settings=plan.settings,
        body=body,
        source=source,
        wire=wire,
        renderer=renderer,
        pace=pace,
        chunk_ms=plan.chunk_ms,
        use_base64=plan.use_base64,
        stop_timeout=plan.stop_timeout,
        save_audio=plan.save_audio,
        live_source=live_source,
        backlog_seconds=plan.resend_buffer,
        dead_after=plan.dead_after,
        record=plan.record,
        labels=labels.names,
        raise_on_session_limit=signals is not None,
        lean_messages=plan.fmt in WORDLESS_FORMATS and not plan.speakers,
        after_session=after_session,
    )
    code = run_stream_job(job, plan.notices, signals, server_for=plan.server_for)
    failures = watch.failures
    if code == 0 and failures and not pipe_closed.is_set():  # `| head`: a quiet end
        raise NetworkError(
            f"the server could not produce: {', '.join(sorted(failures))}",
            hint="the transcript itself is complete; the reasons are in the warnings above",
        )
    return code
