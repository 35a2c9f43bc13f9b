"""Gladia's API as it is today (protocol.md §11), with no network: the init body's
end_of_turn, Solaria-3's rules, the new message types, presets, term files, speakers,
how table/text/jsonl show them, and Gladia's Go CLI key file."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from gladia_cli.cli import term_files
from gladia_cli.credentials import MemoryKeyStore
from gladia_cli.diagnostics import FAIL, OK, key_file_check
from gladia_cli.environment import Environment
from gladia_cli.errors import AuthError, UsageError
from gladia_cli.protocol import init_config, prerecorded_config, presets, speakers
from gladia_cli.protocol.messages import AnsweringMachine, SpeechEvent, parse_server_message
from gladia_cli.render import DEFAULT_EVENTS, create_renderer
from gladia_cli.render.base import Labels, SessionOutcome, StatusView, TranscriptBook
from gladia_cli.render.screen import Screen
from gladia_cli.render.table import TableRenderer
from gladia_cli.settings import read_key_file, resolve

# --- the init body and the pre-recorded body ------------------------------------------------


def test_end_of_turn_schema_and_defaults() -> None:
    assert init_config.validate({"end_of_turn": {}}) == []
    assert init_config.validate({"end_of_turn": {"threshold": -0.1}}) == [
        "end_of_turn.threshold must not be less than 0"
    ]
    filled = init_config.with_defaults({"end_of_turn": {"threshold": 0.3}})
    assert filled["end_of_turn"] == {
        "threshold": 0.3,
        "emission_threshold": 0.3,
        "max_wait_secs": 8,
        "probe_base_ms": 900,
    }
    assert "end_of_turn" not in init_config.with_defaults({})  # absent: endpointing only
    assert init_config.turn_ends_asked(filled) and not init_config.turn_ends_asked({})


def test_solaria_3_rules_and_its_candidate_languages() -> None:
    ok = {"audio_url": "https://x/a.wav", "model": "solaria-3"}
    assert prerecorded_config.semantic_errors(ok) == []
    assert prerecorded_config.candidate_languages(ok) == ("en", "fr", "de", "es", "it")
    assert prerecorded_config.candidate_languages({**ok, "model": "solaria-1"}) == ()
    german = {**ok, "language_config": {"languages": ["de"]}}
    assert prerecorded_config.candidate_languages(german) == ("de",)
    wrong = {**ok, "language_config": {"languages": ["pt"], "code_switching": True}}
    assert len(prerecorded_config.semantic_errors(wrong)) == 2
    assert prerecorded_config.validate({**ok, "model": "solaria-9"})  # not a model


# --- messages ----------------------------------------------------------------------------


def test_the_new_message_types_are_typed_and_odd_shapes_pass_untyped() -> None:
    turn = parse_server_message(
        json.dumps({"type": "speech_turn_end", "data": {"time": 2.5, "channel": 1}})
    )
    assert isinstance(turn, SpeechEvent) and (turn.time, turn.channel) == (2.5, 1)
    verdict = parse_server_message(
        json.dumps(
            {
                "type": "answering_machine",
                "data": {"kind": "machine", "confidence": 0.78, "time": 5.0, "channel": 0},
            }
        )
    )
    assert isinstance(verdict, AnsweringMachine) and verdict.kind == "machine"
    odd = parse_server_message(json.dumps({"type": "answering_machine", "data": {"kind": 1}}))
    assert type(odd).__name__ == "ServerMessage"


# --- presets -----------------------------------------------------------------------------


def test_presets_are_valid_bodies_with_gladias_numbers() -> None:
    for name in presets.PRESETS:
        assert init_config.validate(presets.preset_body(name)) == [], name
    assert presets.PRESETS["captions"]["maximum_duration_without_endpointing"] == 5
    assert 0.05 <= presets.PRESETS["agent"]["endpointing"] <= 0.1
    assert 0.3 <= presets.PRESETS["meeting"]["endpointing"] <= 0.5
    assert 0.2 <= presets.PRESETS["call-center"]["endpointing"] <= 0.4
    table = presets.help_table()
    assert all(name in table for name in presets.PRESETS)
    body = presets.preset_body("agent")
    body["endpointing"] = 1
    assert presets.PRESETS["agent"]["endpointing"] == 0.05  # a copy


# --- term files --------------------------------------------------------------------------


def test_a_vocabulary_text_file() -> None:
    found = term_files.parse_vocabulary(
        "# team words\nGladia\n\nKubernetes | intensity=0.8 | pronunciations=koo ber, cube er "
        "| language=en\ndefault_intensity = 0.4\n",
        "v.txt",
    )
    assert found.entries == [
        "Gladia",
        {
            "value": "Kubernetes",
            "intensity": 0.8,
            "pronunciations": ["koo ber", "cube er"],
            "language": "en",
        },
    ]
    assert found.default_intensity == 0.4


def test_a_vocabulary_json_file_in_either_shape() -> None:
    listed = term_files.parse_vocabulary('["a", {"value": "b", "intensity": 0.2}]', "v.json")
    assert listed.entries == ["a", {"value": "b", "intensity": 0.2}]
    whole = term_files.parse_vocabulary('{"vocabulary": ["a"], "default_intensity": 0.6}', "v.json")
    assert whole.entries == ["a"] and whole.default_intensity == 0.6


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("ok\nbad | intensity=2\n", "v line 2: intensity must be a number from 0 to 1"),
        ("ok\n\nbad | volume=2\n", "v line 3: unknown option 'volume=2'"),
        ("x | language=zz\n", "v line 1: term.language must be one of"),
        (" | intensity=0.5\n", "v line 1: the term is empty"),
        ('[\n  "a",\n  {"value": 3}\n]', "v line 3: term.value must be a string"),
        ('[\n  "a",\n  {"value": }\n]', "v line 3: not valid JSON"),
        ("# only a comment\n", "v holds no term"),
    ],
)
def test_vocabulary_errors_name_the_line(text: str, where: str) -> None:
    with pytest.raises(UsageError) as caught:
        term_files.parse_vocabulary(text, "v")
    assert caught.value.message.startswith(where), caught.value.message


def test_a_spelling_file_and_its_errors() -> None:
    text = "SQL = sequel, see quel\n# c\nGladia=gladya\nSQL = ess queue ell\n"
    assert term_files.parse_spelling(text, "s") == {
        "SQL": ["sequel", "see quel", "ess queue ell"],
        "Gladia": ["gladya"],
    }
    assert term_files.parse_spelling('{"SQL": ["sequel"]}', "s") == {"SQL": ["sequel"]}
    for bad, where in (("A = b\nno equals\n", "s line 2"), ("A =  \n", "s line 1")):
        with pytest.raises(UsageError, match=where):
            term_files.parse_spelling(bad, "s")


# --- speakers ----------------------------------------------------------------------------


def _job(*utterances: tuple[float, float, Any]) -> dict[str, Any]:
    return {
        "result": {
            "transcription": {
                "utterances": [{"start": s, "end": e, "speaker": k} for s, e, k in utterances]
            }
        }
    }


def test_turns_merge_a_speakers_consecutive_utterances() -> None:
    turns = speakers.turns_of(_job((3.0, 4.0, 1), (0.0, 1.0, 0), (1.2, 2.5, 0)))
    assert turns == [speakers.Turn(0.0, 2.5, 0), speakers.Turn(3.0, 4.0, 1)]
    assert speakers.turns_of(_job((0.0, 1.0, None))) is None  # diarization did not say
    assert speakers.turns_of({"result": None}) is None


def test_a_live_utterance_gets_the_speaker_it_overlaps_most_else_the_nearest() -> None:
    turns = [speakers.Turn(0.0, 2.0, 0), speakers.Turn(2.0, 5.0, 1)]
    assert speakers.speaker_at(1.5, 3.5, turns) == 1
    assert speakers.speaker_at(0.2, 1.0, turns) == 0
    assert speakers.speaker_at(6.0, 7.0, turns) == 1  # after every turn: the nearest
    assert speakers.speaker_at(0.0, 1.0, []) is None


def test_speakers_round_trip_through_post_session_metadata() -> None:
    turns = [speakers.Turn(0.0, 2.004, 0), speakers.Turn(2.0, 5.0, 1)]
    saved = speakers.to_metadata(turns, "job-1")
    assert json.loads(json.dumps(saved))[speakers.METADATA_KEY]["job"] == "job-1"
    assert speakers.from_metadata(saved) == [
        speakers.Turn(0.0, 2.0, 0),
        speakers.Turn(2.0, 5.0, 1),
    ]
    assert speakers.from_metadata({}) is None
    assert speakers.from_metadata({speakers.METADATA_KEY: {"turns": [[0, 1]]}}) is None
    session = {"result": {"transcription": {"utterances": [{"start": 3.0, "end": 4.0}, "x"]}}}
    labelled = speakers.with_speakers(session, turns)
    assert labelled["result"]["transcription"]["utterances"][0]["speaker"] == 1
    assert "speaker" not in session["result"]["transcription"]["utterances"][0]  # a copy


# --- rendering ---------------------------------------------------------------------------


def _utterance_message(text: str, final: bool, start: float, channel: int = 0) -> str:
    utterance = {
        "text": text,
        "start": start,
        "end": start + 1,
        "confidence": 0.9,
        "channel": channel,
        "language": "en",
        "words": [],
    }
    data = {"id": f"{channel:02d}_{int(start)}", "is_final": final, "utterance": utterance}
    return json.dumps({"type": "transcript", "data": data})


def _event(kind: str, time: float, channel: int = 0) -> str:
    return json.dumps({"type": kind, "data": {"time": time, "channel": channel}})


VERDICT = json.dumps(
    {
        "type": "answering_machine",
        "data": {"kind": "machine", "confidence": 0.93, "time": 5.0, "channel": 0},
    }
)
# The local server's order (the marker after the final), then Gladia's possible early one
# (the turn ends while a partial is still open: the marker waits for the final).
AFTER = [
    _event("speech_start", 0.0),
    _utterance_message(" hi", True, 0.0),
    _event("speech_turn_end", 1.0),
]
EARLY = [
    _utterance_message(" so", False, 2.0),
    _event("speech_turn_end", 3.0),
    _utterance_message(" so long", True, 2.0),
]


def _text_output(frames: list[str], labels: Labels | None = None) -> list[str]:
    stream = io.StringIO()
    env = Environment(stdout=stream, stderr=io.StringIO(), environ={})
    renderer = create_renderer(
        "text", output_path=None, labels=labels or Labels(), events=None, screen=Screen(env)
    )
    for frame in frames:
        renderer.message(parse_server_message(frame))
    renderer.finish(SessionOutcome(StatusView()))
    return stream.getvalue().splitlines()


def test_text_marks_the_end_of_each_turn_after_its_final_in_either_order() -> None:
    assert _text_output([*AFTER, *EARLY]) == ["hi", "⏎ end of turn", "so long", "⏎ end of turn"]
    # A turn end whose final never comes is still marked at the end.
    assert _text_output([_utterance_message(" a", False, 0.0), _event("speech_turn_end", 1.0)]) == [
        "⏎ end of turn"
    ]


def test_text_says_who_answered_in_one_line() -> None:
    lines = _text_output([VERDICT], Labels(("callee",), 1))
    assert lines == ["[callee] -- answering machine (0.93) --"]


def test_the_table_marks_turn_ends_and_shows_the_verdict() -> None:
    console = Console(file=io.StringIO(), width=80, height=24, color_system=None)
    env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), environ={})
    renderer = TableRenderer(console, Labels(), Screen(env))
    renderer.start("s")
    for frame in [*AFTER, *EARLY, VERDICT]:
        renderer.message(parse_server_message(frame))
    live = "\n".join("".join(s.text for s in line) for line in renderer.frame(80, 20))
    assert "hi ⏎" in live and "so long ⏎" in live and "answering machine (0.93)" in live
    renderer.finish(SessionOutcome(StatusView(state="done")))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "hi ⏎" in out and "so long ⏎" in out and "answering machine (0.93)" in out


def test_a_message_of_an_unknown_type_never_breaks_the_table_or_the_text() -> None:
    odd = [json.dumps({"type": "brand_new", "data": [1, 2]}), json.dumps({"data": None})]
    book = TranscriptBook()
    for frame in odd:
        assert book.apply(parse_server_message(frame)) is None
    assert _text_output([*odd, _utterance_message(" fine", True, 0.0)]) == ["fine"]


def _jsonl(events: frozenset[str] | None, frames: list[str]) -> list[str]:
    stream = io.StringIO()
    env = Environment(stdout=stream, stderr=io.StringIO(), environ={})
    renderer = create_renderer(
        "jsonl", output_path=None, labels=Labels(), events=events, screen=Screen(env)
    )
    for frame in frames:
        renderer.message(parse_server_message(frame))
    return [json.loads(line)["type"] for line in stream.getvalue().splitlines()]


def test_jsonl_writes_unknown_types_verbatim_by_default_and_only_what_events_names() -> None:
    frames = [
        json.dumps({"type": "brand_new", "data": {"x": 1}}),
        _event("speech_turn_end", 1.0),
        json.dumps({"type": "audio_chunk", "acknowledged": True, "data": None}),
        VERDICT,
    ]
    assert _jsonl(DEFAULT_EVENTS, frames) == ["brand_new", "speech_turn_end", "answering_machine"]
    assert _jsonl(frozenset({"speech_turn_end"}), frames) == ["speech_turn_end"]
    assert _jsonl(None, frames) == [
        "brand_new",
        "speech_turn_end",
        "audio_chunk",
        "answering_machine",
    ]


# --- Gladia's Go CLI key file --------------------------------------------------------------


def _home(tmp_path: Path, key: str = "go-cli-key-0123456789", mode: int = 0o600) -> dict[str, str]:
    (tmp_path / ".gladia").write_text(key + "\n")
    (tmp_path / ".gladia").chmod(mode)
    return {"HOME": str(tmp_path), "GLADIA_CONFIG": "", "XDG_CONFIG_HOME": str(tmp_path / "c")}


def test_the_go_cli_key_file_is_read_last_for_the_default_profile(tmp_path: Path) -> None:
    environ = _home(tmp_path)
    settings = resolve(environ=environ, key_store=MemoryKeyStore())
    assert settings.api_key == "go-cli-key-0123456789"
    assert settings.key_source == f"Gladia's CLI key file {tmp_path / '.gladia'}"
    before = [
        resolve(environ={**environ, "GLADIA_API_KEY": "env-key"}),
        resolve(environ=environ, key_store=MemoryKeyStore({"default": "ring-key"})),
        resolve(environ=environ, api_key="flag-key"),
    ]
    assert [s.api_key for s in before] == ["env-key", "ring-key", "flag-key"]
    assert resolve(environ=environ, local=True).api_key is None  # --local needs none


def test_a_named_profile_never_takes_the_go_cli_key(tmp_path: Path) -> None:
    environ = _home(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text("[profiles.work]\n")
    config.chmod(0o600)
    settings = resolve(environ={**environ, "GLADIA_CONFIG": str(config)}, profile="work")
    assert settings.api_key is None


def test_the_go_cli_key_file_mode_is_checked_as_the_config_files(tmp_path: Path) -> None:
    environ = _home(tmp_path, mode=0o644)
    warnings: list[str] = []
    resolve(environ=environ, warn=warnings.append)
    assert len(warnings) == 1 and "chmod 600" in warnings[0] and "0644" in warnings[0]
    settings = resolve(environ=environ)
    check = key_file_check(read_key_file(environ), settings)
    assert (
        check is not None
        and check.status == FAIL
        and check.fix == f"chmod 600 {tmp_path / '.gladia'}"
    )
    (tmp_path / ".gladia").chmod(0o600)
    check = key_file_check(read_key_file(environ), settings)
    assert check is not None and check.status == OK and "the key in use" in check.detail
    assert key_file_check(read_key_file({"HOME": str(tmp_path / "none")}), settings) is None


def test_a_go_cli_key_that_cannot_be_a_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    environ = _home(tmp_path, key="two words")
    with pytest.raises(AuthError) as caught:
        resolve(environ=environ)
    assert "Gladia's CLI key file" in caught.value.message and "two words" not in str(caught.value)
    (tmp_path / ".gladia").write_text("\n")
    assert resolve(environ=environ).api_key is None  # an empty file is no key


def test_speakers_with_local_are_refused_up_front_without_the_speaker_model(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gladia_cli.cli import speaker_labels
    from gladia_cli.cli.options import StreamOptions
    from gladia_cli.server.prerecorded import diarization

    monkeypatch.setattr(diarization, "available", lambda: False)
    with pytest.raises(UsageError) as caught:
        speaker_labels.check(StreamOptions(local=True), "text")
    assert "speaker model is not installed" in caught.value.message
    assert "resemblyzer" in str(caught.value.hint)
    monkeypatch.setattr(diarization, "available", lambda: True)
    speaker_labels.check(StreamOptions(local=True), "text")  # then it may run
