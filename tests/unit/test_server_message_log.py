"""The session's on-disk logs: what goes in comes back in order, no descriptor is held once
closed, and memory does not grow with what is appended."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from gladia_cli.server.live import message_log
from gladia_cli.server.live.audio_store import AudioStore
from gladia_cli.server.live.message_log import MessageLog
from gladia_cli.server.live.session_files import SessionFiles


def _open_fds() -> int:
    return len(list(Path("/proc/self/fd").iterdir()))


def test_texts_come_back_in_order(tmp_path: Path) -> None:
    log = MessageLog(tmp_path / "messages.jsonl")
    assert list(log.texts()) == [] and not log.path.exists()  # created at the first write
    texts = [json.dumps({"type": "transcript", "n": n, "text": "é\r\u2028"}) for n in range(5)]
    for text in texts:
        log.append(text)
    assert log.count == 5
    assert list(log.texts()) == texts  # the buffer is written before reading
    log.append(texts[0])
    assert list(log.texts()) == [*texts, texts[0]]


def test_a_buffer_full_is_written(tmp_path: Path) -> None:
    log = MessageLog(tmp_path / "m.jsonl")
    for n in range(message_log.BUFFER_TEXTS):
        log.append(str(n))
    assert log.path.read_text().splitlines() == [str(n) for n in range(message_log.BUFFER_TEXTS)]
    log.append("x" * message_log.BUFFER_BYTES)
    assert log.path.read_text().splitlines()[-1] == "x" * message_log.BUFFER_BYTES


def test_values_round_trip(tmp_path: Path) -> None:
    log = MessageLog(tmp_path / "utterances.jsonl")
    utterance = {"text": " hello", "start": 0.123, "end": 1.5, "words": [{"word": " hello"}]}
    log.append_json(utterance)
    log.append_json({"unicode": "naïve 日本", "n": 10**20})
    assert list(log.values()) == [utterance, {"unicode": "naïve 日本", "n": 10**20}]


def test_a_text_with_a_newline_is_refused(tmp_path: Path) -> None:
    log = MessageLog(tmp_path / "m.jsonl")
    with pytest.raises(ValueError):
        log.append('{"a":\n1}')
    assert log.count == 0


def test_no_descriptor_is_held(tmp_path: Path) -> None:
    before = _open_fds()
    log = MessageLog(tmp_path / "m.jsonl")
    for n in range(1000):
        log.append(str(n))
        assert _open_fds() == before
    assert len(list(log.texts())) == 1000 and _open_fds() == before


def test_delete_removes_the_file_and_later_appends_are_ignored(tmp_path: Path) -> None:
    log = MessageLog(tmp_path / "m.jsonl")
    log.append("1")
    log.flush()
    log.delete()
    assert not log.path.exists()
    log.append("2")
    assert not log.path.exists() and list(log.texts()) == []


def test_memory_does_not_grow_with_the_messages_appended(tmp_path: Path) -> None:
    """A long session logs ~100 000 messages: the log's memory is its buffer, no more."""
    log = MessageLog(tmp_path / "m.jsonl")
    message = json.dumps({"type": "transcript", "data": {"utterance": {"text": " x" * 100}}})
    tracemalloc.start()
    try:
        for _ in range(1000):
            log.append(message)
        settled, _ = tracemalloc.get_traced_memory()
        for _ in range(99_000):
            log.append(message)
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    log.flush()
    assert log.count == 100_000
    assert log.path.stat().st_size == 100_000 * (len(message) + 1)  # ~26 MB went to disk
    assert after - settled < 2 * message_log.BUFFER_BYTES  # and stayed there


def test_session_files_hold_nothing_once_finished_and_go_whole(tmp_path: Path) -> None:
    before = _open_fds()
    files = SessionFiles(str(tmp_path))
    files.audio.append(b"\0\1")
    files.messages.append("{}")
    files.utterances.append_json({"start": 0.0})
    files.save_result({"metadata": {}, "transcription": {"utterances": []}})
    files.finish()
    assert _open_fds() == before
    assert files.result() == {"metadata": {}, "transcription": {"utterances": []}}
    assert [p.name for p in tmp_path.iterdir()] == [files.folder.name]  # one entry per session
    files.delete()
    assert list(tmp_path.iterdir()) == [] and files.result() is None


def test_a_durable_log_is_on_disk_at_each_append_and_reopens_with_its_count(
    tmp_path: Path,
) -> None:
    """A session kept in --data-dir: a server killed right after an append loses nothing."""
    path = tmp_path / "utterances.jsonl"
    log = MessageLog(path, durable=True)
    log.append_json({"text": "one"})
    log.append_json({"text": "two"})
    reopened = MessageLog(path)  # what a restarted server sees, with no flush or close
    assert reopened.count == 2
    assert [v["text"] for v in reopened.values()] == ["one", "two"]


def test_a_line_cut_short_by_a_kill_is_not_counted(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    path.write_text('{"a":1}\n{"a":2}\n{"a":', encoding="utf-8")
    reopened = MessageLog(path)
    assert reopened.count == 2 and list(reopened.values()) == [{"a": 1}, {"a": 2}]


def test_stored_audio_is_on_disk_at_each_append(tmp_path: Path) -> None:
    store = AudioStore(tmp_path / "audio.raw")
    store.append(b"\1\2" * 100)
    assert AudioStore.existing(tmp_path / "audio.raw").read(0, 200) == b"\1\2" * 100
    store.finish()


def test_a_text_in_pieces_is_stored_and_read_back_where_it_is(tmp_path: Path) -> None:
    from gladia_cli.server.live.message_log import READ_PIECE, read_stored

    log = MessageLog(tmp_path / "m.jsonl")
    log.append('{"a":1}')  # buffered: written before the pieces
    long = '{"b":"' + "é" * READ_PIECE + '"}'
    stored = log.append_pieces(iter([long[:10], long[10:]]))
    log.append('{"c":3}')
    assert stored is not None and stored.length == len(long.encode())
    pieces = list(read_stored(stored))
    assert all(len(piece) <= READ_PIECE for piece in pieces) and len(pieces) > 1
    assert b"".join(pieces).decode() == long
    assert list(log.texts()) == ['{"a":1}', long, '{"c":3}'] and log.count == 3
    with pytest.raises(ValueError):
        log.append_pieces(["{", "\n}"])
    assert list(log.texts()) == ['{"a":1}', long, '{"c":3}']  # nothing of it left
    log.delete()
    assert log.append_pieces(["{}"]) is None
    with pytest.raises(FileNotFoundError):
        read_stored(stored)
