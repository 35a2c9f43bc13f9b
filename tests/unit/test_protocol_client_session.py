"""The client session core with no sockets, no threads and no clock: time is a number."""

from __future__ import annotations

import json
from typing import Any

from gladia_cli.errors import NetworkError
from gladia_cli.protocol.audio_format import AudioFormat
from gladia_cli.protocol.client_session import (
    Abort,
    AudioFrame,
    ClientSession,
    Finish,
    Ping,
    PingFrame,
    Reconnect,
    StopFrame,
    Timing,
)
from gladia_cli.protocol.messages import Transcript
from gladia_cli.protocol.resume import MemoryOverflow, ResumeBuffer
from gladia_cli.protocol.retry import Backoff

CHUNK = 3200
SID = "6f1c2a3b-1d2e-4f50-8a9b-0c1d2e3f4a5b"


def _session(**kwargs: Any) -> ClientSession:
    kwargs.setdefault("backoff", Backoff(base=0.25, cap=5.0, attempts=4))
    kwargs.setdefault("max_piece", CHUNK)
    return ClientSession(AudioFormat(), **kwargs)


def _ack(start: int, end: int) -> str:
    return json.dumps(
        {
            "type": "audio_chunk",
            "session_id": SID,
            "acknowledged": True,
            "error": None,
            "data": {"byte_range": [start, end], "time_range": [start / 32000, end / 32000]},
        }
    )


def _msg(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "session_id": SID, "created_at": "t", **fields})


def _utterance(text: str, start: float, end: float, channel: int = 0) -> dict[str, Any]:
    return {
        "text": f" {text}",
        "start": start,
        "end": end,
        "confidence": 0.9,
        "channel": channel,
        "language": "en",
        "words": [],
    }


def _final(uid: str, text: str, start: float, end: float, channel: int = 0) -> str:
    data = {"id": uid, "is_final": True, "utterance": _utterance(text, start, end, channel)}
    return _msg("transcript", data=data)


def _connect(session: ClientSession, now: float) -> None:
    """Open a connection and take its first frame: the resume hint."""
    session.connected(now)
    hint = session.next_frame()
    assert hint == PingFrame(b"gladia-resume:%d" % session.backlog.acknowledged)


def _frames(session: ClientSession) -> list[AudioFrame | StopFrame | PingFrame]:
    out = []
    while (frame := session.next_frame()) is not None:
        out.append(frame)
    return out


