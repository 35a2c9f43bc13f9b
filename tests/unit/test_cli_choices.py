"""The option choices Typer validates are the facts kept elsewhere, not copies that drift."""

from __future__ import annotations

import typing

from gladia_cli.cli.choices import BitDepth, LocalEngine, LocalModel, Region, SampleRate
from gladia_cli.protocol.audio_format import BIT_DEPTHS, SAMPLE_RATES
from gladia_cli.protocol.init_config import REGIONS
from gladia_cli.server.recognition.engines.catalog import ENGINE_NAMES, MODEL_NAMES


def test_engine_and_model_choices_are_the_catalog() -> None:
    assert tuple(LocalEngine) == ENGINE_NAMES
    assert tuple(LocalModel) == MODEL_NAMES


def test_audio_and_region_choices_are_the_protocol() -> None:
    assert typing.get_args(SampleRate) == SAMPLE_RATES
    assert typing.get_args(BitDepth) == BIT_DEPTHS
    assert tuple(Region) == REGIONS


def test_the_events_help_names_every_message_type() -> None:
    """--events' help lists the types in words (cheap for --help): never one missing."""
    from gladia_cli.cli.options import EVENT_TYPES_TEXT
    from gladia_cli.protocol.messages import SERVER_MESSAGE_TYPES

    assert sorted(EVENT_TYPES_TEXT.split(", ")) == sorted(SERVER_MESSAGE_TYPES)
