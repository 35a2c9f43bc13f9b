"""The init body schema: defaults, validation messages, semantic checks."""

from __future__ import annotations

import pytest

from gladia_cli.protocol import init_config


def test_empty_body_is_valid_and_gets_gladia_defaults() -> None:
    assert init_config.validate({}) == []
    full = init_config.with_defaults({})
    assert full["encoding"] == "wav/pcm"
    assert full["sample_rate"] == 16000
    assert full["bit_depth"] == 16
    assert full["channels"] == 1
    assert full["endpointing"] == 0.05
    assert full["maximum_duration_without_endpointing"] == 5
    assert full["language_config"] == {"languages": [], "code_switching": False}
    assert full["pre_processing"]["speech_threshold"] == 0.6
    flags = full["messages_config"]
    assert flags["receive_partial_transcripts"] is False
    assert flags["receive_lifecycle_events"] is False
    assert flags["receive_final_transcripts"] is True
    assert flags["receive_acknowledgments"] is True


def test_defaults_keep_given_values_and_fill_nested_ones() -> None:
    body = {
        "channels": 3,
        "messages_config": {"receive_partial_transcripts": True},
        "realtime_processing": {
            "translation": True,
            "translation_config": {"target_languages": ["de"]},
        },
    }
    full = init_config.with_defaults(body)
    assert full["channels"] == 3
    assert full["messages_config"]["receive_partial_transcripts"] is True
    assert full["messages_config"]["receive_speech_events"] is True
    assert full["realtime_processing"]["translation_config"]["model"] == "base"
    assert full["realtime_processing"]["sentiment_analysis"] is False
    assert body["messages_config"] == {"receive_partial_transcripts": True}  # not mutated


def test_alaw_defaults_to_8_bits() -> None:
    assert init_config.with_defaults({"encoding": "wav/alaw"})["bit_depth"] == 8


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"sample_rate": 22050}, "sample_rate must be one of the following values: 8000, 16000"),
        ({"channels": 9}, "channels must not be greater than 8"),
        ({"channels": 0}, "channels must not be less than 1"),
        ({"channels": 1.5}, "channels must be an integer number"),
        ({"encoding": "mp3"}, "encoding must be one of the following values"),
        ({"endpointing": 0}, "endpointing must not be less than 0.01"),
        ({"endpointing": "fast"}, "endpointing must be a number"),
        ({"bit_depth": True}, "bit_depth must be a number"),
        ({"language_config": {"languages": ["xx"]}}, "language_config.languages[0] must be one of"),
        (
            {"language_config": {"code_switching": "yes"}},
            "language_config.code_switching must be a boolean",
        ),
        (
            {"messages_config": {"receive_errors": 1}},
            "messages_config.receive_errors must be a boolean",
        ),
        (
            {"realtime_processing": {"translation_config": {"target_languages": []}}},
            "realtime_processing.translation_config.target_languages should not be empty",
        ),
        (
            {"realtime_processing": {"translation_config": {}}},
            "realtime_processing.translation_config.target_languages is required",
        ),
        (
            {
                "realtime_processing": {
                    "custom_vocabulary_config": {"vocabulary": [{"intensity": 2}]}
                }
            },
            "realtime_processing.custom_vocabulary_config.vocabulary[0].value is required",
        ),
        (
            {
                "realtime_processing": {
                    "custom_spelling_config": {"spelling_dictionary": {"SQL": "sequel"}}
                }
            },
            "realtime_processing.custom_spelling_config.spelling_dictionary.SQL must be an array",
        ),
        (
            {"post_processing": {"summarization_config": {"type": "long"}}},
            "post_processing.summarization_config.type must be one of",
        ),
        (
            {"custom_metadata": {"k": "x" * 2001}},
            "custom_metadata must be shorter than or equal to 2000 characters",
        ),
        ({"custom_metadata": []}, "custom_metadata must be an object"),
        ([], "body must be a JSON object"),
    ],
)
def test_validation_messages_start_with_the_field_path(body: object, message: str) -> None:
    errors = init_config.validate(body)
    assert any(e.startswith(message) for e in errors), errors


def test_every_error_is_reported_not_just_the_first() -> None:
    assert len(init_config.validate({"sample_rate": 1, "channels": 20, "encoding": "x"})) == 3


def test_vocabulary_accepts_strings_and_objects() -> None:
    body = {
        "realtime_processing": {
            "custom_vocabulary": True,
            "custom_vocabulary_config": {
                "vocabulary": ["Gladia", {"value": "Solaria", "intensity": 0.5, "language": "en"}],
                "default_intensity": 0.4,
            },
        }
    }
    assert init_config.validate(body) == []


def test_unknown_keys_are_tolerated_unless_strict() -> None:
    body = {"realtime_processing": {"words_accurate_timestamps": False}, "extra": 1}
    assert init_config.validate(body) == []
    strict = init_config.validate(body, strict=True)
    assert "property extra should not exist" in strict
    assert "property realtime_processing.words_accurate_timestamps should not exist" in strict


def test_semantic_errors() -> None:
    assert init_config.semantic_errors({"encoding": "wav/ulaw", "bit_depth": 16}) == [
        "bit_depth must be 8 when encoding is wav/ulaw"
    ]
    assert init_config.semantic_errors({"encoding": "wav/ulaw"}) == []
    assert init_config.semantic_errors({"callback": True}) == [
        "callback_config.url is required when callback is true"
    ]
    assert init_config.semantic_errors({"realtime_processing": {"translation": True}}) == [
        "realtime_processing.translation_config is required when translation is true"
    ]