def _audio(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


def test_after_a_reconnect_the_backlog_goes_first_then_new_audio_then_stop() -> None:
    session = _session()
    audio = _audio(10 * CHUNK)
    _connect(session, 0.0)
    for i in range(6):
        session.audio(audio[i * CHUNK : (i + 1) * CHUNK])
    assert [f.offset for f in _frames(session) if isinstance(f, AudioFrame)] == [
        i * CHUNK for i in range(6)
    ]
    session.message(_ack(0, 2 * CHUNK), 0.1)  # chunks 2..5 were in flight
    assert isinstance(session.closed(None, "reset", 0.2), Reconnect)
    session.audio(audio[6 * CHUNK :])  # during the outage: queued behind the backlog
    session.stop()
    _connect(session, 0.3)
    frames = _frames(session)
    assert isinstance(frames[-1], StopFrame)
    sent = b"".join(f.data for f in frames if isinstance(f, AudioFrame))
    assert sent == audio[2 * CHUNK :]
    assert session.stats.reconnects == 1 and session.stats.replayed_bytes == 8 * CHUNK


def test_a_cut_during_a_re_send_resumes_from_the_newest_acknowledgment() -> None:
    session = _session()
    audio = _audio(100 * CHUNK)
    _connect(session, 0.0)
    session.audio(audio)
    _frames(session)  # everything sent, nothing acknowledged, then the drop
    delay = session.closed(None, "reset", 1.0)
    assert isinstance(delay, Reconnect) and delay.attempt == 1
    for cut in range(1, 6):
        _connect(session, float(cut))
        # Ten frames get through and are acknowledged before the next cut.
        for _ in range(10):
            frame = session.next_frame()
            assert isinstance(frame, AudioFrame)
            session.message(_ack(frame.offset, frame.offset + len(frame.data)), float(cut))
        action = session.closed(None, "reset", cut + 0.5)
        # Progress was made: the count starts again, the reconnect is immediate.
        assert action == Reconnect(0.0, 1)
    assert session.backlog.acknowledged == 50 * CHUNK
    _connect(session, 9.0)
    assert session.next_frame() == AudioFrame(audio[50 * CHUNK : 51 * CHUNK], 50 * CHUNK)


def test_fruitless_attempts_back_off_and_are_bounded() -> None:
    session = _session()
    _connect(session, 0.0)
    first = session.closed(None, "reset", 1.0)
    assert isinstance(first, Reconnect) and first.delay == 0.25
    delays = []
    action: Reconnect | Finish = first
    while isinstance(action, Reconnect):
        delays.append(action.delay)
        action = session.connect_failed("cannot connect (refused)", retryable=True, now=2.0)
    assert delays == [0.25, 0.5, 1.0, 2.0]
    assert isinstance(action.error, NetworkError)
    assert "could not reconnect" in action.error.message and "refused" in action.error.message


def test_connections_that_open_then_break_get_time_as_well_as_attempts() -> None:
    """Cut before any acknowledgment could come back, again and again: past the attempts
    it keeps trying until `give_up_after` seconds passed without progress."""
    session = _session(timing=Timing(give_up_after=30.0))  # 4 attempts (see _session)
    now = 0.0
    for _ in range(10):
        _connect(session, now)
        now += 1.0
        action = session.closed(None, "reset", now)
        assert isinstance(action, Reconnect)
    _connect(session, 40.0)
    action = session.closed(None, "reset", 41.0)
    assert isinstance(action, Finish) and action.error is not None
    assert "could not reconnect" in action.error.message


def test_a_final_refusal_is_not_retried() -> None:
    session = _session()
    action = session.connect_failed("refused (404)", retryable=False, now=0.0)
    assert isinstance(action, Finish) and action.error is not None


def test_close_codes() -> None:
    normal = _session()
    _connect(normal, 0.0)
    normal.stop()
    assert normal.closed(1000, "done", 1.0) == Finish(None, False)

    early = _session()
    _connect(early, 0.0)
    assert early.closed(1000, "idle", 1.0) == Finish(None, True)

    rejected = _session()
    _connect(rejected, 0.0)
    action = rejected.closed(4403, "forbidden feature", 1.0)
    assert isinstance(action, Finish) and isinstance(action.error, NetworkError)
    assert "4403" in action.error.message and "forbidden feature" in action.error.message

    retried = _session()
    _connect(retried, 0.0)
    assert isinstance(retried.closed(1011, "internal error", 1.0), Reconnect)


def test_a_server_going_away_gets_a_short_budget_and_says_so() -> None:
    session = _session(backoff=Backoff(attempts=8))
    _connect(session, 0.0)
    action: Reconnect | Finish = session.closed(1001, "server shutting down", 1.0)
    attempts = 0
    while isinstance(action, Reconnect):
        attempts += 1
        action = session.connect_failed("cannot connect (refused)", retryable=True, now=2.0)
    assert attempts == 3
    assert action.error is not None and "went away" in action.error.message
    assert action.error.hint is not None and "shut down" in action.error.hint


def test_pings_and_a_dead_connection() -> None:
    session = _session(timing=Timing(keepalive=3.0, dead_after=10.0))
    _connect(session, 100.0)
    assert session.tick(101.0) is None
    assert session.tick(103.0) == Ping()
    assert session.next_frame() == PingFrame()
    session.activity(108.0)  # a pong
    assert session.tick(109.0) == Ping()
    assert session.tick(117.0) == Ping()
    assert session.tick(118.5) == Abort("nothing from the server for 10 s")
    session.closed(None, "aborted", 118.6)
    assert session.tick(200.0) is None  # no connection, nothing to watch


def test_re_delivered_messages_are_dropped() -> None:
    session = _session()
    _connect(session, 0.0)
    final = _final("00_00000001", "alpha bravo", 1.0, 2.0)
    partial = _msg(
        "transcript",
        data={"id": "00_00000001", "is_final": False, "utterance": _utterance("alpha", 1, 1.4)},
    )
    stream = [
        partial,
        final,
        partial,  # a late partial after its final
        final,
        _ack(0, 3200),
        _ack(0, 3200),  # acknowledgments are per connection: never de-duplicated
        _msg("end_recording", data={"recording_duration": 0.1}),
        _msg("end_recording", data={"recording_duration": 0.1}),
        _msg("end_session"),
        _msg("end_session"),
    ]
    delivered = [m.type for text in stream for m in session.message(text, 1.0)]
    assert delivered == [
        "transcript",
        "transcript",
        "audio_chunk",
        "audio_chunk",
        "end_recording",
        "end_session",
    ]
    assert session.stats.duplicates_dropped == 4


def test_a_servers_own_identical_messages_on_one_connection_are_all_delivered() -> None:
    """Three equal add-on errors within a millisecond are three messages, not a
    re-delivery: no reconnect happened."""
    session = _session()
    _connect(session, 0.0)
    failed = _msg("named_entity_recognition", error={"message": "failed"}, data=None)
    delivered = [m.type for _ in range(3) for m in session.message(failed, 1.0)]
    assert delivered == ["named_entity_recognition"] * 3
    assert session.stats.duplicates_dropped == 0


def test_after_a_reconnect_what_was_delivered_before_is_dropped_and_only_that() -> None:
    session = _session()
    _connect(session, 0.0)
    failed = _msg("named_entity_recognition", error={"message": "failed"}, data=None)
    speech = _msg("speech_start", data={"time": 3.0, "channel": 0})
    for text in (failed, failed, speech):
        assert len(session.message(text, 1.0)) == 1
    session.closed(None, "reset", 2.0)
    _connect(session, 2.0)
    # The server writes again what the lost connection did not confirm: the last error
    # and the speech event; then new messages, one of them equal to the earlier ones.
    again = [failed, speech, failed, failed]
    delivered = [len(session.message(text, 3.0)) for text in again]
    assert delivered == [0, 0, 0, 1]  # two copies were delivered before: the third is new
    assert session.stats.duplicates_dropped == 3


def test_the_stop_acknowledgment_is_delivered_once() -> None:
    session = _session()
    _connect(session, 0.0)
    session.stop()
    assert isinstance(session.next_frame(), StopFrame)
    session.closed(None, "reset", 1.0)
    _connect(session, 1.0)
    assert isinstance(session.next_frame(), StopFrame)  # the ack had not come: again
    ack = _msg("stop_recording", acknowledged=True, error=None, data={"recording_duration": 0})
    echo = _msg(
        "stop_recording",
        acknowledged=False,
        error={"message": "Recording is already stopped"},
        data=None,
    )
    assert [m.type for m in session.message(ack, 1.1)] == ["stop_recording"]
    assert session.message(echo, 1.2) == []
    session.closed(None, "reset", 2.0)
    _connect(session, 2.0)
    assert _frames(session) == []  # the server has everything: nothing re-sent, no stop


def test_missed_finals_are_recovered_from_post_transcript_once() -> None:
    session = _session()
    _connect(session, 0.0)
    session.message(_final("00_00000000", "alpha", 0.5, 1.0), 1.0)
    session.message(_final("01_00000000", "charlie", 2.5, 3.0, channel=1), 1.0)
    everything = [
        _utterance("alpha", 0.5, 1.0),
        _utterance("bravo", 1.5, 2.0),  # lost live
        _utterance("charlie", 2.5, 3.0, channel=1),
        _utterance("delta", 2.5, 3.0, channel=0),  # lost live (same time, other channel)
    ]
    post = _msg("post_transcript", data={"full_transcript": "", "utterances": everything})
    delivered = session.message(post, 2.0)
    assert [m.type for m in delivered] == ["transcript", "transcript", "post_transcript"]
    recovered = [m for m in delivered if isinstance(m, Transcript)]
    assert [m.utterance.text for m in recovered] == [" bravo", " delta"]
    assert all(m.is_final and m.raw["recovered_from"] == "post_transcript" for m in recovered)
    assert all(m.session_id == SID for m in recovered)
    assert any("2 final utterances did not arrive live" in n for n in session.take_notices())
    final = _msg(
        "post_final_transcript",
        data={"metadata": {}, "transcription": {"utterances": everything}},
    )
    assert [m.type for m in session.message(final, 2.1)] == ["post_final_transcript"]


def test_the_end_list_can_come_from_the_rest_result() -> None:
    session = _session()
    _connect(session, 0.0)
    session.message(_final("00_00000000", "alpha", 0.5, 1.0), 1.0)
    session.closed(None, "reset", 1.5)
    _connect(session, 1.6)
    session.stop()
    assert session.needs_result_check  # a drop, and no end message checked anything
    result = {"transcription": {"utterances": [_utterance("alpha", 0.5, 1.0)]}}
    from gladia_cli.protocol.client_session import result_utterances

    assert session.reconcile(result_utterances(result), None, "GET /v2/live/{id}") == []
    assert not session.needs_result_check


def test_a_drop_after_every_result_arrived_needs_no_reconnect() -> None:
    session = _session()
    _connect(session, 0.0)
    session.stop()
    session.message(_msg("post_final_transcript", data={"metadata": {}}), 1.0)
    assert session.closed(None, "reset", 1.1) == Finish(None, False)


def test_a_server_that_recorded_less_than_was_sent_fails_the_session() -> None:
    session = _session()
    _connect(session, 0.0)
    session.audio(_audio(32000 * 3))  # 3 s
    _frames(session)
    session.stop()
    session.message(_msg("end_recording", data={"recording_duration": 2.0}), 1.0)
    action = session.closed(1000, "done", 2.0)
    assert isinstance(action, Finish) and action.error is not None
    assert "recorded 2.00 s of the 3.00 s" in action.error.message


def test_refused_audio_ends_the_sending() -> None:
    session = _session()
    _connect(session, 0.0)
    session.audio(_audio(4 * CHUNK))
    session.next_frame()
    refusal = _msg(
        "audio_chunk",
        acknowledged=False,
        error={"message": "Recording is stopped, audio chunk ignored"},
        data=None,
    )
    session.message(refusal, 0.1)
    assert session.next_frame() is None and session.unsent_bytes == 0


def test_an_unparsable_message_is_a_notice() -> None:
    session = _session()
    _connect(session, 0.0)
    assert session.message("{oops", 0.1) == []
    assert "invalid JSON" in session.take_notices()[-1]


def test_the_backlog_spills_past_its_memory_bound_and_says_so_once() -> None:
    overflow = MemoryOverflow()
    backlog = ResumeBuffer(memory_limit=4 * CHUNK, overflow=lambda: overflow)
    session = _session(backlog=backlog)
    audio = _audio(10 * CHUNK)
    for i in range(10):
        session.audio(audio[i * CHUNK : (i + 1) * CHUNK])
    assert backlog.memory_bytes == 4 * CHUNK and len(overflow.data) == 6 * CHUNK
    assert len([n for n in session.take_notices() if "temporary file" in n]) == 1
    _connect(session, 0.0)
    frames = _frames(session)
    assert b"".join(f.data for f in frames if isinstance(f, AudioFrame)) == audio
    session.message(_ack(0, 10 * CHUNK), 0.1)
    assert overflow.resets == 1 and backlog.pending_bytes == 0
    session.audio(audio[:CHUNK])  # memory again
    assert len(overflow.data) == 0 and backlog.memory_bytes == CHUNK


def test_a_misplaced_resume_fails_the_session() -> None:
    session = _session()
    _connect(session, 0.0)
    session.audio(_audio(4 * CHUNK))
    _frames(session)
    session.message(_ack(0, 2 * CHUNK), 0.1)
    session.closed(None, "reset", 0.2)
    _connect(session, 0.3)
    _frames(session)
    session.message(_ack(3 * CHUNK, 4 * CHUNK), 0.4)  # not where our re-send started
    assert "not 6400" in session.take_notices()[-1]
    session.stop()
    action = session.closed(1000, "done", 1.0)
    assert isinstance(action, Finish) and action.error is not None
    assert "placed re-sent audio at byte 9600 instead of 6400" in action.error.message


def test_after_going_away_a_refused_session_is_still_said_to_have_gone_away() -> None:
    session = _session()
    _connect(session, 0.0)
    assert isinstance(session.closed(1001, "server shutting down", 1.0), Reconnect)
    _connect(session, 1.1)
    action = session.closed(4401, "invalid or expired token", 1.2)
    assert isinstance(action, Finish) and action.error is not None
    assert "went away" in action.error.message and "4401" in action.error.message


def test_a_server_holding_its_acknowledgments_is_behind_not_dead() -> None:
    # The local server holds acknowledgments back while recognition catches up, and keeps
    # answering pings: the connection is alive, the session is "server behind", and a
    # source that can wait is told there is no room (its sending goes at the server's pace).
    session = _session(window=4 * CHUNK, timing=Timing(keepalive=1.0, dead_after=3.0))
    _connect(session, 0.0)
    for _ in range(4):
        assert session.has_room(10 * CHUNK, 0.0)
        session.audio(_audio(CHUNK))
    _frames(session)
    assert session.behind and not session.has_room(10 * CHUNK, 0.0)
    assert session.stats.state == "server behind"
    for second in range(1, 30):  # half a minute of pings answered, no acknowledgment
        assert session.tick(float(second)) in (Ping(), None)
        session.next_frame()
        session.activity(second + 0.01)  # the pong
    assert session.is_connected and session.finished is None
    assert session.last_progress == 0.0  # alive, but no progress since the connection
    session.message(_ack(0, CHUNK), 30.0)
    assert not session.behind and session.has_room(10 * CHUNK, 30.0)
    assert session.stats.state == "streaming" and session.last_progress == 30.0


def test_progress_is_an_acknowledgment_that_advances_or_a_new_message() -> None:
    session = _session()
    _connect(session, 5.0)
    assert session.last_progress == 5.0  # the wait starts with the connection
    session.audio(_audio(CHUNK))
    _frames(session)
    session.message(_ack(0, CHUNK), 6.0)
    session.message(_ack(0, CHUNK), 7.0)  # nothing new acknowledged
    assert session.last_progress == 6.0
    session.message(_final("u1", "hello", 0.0, 0.1), 8.0)
    session.message(_final("u1", "hello", 0.0, 0.1), 9.0)  # a repeat is not progress
    assert session.last_progress == 8.0
    session.stop()
    session.message(_msg("stop_recording", acknowledged=True, data={}), 10.0)
    assert session.last_progress == 10.0


def test_without_a_window_the_server_is_never_behind() -> None:
    session = _session()
    _connect(session, 0.0)
    for _ in range(100):
        session.audio(_audio(CHUNK))
    _frames(session)
    assert not session.behind and session.stats.state == "streaming"


def test_acknowledgments_that_stop_coming_stop_the_window_not_the_audio() -> None:
    # Lost on the way (a broken middlebox): waiting for them would stop the audio for good.
    session = _session(window=2 * CHUNK, timing=Timing(window_patience=10.0))
    _connect(session, 0.0)
    session.audio(_audio(2 * CHUNK))
    _frames(session)
    assert not session.has_room(10 * CHUNK, 5.0)
    session.message(_ack(0, CHUNK), 6.0)  # one advanced: the patience starts again
    session.audio(_audio(CHUNK))
    _frames(session)
    assert not session.has_room(10 * CHUNK, 15.0)
    assert session.has_room(10 * CHUNK, 16.5)
    notices = session.take_notices()
    assert notices[-1].startswith("no acknowledgment from the server for 10 s")
    assert session.has_room(10 * CHUNK, 16.6) and session.take_notices() == []
    session.closed(None, "cut", 17.0)
    _connect(session, 18.0)  # a new connection gets the window back
    assert not session.has_room(10 * CHUNK, 19.0)


def _streamed(seconds: float) -> ClientSession:
    session = _session()
    _connect(session, 0.0)
    session.audio(_audio(int(32000 * seconds)))
    _frames(session)
    session.stop()
    return session


def test_audio_the_server_did_not_acknowledge_fails_a_normal_end() -> None:
    session = _streamed(2.0)
    session.message(_ack(0, 16000), 0.5)  # half a second of the two
    action = session.closed(1000, "done", 1.0)
    assert isinstance(action, Finish) and action.error is not None
    assert "acknowledged 16000 of the 64000 bytes" in action.error.message
    assert action.error.hint is not None and "last 1.50 s" in action.error.hint


def test_the_stop_acknowledgment_duration_confirms_what_acknowledgments_did_not() -> None:
    session = _streamed(2.0)
    stop_ack = _msg(
        "stop_recording",
        acknowledged=True,
        error=None,
        data={"recording_duration": 2.0, "recording_left_to_process": 0},
    )
    session.message(stop_ack, 0.5)
    assert session.closed(1000, "done", 1.0) == Finish(None, False)
    assert session.result_unchecked  # no end message said what the result holds: a GET must


def test_the_end_result_duration_comes_from_end_messages_or_a_get() -> None:
    session = _streamed(2.0)
    session.message(_ack(0, 64000), 0.5)
    metadata = {"audio_duration": 2.0}
    session.message(_msg("post_final_transcript", data={"metadata": metadata}), 0.6)
    assert session.closed(1000, "done", 1.0) == Finish(None, False)
    assert not session.result_unchecked

    other = _streamed(2.0)
    other.message(_ack(0, 64000), 0.5)
    assert other.closed(1000, "done", 1.0) == Finish(None, False)
    assert other.result_unchecked
    short = other.check_result({"status": "done", "file": {"audio_duration": 1.0}})
    assert short is not None and "holds 1.00 s of the 2.00 s" in short.message
    nan = other.check_result({"status": "done", "result": {"metadata": {"audio_duration": "x"}}})
    assert nan is not None and "gives no duration" in nan.message
    assert other.check_result({"result": {"metadata": {"audio_duration": 2.0}}}) is None


def test_a_restarted_server_refusing_the_token_is_said_to_have_restarted() -> None:
    """Issue 18: after a kill -9 and a restart, the reconnection gets 4401; that is not the
    server rejecting what was sent."""
    session = _session()
    _connect(session, 0.0)
    assert isinstance(session.closed(None, "connection reset", 1.0), Reconnect)
    _connect(session, 1.1)
    action = session.closed(4401, "invalid or expired token", 1.2)
    assert isinstance(action, Finish) and action.error is not None
    assert action.error.exit_code == 4
    assert action.error.message.startswith("the server restarted and the session is gone")
    assert "4401: invalid or expired token" in action.error.message
    assert "rejected" not in (action.error.hint or "")


def test_a_session_ended_while_disconnected_is_said_so() -> None:
    session = _session()
    _connect(session, 0.0)
    session.closed(None, "connection reset", 1.0)
    _connect(session, 1.1)
    action = session.closed(4410, "the server restarted during the session", 1.2)
    assert isinstance(action, Finish) and action.error is not None
    assert "ended on the server while the connection was down" in action.error.message
    assert "sessions get" in (action.error.hint or "")


def test_a_token_refused_at_the_first_connection_is_still_a_rejection() -> None:
    session = _session()
    _connect(session, 0.0)
    action = session.closed(4401, "invalid or expired token", 0.1)
    assert isinstance(action, Finish) and action.error is not None
    assert "rejected what was sent" in (action.error.hint or "")
