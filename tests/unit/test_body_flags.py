"""Flags → request bodies as tables (protocol/body_flags.py and the tables beside the
validators)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from gladia_cli.errors import UsageError
from gladia_cli.protocol import init_config, prerecorded_config
from gladia_cli.protocol.body_flags import Flag, body_from, given, key_values
from gladia_cli.protocol.init_config import Field


def _values(**values: Any) -> Any:
    return values.get


def test_given_is_not_none_false_or_empty_and_zero_is_given() -> None:
    nothing: list[Any] = [None, False, "", [], {}, ()]
    something: list[Any] = [0, 0.0, True, "x", ["a"], {"a": 1}]
    assert [given(v) for v in nothing] == [False] * 6
    assert [given(v) for v in something] == [True] * 6


def test_key_values_keeps_equals_in_values_and_refuses_what_is_not_a_pair() -> None:
    assert key_values(["a=1", "b=x=y", "a=2"], "--metadata") == {"a": "2", "b": "x=y"}
    assert key_values(None, "--metadata") == {}
    for bad in ("noequals", "=x", " =x"):
        with pytest.raises(UsageError, match=r"--metadata takes KEY=VALUE, not") as caught:
            key_values([bad], "--metadata", "ticket=T-1")
        assert caught.value.hint == "for example --metadata ticket=T-1"


TABLE = (
    Flag("model", ("model",)),
    Flag("turn", ("turn",), convert=lambda _: {}),
    Flag("threshold", ("turn", "threshold")),
    Flag("terms", ("rt",)),
    Flag(
        "words",
        ("rt", "vocab"),
        convert=lambda w: {"words": w},
        switch=("rt", "on"),
        unless=("rt", "vocab"),
    ),
    Flag("translate", ("tr",), convert=lambda t: {"to": t}, switch=("translation",), replace=True),
    Flag("tr_model", ("tr", "model"), only_with="translate"),
    Flag("meta", ("meta",), convert=lambda pairs: key_values(pairs, "--meta")),
)


def test_flags_go_to_their_paths_in_the_table_order_after_the_body() -> None:
    body = body_from(
        TABLE,
        _values(threshold=0.0, words=["a"], translate=["fr"], tr_model="big", meta=["k=v"]),
        {"encoding": "pcm"},
    )
    assert body == {
        "encoding": "pcm",
        "turn": {"threshold": 0.0},
        "rt": {"on": True, "vocab": {"words": ["a"]}},
        "translation": True,
        "tr": {"to": ["fr"], "model": "big"},
        "meta": {"k": "v"},
    }
    assert list(body) == ["encoding", "turn", "rt", "translation", "tr", "meta"]
    assert list(body["rt"]) == ["on", "vocab"]  # the switch before its value


def test_a_switch_flag_with_an_empty_object_and_a_flag_only_with_another() -> None:
    assert body_from(TABLE, _values(turn=True)) == {"turn": {}}
    assert body_from(TABLE, _values(tr_model="big")) == {}  # no --translate: not taken


def test_a_fragment_given_first_keeps_its_own_and_the_flag_steps_aside() -> None:
    terms = {"vocab": {"words": ["from a file"]}, "on": True}
    body = body_from(TABLE, _values(terms=terms, words=["flag"]))
    assert body == {"rt": {"vocab": {"words": ["from a file"]}, "on": True}}


def test_over_a_config_body_objects_merge_unless_replaced_and_the_body_is_not_changed() -> None:
    config: dict[str, Any] = {"tr": {"to": ["de"], "x": 1}, "meta": {"a": "1"}, "model": "m0"}
    body = body_from(TABLE, _values(translate=["fr"], meta=["b=2"], model="m1"), config)
    expected = {"tr": {"to": ["fr"]}, "meta": {"a": "1", "b": "2"}, "model": "m1"}
    assert body == {**expected, "translation": True}
    assert config["meta"] == {"a": "1"}  # a copy was changed


def test_a_config_value_a_flag_adds_to_must_be_an_object() -> None:
    with pytest.raises(UsageError, match=r"meta in cfg\.json must be a JSON object") as caught:
        body_from(TABLE, _values(meta=["b=2"]), {"meta": "text"}, source="cfg.json", hint="h")
    assert caught.value.hint == "h"
    with pytest.raises(UsageError, match=r"turn in cfg\.json must be a JSON object"):
        body_from(TABLE, _values(threshold=0.5), {"turn": [1]}, source="cfg.json")
    # A falsy value there is an empty object, as it always was.
    assert body_from(TABLE, _values(threshold=0.5), {"turn": None}) == {"turn": {"threshold": 0.5}}


def _schema_holds(schema: Mapping[str, Field], path: tuple[str, ...]) -> bool:
    fields: Mapping[str, Field] = schema
    for key in path[:-1]:
        if key not in fields:
            return False
        fields = fields[key].fields
    return path[-1] in fields


@pytest.mark.parametrize("flag", init_config.LIVE_FLAGS, ids=lambda f: f.name)
def test_every_live_flag_goes_where_the_schema_has_a_field(flag: Flag) -> None:
    assert _schema_holds(init_config.SCHEMA, flag.path)
    if flag.switch is not None:
        assert _schema_holds(init_config.SCHEMA, flag.switch)
        assert init_config.SCHEMA[flag.switch[0]].kind in ("boolean", "object")


def test_the_live_table_builds_a_body_the_validator_takes() -> None:
    values = {
        "model": "solaria-1",
        "endpointing": 0.3,
        "end_of_turn": True,
        "turn_threshold": 0.4,
        "language": ["en"],
        "code_switching": True,
        "audio_enhancer": True,
        "vocabulary": ["Gladia"],
        "spelling": ["SQL=sequel,ess"],
        "translate": ["fr"],
        "translation_model": "enhanced",
        "ner": True,
        "summarize": "general",
        "chapters": True,
        "callback_url": "https://example.com/hook",
        "metadata": ["ticket=T-1"],
    }
    body = body_from(init_config.LIVE_FLAGS, values.get)
    assert init_config.validate(body, strict=True) == []
    assert init_config.semantic_errors(body) == []
    realtime = body["realtime_processing"]
    assert realtime["custom_spelling_config"] == {"spelling_dictionary": {"SQL": ["sequel", "ess"]}}
    assert body["end_of_turn"] == {"threshold": 0.4}


@pytest.mark.parametrize("flag", prerecorded_config.JOB_FLAGS, ids=lambda f: f.name)
def test_every_job_flag_goes_where_the_schema_has_a_field(flag: Flag) -> None:
    assert _schema_holds(prerecorded_config.SCHEMA, flag.path)
    if flag.switch is not None:
        assert prerecorded_config.SCHEMA[flag.switch[0]].kind == "boolean"


def test_the_job_table_replaces_what_it_defines_and_merges_what_it_adds_to() -> None:
    config = {
        "translation_config": {"model": "enhanced", "target_languages": ["de"]},
        "subtitles_config": {"maximum_duration": 4},
    }
    values = {"translate": ["it"], "subtitles": ["vtt", "srt", "vtt"], "speakers": 0}
    body = body_from(prerecorded_config.JOB_FLAGS, values.get, config)
    assert body["translation_config"] == {"target_languages": ["it"]}
    assert body["subtitles_config"] == {"maximum_duration": 4, "formats": ["vtt", "srt"]}
    assert body["diarization"] is True and body["diarization_config"] == {"number_of_speakers": 0}
