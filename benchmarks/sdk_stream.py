"""Stream a WAV file through Gladia's official Python SDK (`gladiaio-sdk`) as fast as it
goes: the SDK side of `client_stream.py`, run by it as a subprocess so that both clients
are measured the same way (rusage of the child process).

What it does, to match `gladia file X --pace max --format jsonl`: the same init body as
the CLI (16 kHz mono 16-bit PCM, partial transcripts on, every message type on but the
lifecycle events), waits for the WebSocket, reads the WAV in 100 ms chunks (3200 bytes)
and calls `send_audio` for each with no pause, then `stop_recording`, and waits for the
`ended` event (the server closing the session). Messages are counted, not printed. The
API key comes from GLADIA_API_KEY.

Exit status: 0 when the session ended with close code 1000, 1 otherwise.

    GLADIA_API_KEY=any .venv/bin/python benchmarks/sdk_stream.py talk.wav --api-url URL
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import wave
from typing import Any

from gladia_cli.protocol.init_config import MESSAGE_FLAGS

CHUNK_BYTES = 3200
INIT_BODY: dict[str, Any] = {
    "encoding": "wav/pcm",
    "sample_rate": 16000,
    "bit_depth": 16,
    "channels": 1,
    # The socket's defaults with partials on, as the CLI asks for them.
    "messages_config": {**MESSAGE_FLAGS, "receive_partial_transcripts": True},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("wav", help="16 kHz mono 16-bit PCM WAV")
    parser.add_argument("--api-url", required=True)
    parser.add_argument(
        "--end-timeout", type=float, default=600.0, help="seconds to wait for the end"
    )
    args = parser.parse_args()
    api_key = os.environ.get("GLADIA_API_KEY")
    if not api_key:
        print("sdk_stream: set GLADIA_API_KEY", file=sys.stderr)
        return 2

    from gladiaio_sdk import GladiaClient

    counts = {"messages": 0, "finals": 0}
    ended: list[Any] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def on_message(message: Any) -> None:
        counts["messages"] += 1
        if message.type == "transcript" and message.data.is_final:
            counts["finals"] += 1

    def on_ended(message: Any) -> None:
        ended.append(message)
        done.set()

    session = GladiaClient(api_key=api_key, api_url=args.api_url).live_v2().start_session(INIT_BODY)
    session.on("message", on_message)
    session.on("error", errors.append)
    session.on("ended", on_ended)
    if not session.wait_until_ready(30):
        print("sdk_stream: the WebSocket did not open", file=sys.stderr)
        return 1
    start = time.monotonic()
    sent = 0
    with wave.open(args.wav, "rb") as wav:
        frames = CHUNK_BYTES // (wav.getsampwidth() * wav.getnchannels())
        while chunk := wav.readframes(frames):
            session.send_audio(chunk)
            sent += len(chunk)
    sent_after = time.monotonic() - start
    session.stop_recording()
    finished = done.wait(args.end_timeout)
    code = ended[0].code if ended else None
    print(
        f"sdk_stream: sent {sent} bytes in {sent_after:.1f} s, ended "
        f"{time.monotonic() - start:.1f} s after the start with code {code}; "
        f"{counts['messages']} messages, {counts['finals']} finals, {len(errors)} errors"
        + (f" (first: {errors[0]!r})" if errors else ""),
        file=sys.stderr,
    )
    return 0 if finished and code == 1000 else 1


if __name__ == "__main__":
    sys.exit(main())
