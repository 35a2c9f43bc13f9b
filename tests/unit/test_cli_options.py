"""cli/options.with_options: option groups declared once, laid into a command's signature
where the command names them, and handed back as one object each."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, fields
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from gladia_cli.cli.options import JobFlags, ManyInputs, ManyJobs, with_options
from gladia_cli.cli.transcribing import JobOptions, job_options
from gladia_cli.environment import Environment


@dataclass
class Colours:
    red: Annotated[int, typer.Option("--red")] = 1
    blue: Annotated[int, typer.Option("--blue")] = 2


def test_a_group_is_laid_in_where_the_command_names_it() -> None:
    seen: list[object] = []

    @with_options
    def command(
        first: Annotated[str, typer.Option("--first")] = "a",
        *,
        colours: Colours,
        last: Annotated[str, typer.Option("--last")] = "z",
        env: Environment,
    ) -> None:
        seen.extend([first, colours, last, env])

    names = list(inspect.signature(command).parameters)
    assert names == ["first", "red", "blue", "last", "ctx"]  # the order --help lists them in
    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["--blue", "5", "--first", "b"])
    assert result.exit_code == 0, result.output
    assert seen[:3] == ["b", Colours(red=1, blue=5), "z"]
    assert isinstance(seen[3], Environment)


def test_an_option_declared_twice_is_refused() -> None:
    def command(*, one: Colours, two: Colours) -> None:
        pass

    with pytest.raises(AssertionError, match=r"options declared twice: \['blue', 'red'\]"):
        with_options(command)


def test_transcribe_says_jobs_as_the_server_runs_them() -> None:
    assert [f.name for f in fields(ManyJobs)] == [f.name for f in fields(ManyInputs)]
    assert ManyJobs.__annotations__["jobs"] != ManyInputs.__annotations__["jobs"]


def test_the_job_flags_are_the_job_body_options_by_name() -> None:
    assert {f.name for f in fields(JobFlags)} == {f.name for f in fields(JobOptions)}
    from gladia_cli.cli.choices import PreRecordedModel, SubtitleFormat, SummaryType

    options = job_options(
        JobFlags(
            model=PreRecordedModel("solaria-3"),
            subtitles=[SubtitleFormat("srt")],
            summarize=SummaryType("concise"),
            ner=True,
        )
    )
    assert options.model == "solaria-3" and type(options.model) is str
    assert options.subtitles == ["srt"] and type(options.subtitles[0]) is str
    assert type(options.summarize) is str and options.ner is True
