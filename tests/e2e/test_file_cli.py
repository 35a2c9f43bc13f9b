"""`gladia file` end to end: formats, outputs, faults, bad input, signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile as sf

from gladia_cli.server.config import Faults
from gladia_cli.server.runner import LocalServer
from tests.e2e.conftest import DATA, Run, run_cli
from tests.support import (
    GLADIA,
    HEADERS,
    KEY,
    local_server,
    session_ids,
    stored_audio,
    tone_bursts,
    wait_until_streamed,
)

BURSTS = tone_bursts([(0.3, 0.8, 0), (1.6, 0.8, 0), (2.9, 0.6, 0), (4.0, 0.7, 0)], total=5.0)
THREE = tone_bursts([(0.2, 0.7, 0), (1.2, 0.7, 1), (2.2, 0.7, 2)], total=3.2, channels=3)


@pytest.fixture
def bursts(tmp_path: Path) -> Path:
    path = tmp_path / "bursts.wav"
    sf.write(path, BURSTS, 16000, subtype="PCM_16")
    return path


def _against(server: LocalServer, *args: str, env: dict[str, str] | None = None) -> Run:
    return run_cli(*args, env={"GLADIA_API_URL": server.url, **(env or {})})


def _latest_session(server: LocalServer) -> dict:
    items = requests.get(f"{server.url}/v2/live?limit=1", headers=HEADERS, timeout=5).json()[
        "items"
    ]
    return items[0]


def _no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout


def _one_error(run: Run, code: int, *needles: str) -> None:
    assert run.code == code, (run.code, run.stderr)
    _no_traceback(run)
    errors = [line for line in run.stderr.splitlines() if line.startswith("gladia: error:")]
    assert len(errors) == 1, run.stderr
    for needle in needles:
        assert needle in run.stderr, run.stderr


# --- recognition through every format ------------------------------------------------


FORMATS = [
    ("wav", "PCM_16"),
    ("wav", "PCM_24"),
    ("wav", "FLOAT"),
    ("wav", "ULAW"),
    ("flac", "PCM_16"),
    ("ogg", "VORBIS"),
    ("mp3", "MPEG_LAYER_III"),
]


@pytest.mark.parametrize(("extension", "subtype"), FORMATS)
def test_every_format_ends_with_the_spoken_words(
    tmp_path: Path, fixtures: dict, extension: str, subtype: str
) -> None:
    entry = fixtures["book_table"]
    audio, rate = sf.read(Path(__file__).parent.parent / "data" / entry["file"], dtype="float32")
    path = tmp_path / f"speech.{extension}"
    sf.write(path, audio, rate, subtype=subtype)
    run = run_cli("file", str(path), "--local", "--pace", "max")
    assert run.code == 0, run.stderr
    _no_traceback(run)
    # The default engine (whisper base) gets every word of the espeak fixtures, through
    # lossy codecs too (measured); "o'clock" may come back as "o'clock" or "7 o'clock".
    expected = set(entry["whisper_words"][0]) - {"seven", "o'clock"}
    heard = expected & run.words()
    assert heard == expected, (expected, run.words())


def test_resampled_rates_are_transcribed(tmp_path: Path, fixtures: dict) -> None:
    entry = fixtures["market"]
    audio, rate = sf.read(Path(__file__).parent.parent / "data" / entry["file"], dtype="float32")
    import soxr

    path = tmp_path / "speech22k.wav"
    sf.write(path, soxr.resample(audio, rate, 22050), 22050)
    run = run_cli("file", str(path), "--local", "--pace", "max", "--format", "jsonl")
    assert run.code == 0, run.stderr
    assert set(entry["whisper_words"][0]) <= run.words()


# --- outputs ---------------------------------------------------------------------------


def test_three_channels_get_their_labels_in_text(scripted: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "three.wav"
    sf.write(path, THREE, 16000)
    run = _against(
        scripted,
        "file",
        str(path),
        "--pace",
        "max",
        "--format",
        "text",
        "--label",
        "sami,maxime,mark",
    )
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert [line.split("]")[0] + "]" for line in lines] == ["[sami]", "[maxime]", "[mark]"]
    jsonl = _against(scripted, "file", str(path), "--pace", "max")
    assert [u["channel"] for u in jsonl.finals()] == [0, 1, 2]


def test_jsonl_lines_are_the_servers_messages(scripted: LocalServer, bursts: Path) -> None:
    run = _against(scripted, "file", str(bursts), "--pace", "max")
    assert run.code == 0
    messages = run.jsonl()
    types = [m["type"] for m in messages]
    assert "audio_chunk" not in types  # acknowledgments only on request
    assert types[-1] == "post_final_transcript"
    assert any(
        m["type"] == "transcript" and not m["data"]["is_final"] for m in messages
    )  # partials on
    assert len(run.finals()) == 4
    events = _against(
        scripted, "file", str(bursts), "--pace", "max", "--events", "transcript,end_session"
    )
    assert {m["type"] for m in events.jsonl()} == {"transcript", "end_session"}
    everything = _against(
        scripted, "file", str(bursts), "--pace", "max", "--events", "all", "--no-partials"
    )
    types = [m["type"] for m in everything.jsonl()]
    assert "audio_chunk" in types and "start_recording" in types
    assert not [
        m for m in everything.jsonl() if m["type"] == "transcript" and not m["data"]["is_final"]
    ]


SRT_CUE = re.compile(r"^\d+\n\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}\n.+$")
VTT_CUE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}\n.+$")


def test_srt_and_vtt_are_well_formed(scripted: LocalServer, tmp_path: Path) -> None:
    path = tmp_path / "three.wav"
    sf.write(path, THREE, 16000)
    srt_path = tmp_path / "out.srt"
    run = _against(
        scripted,
        "file",
        str(path),
        "--pace",
        "max",
        "-f",
        "srt",
        "-o",
        str(srt_path),
        "--label",
        "a,b,c",
    )
    assert run.code == 0 and run.stdout == ""
    cues = srt_path.read_text().strip().split("\n\n")
    assert len(cues) == 3 and all(SRT_CUE.match(cue) for cue in cues)
    assert [cue.split("\n")[0] for cue in cues] == ["1", "2", "3"]
    assert cues[1].split("\n")[2].startswith("[b] ")
    vtt = _against(
        scripted, "file", str(path), "--pace", "max", "-f", "vtt", "--label", "a,b,c"
    ).stdout
    header, *blocks = vtt.strip().split("\n\n")
    assert header == "WEBVTT"
    assert len(blocks) == 3 and all(VTT_CUE.match(block) for block in blocks)
    assert blocks[2].split("\n")[1].startswith("<v c>")


def test_json_is_the_session_result(scripted: LocalServer, bursts: Path) -> None:
    run = _against(scripted, "file", str(bursts), "--pace", "max", "--format", "json")
    assert run.code == 0
    result = json.loads(run.stdout)
    assert result["status"] == "done"
    assert len(result["result"]["transcription"]["utterances"]) == 4


def test_save_audio_holds_exactly_what_was_sent(
    scripted: LocalServer, bursts: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "sent.wav"
    run = _against(scripted, "file", str(bursts), "--pace", "max", "--save-audio", str(saved))
    assert run.code == 0
    data, rate = sf.read(saved, dtype="int16")
    assert rate == 16000 and np.array_equal(data, BURSTS[:, 0])
    assert stored_audio(scripted.url, _latest_session(scripted)["id"]) == BURSTS.tobytes()


def test_config_file_and_flags(scripted: LocalServer, bursts: Path, tmp_path: Path) -> None:
    config = tmp_path / "init.json"
    body = {
        "custom_metadata": {"team": "qa"},
        "endpointing": 0.5,
        "messages_config": {"receive_speech_events": False},
    }
    config.write_text(json.dumps(body))
    run = _against(
        scripted,
        "file",
        str(bursts),
        "--pace",
        "max",
        "--config",
        str(config),
        "--endpointing",
        "0.4",
        "--metadata",
        "run=7",
    )
    assert run.code == 0, run.stderr
    assert "speech_start" not in {m["type"] for m in run.jsonl()}
    params = _latest_session(scripted)["request_params"]
    assert params["endpointing"] == 0.4
    metadata = dict(params["custom_metadata"])
    assert metadata.pop("gladia_cli_request")  # the client's id for a lost reply (issue 18)
    assert metadata == {"team": "qa", "run": "7"}
    config.write_text("{oops")
    bad = _against(scripted, "file", str(bursts), "--config", str(config))
    _one_error(bad, 2, "not valid JSON")
    invalid = _against(scripted, "file", str(bursts), "--endpointing", "20")
    _one_error(invalid, 2, "--endpointing 20 is out of range", "from 0.01 to 10")


def test_stdin_wav_and_raw(scripted: LocalServer, bursts: Path) -> None:
    wav = _against(scripted, "file", "-", "--pace", "max")
    assert wav.code != 0  # stdin is empty here: no audio
    piped = run_cli(
        "file",
        "-",
        "--pace",
        "max",
        env={"GLADIA_API_URL": scripted.url},
        stdin=bursts.read_bytes(),
    )
    assert piped.code == 0, piped.stderr
    assert len(piped.finals()) == 4
    raw = run_cli(
        "file",
        "-",
        "--raw",
        "s16le",
        "--raw-rate",
        "16000",
        "--raw-channels",
        "1",
        "--pace",
        "max",
        env={"GLADIA_API_URL": scripted.url},
        stdin=BURSTS.tobytes(),
    )
    assert raw.code == 0, raw.stderr
    assert len(raw.finals()) == 4


def test_a_closed_pipe_ends_quietly(scripted: LocalServer, bursts: Path) -> None:
    shell = f"{' '.join(GLADIA)} file {bursts} --pace 2x | head -n 1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell],
        capture_output=True,
        env={**os.environ, "GLADIA_API_KEY": KEY, "GLADIA_API_URL": scripted.url},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.decode().splitlines()) == 1
    assert b"error" not in done.stderr.lower() and b"Traceback" not in done.stderr


# --- faults ----------------------------------------------------------------------------


def test_drops_mid_stream_lose_nothing(bursts: Path) -> None:
    with local_server() as clean:
        reference = _against(clean, "file", str(bursts), "--pace", "4x")
    faults = Faults(drop_after_bytes=30_000, fault_connections=3)
    with local_server(faults=faults) as server:
        run = _against(server, "file", str(bursts), "--pace", "4x")
        assert run.code == 0, run.stderr
        assert run.stderr.count("reconnected") == 3
        assert [u["text"] for u in run.finals()] == [u["text"] for u in reference.finals()]
        assert stored_audio(server.url, _latest_session(server)["id"]) == BURSTS.tobytes()


def test_a_refused_init_is_retried(bursts: Path) -> None:
    with local_server(faults=Faults(init_failures=(500, 503))) as server:
        run = _against(server, "file", str(bursts), "--pace", "max")
        assert run.code == 0, run.stderr
        assert run.stderr.count("retrying") == 2
        assert len(run.finals()) == 4


def test_init_retries_are_bounded(bursts: Path) -> None:
    with local_server(faults=Faults(init_failures=(503,) * 10)) as server:
        run = _against(server, "file", str(bursts))
        _one_error(run, 4, "503", "gave up")


def test_a_wrong_key_exits_3_with_a_hint(bursts: Path) -> None:
    with local_server(api_key="the-right-key") as server:
        run = _against(server, "file", str(bursts), env={"GLADIA_API_KEY": "a-wrong-key"})
        _one_error(run, 3, "401", "GLADIA_API_KEY")
        assert "a-wrong-key" not in run.stderr and "the-right-key" not in run.stderr


def test_a_missing_key_exits_3(bursts: Path, scripted: LocalServer) -> None:
    run = _against(scripted, "file", str(bursts), env={"GLADIA_API_KEY": ""})
    _one_error(run, 3, "no API key", "--local")


def test_a_client_error_close_exits_4_without_retrying(bursts: Path) -> None:
    with local_server(
        faults=Faults(close_code=4403, close_after_bytes=9_000, fault_connections=5)
    ) as server:
        started = time.monotonic()
        run = _against(server, "file", str(bursts), "--pace", "max")
        _one_error(run, 4, "4403")
        assert "reconnect" not in run.stderr
        assert time.monotonic() - started < 20


def test_the_key_never_shows_even_with_debug(bursts: Path) -> None:
    secret = "sk-SECRET-0123456789"
    with local_server(faults=Faults(init_failures=(400,))) as server:
        run = _against(server, "file", str(bursts), "--debug", env={"GLADIA_API_KEY": secret})
        assert run.code == 2
        assert secret not in run.stdout and secret not in run.stderr


# --- bad input -------------------------------------------------------------------------


def test_bad_inputs_get_one_line_and_an_exit_code(tmp_path: Path, scripted: LocalServer) -> None:
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "notes.wav").write_text("these are my notes, not audio\n" * 20)
    good = tmp_path / "good.wav"
    sf.write(good, BURSTS, 16000)
    data = good.read_bytes()
    (tmp_path / "header-cut.wav").write_bytes(data[:30])
    ten = tmp_path / "ten.wav"
    sf.write(ten, np.zeros((1600, 10), dtype=np.int16), 16000)
    (tmp_path / "no-audio").mkdir()
    cases = [
        (tmp_path / "missing.wav", 5, "no such file"),
        # A directory stands for its audio files (tests/e2e/test_many_cli.py): none is a
        # usage error.
        (tmp_path / "no-audio", 2, "no audio files"),
        (tmp_path / "empty.wav", 5, "empty"),
        (tmp_path / "notes.wav", 5, "text"),
        (tmp_path / "header-cut.wav", 5, "header-cut.wav"),
        (ten, 5, "8"),
    ]
    for path, code, needle in cases:
        run = _against(scripted, "file", str(path))
        _one_error(run, code, needle)
        assert "hint:" in run.stderr, run.stderr


def test_a_file_truncated_mid_data_is_transcribed_then_reported(
    tmp_path: Path, scripted: LocalServer
) -> None:
    good = tmp_path / "good.wav"
    sf.write(good, BURSTS, 16000)
    data = good.read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    run = _against(scripted, "file", str(cut), "--pace", "max", "--format", "text")
    _one_error(run, 5, "truncated")
    assert len(run.stdout.splitlines()) == 2  # the two utterances in the readable half


def test_an_unreachable_server(bursts: Path) -> None:
    run = run_cli(
        "file", str(bursts), "--api-url", "http://127.0.0.1:9", env={"GLADIA_API_URL": "x"}
    )
    _one_error(run, 4, "cannot reach http://127.0.0.1:9")


def test_usage_errors_exit_2(bursts: Path) -> None:
    _one_error(run_cli("file", str(bursts), "--pace", "fast"), 2, "--pace")
    _one_error(run_cli("file", str(bursts), "--format", "xml"), 2, "format")
    _one_error(run_cli("file", str(bursts), "--bogus"), 2, "--bogus")
    _one_error(run_cli("file", str(bursts), "--region", "mars"), 2, "region")
    _one_error(run_cli("file", str(bursts), "--label", "a,b"), 2, "--label")


# --- signals ---------------------------------------------------------------------------


def _start(server: LocalServer, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*GLADIA, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "GLADIA_API_KEY": KEY, "GLADIA_API_URL": server.url},
    )


def test_sigint_stops_drains_and_exits_0(scripted: LocalServer, bursts: Path) -> None:
    known = session_ids(scripted.url)
    process = _start(scripted, "file", str(bursts), "--pace", "realtime", "--events", "all")
    # Inside the second burst (1.6-2.4 s): it ends as an utterance at the stop; the third
    # (from 2.9 s) is never reached.
    wait_until_streamed(scripted.url, known, 2.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    run = Run(process.returncode, out.decode(), err.decode())
    types = [m["type"] for m in run.jsonl()]
    assert "stop_recording" in types  # the server's ack: we sent it
    assert types[-1] == "end_session"
    assert len(run.finals()) == 2
    assert 2.0 < _latest_session(scripted)["file"]["audio_duration"] < 4.0
    assert "stopping" in run.stderr and "Traceback" not in run.stderr


def test_sigterm_is_a_graceful_stop_too(scripted: LocalServer, bursts: Path) -> None:
    known = session_ids(scripted.url)
    process = _start(scripted, "file", str(bursts), "--pace", "realtime", "--format", "text")
    wait_until_streamed(scripted.url, known, 2.1)  # inside the second burst
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert len(out.decode().splitlines()) == 2


def test_a_second_sigint_aborts_with_130(bursts: Path) -> None:
    # Slow post-processing: the first Ctrl-C waits for it, the second aborts at once.
    with local_server(faults=Faults(slow_finish=30)) as server:
        known = session_ids(server.url)
        process = _start(server, "file", str(bursts), "--pace", "realtime")
        # Streaming, not a guess of how long the CLI takes to start (a loaded machine):
        # a signal while connecting aborts at once, with no session to name.
        wait_until_streamed(server.url, known, 0.5)
        process.send_signal(signal.SIGINT)
        time.sleep(0.5)  # a second press, not the first one's twin (jobs/signals.BURST)
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
        assert process.returncode == 130, err
        assert time.monotonic() - started < 3
        assert b"Traceback" not in err
        assert b"aborted" in err and b"gladia sessions get" in err


def test_stop_timeout(bursts: Path) -> None:
    with local_server(faults=Faults(slow_finish=30)) as server:
        started = time.monotonic()
        run = _against(server, "file", str(bursts), "--pace", "max", "--stop-timeout", "1")
        _one_error(
            run, 4, "made no progress for 1 s (waiting for the end of the session)", "sessions get"
        )
        assert time.monotonic() - started < 10


def test_an_mp3_leaves_no_decoder_noise_on_stderr(tmp_path: Path) -> None:
    """libmpg123 printed dozens of `[src/libmpg123/layer3.c:…] error:` lines, even with -q."""
    import soundfile as sf

    speech, rate = sf.read(DATA / "meeting_3ch.wav")
    mp3 = tmp_path / "talk.mp3"
    sf.write(mp3, speech[:, :2], rate, format="MP3")  # stereo: the channel check reads it too
    for quiet in ((), ("-q",)):
        # A process: libmpg123's messages are a native library's, on descriptor 2, and
        # depend on what the process decoded before (in the suite's process, it failed once).
        run = run_cli(
            "file", str(mp3), "--local", "--local-engine", "scripted", "--pace", "max",
            "-f", "text", *quiet, process=True,
        )  # fmt: skip
        assert run.code == 0, run.stderr
        assert run.stdout.strip()
        assert "libmpg123" not in run.stderr and "error:" not in run.stderr, run.stderr
    assert run.stderr == ""  # -q: nothing at all
