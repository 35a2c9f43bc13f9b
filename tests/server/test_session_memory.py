"""A long session costs the server no more memory than a short one: what it sent, its
finals and its result are kept on disk (session_files.py) and read back for GET."""

from __future__ import annotations

import gc
import json
import threading
import tracemalloc

from gladia_cli.server.runner import LocalServer
from tests.support import RawClient, create_session, get_session, local_server, tone_bursts

SERVER_CODE = "*/gladia_cli/server/*"


def _session(server: LocalServer, finals: int) -> str:
    """A whole session of `finals` utterances, streamed, stopped and read to its end."""
    bursts = [(0.2 + 0.8 * n, 0.4, 0) for n in range(finals)]
    audio = tone_bursts(bursts, total=0.8 * finals + 0.6).tobytes()
    created = create_session(server.url)
    client = RawClient(created["url"])
    # Read while sending, as a client does: the server takes the audio as fast as it comes
    # and answers as it recognises; a client reading only at the end (slowed down by
    # tracemalloc) could fall so far behind that the server's close is not answered.
    reader = threading.Thread(target=client.read_until_closed)
    reader.start()
    client.send_audio(audio, size=32000)
    client.stop()
    reader.join(timeout=120)
    assert client.received.close_code == 1000
    got = [m for m in client.received.of_type("transcript") if m["data"]["is_final"]]
    assert len(got) == finals
    return str(created["id"])


def _held_by_the_server() -> int:
    """Bytes still allocated with the server's code anywhere on their allocation stack."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, SERVER_CODE, all_frames=True)]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def test_a_stored_session_holds_no_memory_per_message() -> None:
    with local_server() as server:
        _session(server, 3)  # imports, caches and pools settle
        tracemalloc.start(40)
        try:
            start = _held_by_the_server()
            _session(server, 10)
            after_short = _held_by_the_server()
            long_id = _session(server, 200)
            after_long = _held_by_the_server()
        finally:
            tracemalloc.stop()
        short, long = after_short - start, after_long - after_short
        # Kept in memory, 190 more finals held ~190 × (message + utterance) ≈ 400 KB.
        assert long < short + 32 * 1024, (short, long)
        result = get_session(server.url, long_id)["result"]
        assert len(result["transcription"]["utterances"]) == 200
        kept = [json.loads(m) for m in result["messages"]]
        assert sum(m["type"] == "transcript" for m in kept) == 200
        assert [m["type"] for m in kept[-2:]] == ["post_transcript", "post_final_transcript"]
