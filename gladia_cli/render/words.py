"""`--format words`: one word per line, tab-separated, written at the end in time order.

The first line is a header naming the columns: `start end confidence channel label word`
(times in seconds with 3 decimals, confidence with 3); `tail -n +2` drops it. Words come
from the utterances' word timings; an utterance without them gets its words from its
text, timed in proportion to their length, with the utterance's confidence.
"""

from __future__ import annotations

from gladia_cli.protocol.messages import ServerMessage, Utterance
from gladia_cli.render.base import Labels, OutputRenderer, SessionOutcome, TranscriptBook
from gladia_cli.render.captions import timed_words
from gladia_cli.render.output import Output

HEADER = "start\tend\tconfidence\tchannel\tlabel\tword"


def _cell(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def word_lines(utterances: list[Utterance], labels: Labels) -> list[str]:
    """The TSV lines (header first) of every word of `utterances`, in time order."""
    rows = sorted(
        ((w, u.channel) for u in utterances for w in timed_words(u)),
        key=lambda row: (row[0].start, row[1]),
    )
    return [HEADER] + [
        f"{w.start:.3f}\t{w.end:.3f}\t{w.confidence:.3f}\t{channel}\t"
        f"{_cell(labels(channel))}\t{_cell(w.word)}"
        for w, channel in rows
    ]


class WordsRenderer(OutputRenderer):
    def __init__(self, output: Output, labels: Labels) -> None:
        super().__init__(output)
        self._book = TranscriptBook()
        self._labels = labels

    def message(self, message: ServerMessage) -> None:
        self._book.apply(message)

    def finish(self, outcome: SessionOutcome) -> None:
        self._output.write(
            "".join(f"{line}\n" for line in word_lines(self._book.finals(), self._labels))
        )
