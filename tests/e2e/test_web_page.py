"""The caption page in a real browser (Debian's headless Chromium) against a real
`gladia replay --web` or `gladia file --local --web` run on loopback.

One replay serves three pages with different URL parameters; each is dumped by its own
`chromium --dump-dom` once the CLI has ended (the overlay one also as a screenshot, the
README's). Then one Chromium, driven over the DevTools protocol, watches what happens while
a session runs: a partial replaced in place by its final, and the page outliving the CLI.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.background import Background
from tests.browser import Browser, DomDump, Node, parse_dom, png_pixels
from tests.caption_session import (
    INJECTED,
    LAST_OF_MEETING,
    meeting,
    transcript,
    write_recording,
)
from tests.e2e.conftest import Run
from tests.support import tone_bursts

pytestmark = pytest.mark.slow

MARKUP_LABEL = "<b>Ann</b>"  # a label that is markup too
CYAN, PINK = "rgb(77, 208, 225)", "rgb(240, 98, 146)"  # the page's colours of channels 0, 1
PAGES = {
    # The README's picture: the defaults, on a dark background instead of transparency,
    # without the status line.
    "overlay": "?bg=1e1e1e&status=0",
    "styled": "?size=28&lines=10&align=left&font=serif&color=ffff00&stroke=0"
    "&bg=000000&opacity=0.5&status=0",
    "translated": "?partials=0&labels=0&translation=only&lang=fr&fade=1",
}
SCREEN = (1280, 360)


@dataclass
class Dumped:
    pages: dict[str, Node]
    screenshot: Path
    run: Run


@pytest.fixture(scope="module")
def dumped(tmp_path_factory: pytest.TempPathFactory) -> Dumped:
    directory = tmp_path_factory.mktemp("caption-pages")
    recording = write_recording(
        directory / "meeting.jsonl", meeting(), labels=["Ann", "Bob"], hold=3600
    )
    screenshot = directory / "captions.png"
    cli = Background("replay", str(recording), "--web", "-f", "jsonl")
    dumps: dict[str, DomDump] = {}
    try:
        url = cli.page_url()
        cli.wait_stdout(LAST_OF_MEETING)  # played up to the hold: the page will get it all
        for name, query in PAGES.items():
            shot = screenshot if name == "overlay" else None
            dumps[name] = DomDump(url + query, directory / name, screenshot=shot, size=SCREEN)
        cli.wait_viewers(len(PAGES))
    except BaseException:
        for dump in dumps.values():
            dump.kill()
        raise
    finally:
        cli.interrupt()  # the end of the session: the pages then dump what they show
    try:
        run = cli.finish()
    except BaseException:
        for dump in dumps.values():
            dump.kill()  # a CLI that did not end leaves no browser behind either
        raise
    pages = {name: parse_dom(dump.result()) for name, dump in dumps.items()}
    return Dumped(pages, screenshot, run)


def _captions(page: Node) -> list[Node]:
    return page.by_id("captions").find_all(cls="caption")


def _text(caption: Node) -> str:
    (text,) = caption.find_all(cls="text")
    return text.text


def _labels(caption: Node) -> list[Node]:
    return caption.find_all(cls="label")


def _translations(caption: Node) -> list[tuple[str, str]]:
    return [(line.attrs.get("lang", ""), line.text) for line in caption.find_all(cls="translation")]


def test_the_replay_served_every_message_and_ended_at_ctrl_c(dumped: Dumped) -> None:
    assert dumped.run.code == 130, dumped.run.stderr
    assert len(dumped.run.stdout.splitlines()) == len(meeting())
    # Every page connected; one may connect again in the moment between the session's end
    # (a page then waits for the next session and reconnects) and the CLI's exit.
    assert dumped.run.stderr.count("caption page: a viewer connected") >= len(PAGES)


def test_finals_with_their_labels_and_translations_the_partial_dimmed_newest_last(
    dumped: Dumped,
) -> None:
    page = dumped.pages["overlay"]
    captions = _captions(page)
    # The last 3 lines (the default), in the order they were spoken: Bob's first line,
    # the oldest of 4, has scrolled off.
    assert [c.attrs["data-id"] for c in captions] == ["00_1", "00_2", "01_2"]
    assert [_text(c) for c in captions] == [
        "Good morning, everyone.",
        "Let's start with the budget.",
        "I think we",
    ]
    assert ["partial" in c.classes for c in captions] == [False, False, True]
    # A name and a colour per channel.
    assert [[label.text for label in _labels(c)] for c in captions] == [["Ann"], ["Ann"], ["Bob"]]
    assert [_labels(c)[0].style()["color"] for c in captions] == [CYAN, CYAN, PINK]
    # A translation line under each translated caption.
    assert [_translations(c) for c in captions] == [
        [("fr", "Bonjour à tous.")],
        [("fr", "Commençons par le budget.")],
        [],
    ]
    # The defaults: 40 px, centred, outlined.
    style = page.by_id("captions").style()
    assert style["font-size"] == "40px" and style["text-align"] == "center"
    assert style["-webkit-text-stroke"].startswith("4px")
    assert page.find_all("body")[0].style()["background-color"] == "rgb(30, 30, 30)"
    assert "faded" not in page.by_id("captions").classes  # no fade asked for
    # The session is over: the page waits for the next (status=0: without saying so).
    assert page.find_all("html")[0].attrs["data-state"] == "waiting"
    assert "hidden" in page.by_id("status").attrs


def test_server_text_is_shown_as_text_never_as_markup(dumped: Dumped) -> None:
    page = dumped.pages["styled"]
    captions = _captions(page)
    assert [c.attrs["data-id"] for c in captions] == ["01_1", "00_1", "00_2", "01_2"]
    bob = captions[0]
    assert _text(bob) == f"Look: {INJECTED} done."
    assert _translations(bob) == [("fr", f"Regardez : {INJECTED} fini.")]
    # Not one element came from server text, and no script of theirs ran.
    tags = {e.tag for e in page.by_id("captions").elements()}
    assert tags == {"div", "span"}
    assert [t.text for t in page.find_all("title")] == ["gladia captions"]
    assert len(page.find_all("script")) == 1


def test_url_parameters_style_the_page(dumped: Dumped) -> None:
    page = dumped.pages["styled"]
    style = page.by_id("captions").style()
    assert style["font-size"] == "28px"
    assert style["text-align"] == "left"
    assert style["font-family"] == "serif"
    assert style["color"] == "rgb(255, 255, 0)"
    assert "-webkit-text-stroke" not in style  # stroke=0
    assert page.find_all("body")[0].style()["background-color"] == "rgba(0, 0, 0, 0.5)"
    assert "hidden" in page.by_id("status").attrs  # status=0
    assert len(_captions(page)) == 4  # lines=10: all of them


def test_translation_only_without_partials_or_labels_fades_after_silence(dumped: Dumped) -> None:
    page = dumped.pages["translated"]
    captions = _captions(page)
    assert [c.attrs["data-id"] for c in captions] == ["01_1", "00_1", "00_2"]
    assert [_text(c) for c in captions] == [
        f"Regardez : {INJECTED} fini.",
        "Bonjour à tous.",
        "Commençons par le budget.",
    ]
    assert all(c.attrs.get("data-lang") == "fr" for c in captions)
    assert not any(_labels(c) or _translations(c) or "partial" in c.classes for c in captions)
    # fade=1: a second without speech (the page's clock ran on after the session) hides them.
    assert "faded" in page.by_id("captions").classes
    # The CLI has gone: the page says it waits for the next session.
    status = page.by_id("status")
    assert status.text == "waiting for a session" and "hidden" not in status.attrs


def test_a_screenshot_of_the_overlay(dumped: Dumped) -> None:
    pixels = png_pixels(dumped.screenshot)
    assert (len(pixels[0]), len(pixels)) == SCREEN
    assert pixels[2][2][:3] == (30, 30, 30)  # bg=1e1e1e
    bottom = [p[:3] for row in pixels[SCREEN[1] // 2 :] for p in row]
    assert any(p == (255, 255, 255) for p in bottom)  # caption text
    assert any(abs(p[0] - 77) < 8 and abs(p[1] - 208) < 8 and abs(p[2] - 225) < 8 for p in bottom)


# --- while the session runs -------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    chromium = Browser(tmp_path_factory.mktemp("chromium"), size=SCREEN)
    try:
        yield chromium
    finally:
        chromium.close()


def _wav_header(channels: int, rate: int = 16000) -> bytes:
    unknown = 0xFFFFFFFF  # a header written before the length is known (a pipe)
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return (
        b"RIFF" + struct.pack("<I", unknown) + b"WAVE"
        + b"fmt " + struct.pack("<I", len(fmt)) + fmt
        + b"data" + struct.pack("<I", unknown)
    )  # fmt: skip


def test_a_partial_is_shown_dimmed_then_replaced_in_place_by_its_final(
    browser: Browser, tmp_path: Path
) -> None:
    cli = Background(
        "file", "-", "--local", "--local-engine", "scripted", "--pace", "max",
        "--format", "jsonl", "--label", MARKUP_LABEL, "--web", stdin=True,
    )  # fmt: skip
    try:
        cli.stdin.write(_wav_header(1))
        cli.stdin.flush()
        page = browser.open(cli.page_url())
        page.wait_for("document.documentElement.dataset.state === 'live'")
        # Ann speaks, and has not finished: a partial, dimmed.
        speech: np.ndarray = tone_bursts([(0.1, 1.9, 0)], total=2.0)
        cli.stdin.write(speech.tobytes())
        cli.stdin.flush()
        shown = page.wait_for(
            "(window.held = document.querySelector('.caption.partial')) && "
            "window.held.querySelector('.text').textContent"
        )
        assert shown
        opacity = page.evaluate("getComputedStyle(window.held.querySelector('.text')).opacity")
        assert float(opacity) < 1
        page.screenshot(tmp_path / "partial.png")
        # She stops: the final takes the partial's place, in the same element.
        cli.stdin.write(np.zeros(16000, dtype=np.int16).tobytes())
        cli.stdin.flush()
        final = page.wait_for(
            "window.held.isConnected && !window.held.classList.contains('partial') && "
            "window.held.querySelector('.text').textContent"
        )
        assert page.evaluate("document.querySelectorAll('.caption').length") == 1
        # The label, markup itself, is text too.
        assert page.evaluate("window.held.querySelector('.label').textContent") == MARKUP_LABEL
        assert page.evaluate("document.querySelectorAll('#captions b').length") == 0
        cli.stdin.close()
        page.wait_for("document.documentElement.dataset.state === 'waiting'")  # CLI gone
    finally:
        if not cli.stdin.closed:
            cli.stdin.close()
        run = cli.finish()
    assert run.code == 0, run.stderr
    finals = [u["text"].strip() for u in run.finals()]
    assert finals == [final]
    partials = [
        m["data"]["utterance"]["text"].strip()
        for m in map(json.loads, run.stdout.splitlines())
        if m["type"] == "transcript" and not m["data"]["is_final"]
    ]
    assert shown in partials and final.startswith(shown)  # its words so far


def test_the_page_outlives_the_cli_and_takes_the_next_session(
    browser: Browser, tmp_path: Path
) -> None:
    first = write_recording(tmp_path / "first.jsonl", meeting(), labels=["Ann", "Bob"], hold=3600)
    later = [transcript("00_1", " A new session begins.", final=True, start=0.5)]
    second = write_recording(
        tmp_path / "second.jsonl", later, labels=["Cleo"], session_id="next-5e55", hold=3600
    )
    cli = Background("replay", str(first), "--web", "-f", "jsonl")
    url = cli.page_url()
    port = url.rsplit(":", 1)[1].strip("/")
    try:
        page = browser.open(url + "?lines=10")
        page.wait_for("document.querySelectorAll('.caption').length === 4")
    finally:
        cli.interrupt()
    assert cli.finish().code == 130
    # The CLI is gone: the page says so and keeps what it showed.
    page.wait_for(
        "document.documentElement.dataset.state === 'waiting' && "
        "document.getElementById('status').textContent === 'waiting for a session' && "
        "!document.getElementById('status').hidden"
    )
    assert page.evaluate("document.querySelectorAll('.caption').length") == 4
    # The CLI comes back on the same port with another session: the page reconnects by
    # itself (the browser retries every 2 s) and shows that session, not the old one.
    again = Background("replay", str(second), "--web-port", port, "-f", "jsonl")
    try:
        assert again.page_url() == url
        texts = page.wait_for(
            "document.documentElement.dataset.state === 'live' && "
            "[...document.querySelectorAll('.caption .text')].map(e => e.textContent)",
            timeout=60,
        )
        assert texts == ["A new session begins."]
        assert page.evaluate("document.querySelector('.caption .label').textContent") == "Cleo"
        assert page.evaluate("document.getElementById('status').hidden") is True
    finally:
        again.interrupt()
    again.finish()
