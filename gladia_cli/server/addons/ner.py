"""Named entities of an utterance, in Gladia's entity types (protocol.md §3.5.7).

spaCy's English pipeline tags OntoNotes labels; they are mapped onto the types Gladia's NER
page lists (those of Private AI's taxonomy, the most specific one shown):

| spaCy | Gladia |
| --- | --- |
| PERSON | NAME_GIVEN for a single name or the first of several, NAME_FAMILY for the rest |
| GPE | LOCATION_COUNTRY, LOCATION_STATE (a US state) or LOCATION_CITY (any other place) |
| LOC, FAC | LOCATION |
| ORG | ORGANIZATION |
| NORP | ORIGIN |
| EVENT, LANGUAGE | EVENT, LANGUAGE |
| DATE, TIME | DATE (AGE for "27 years old"), TIME |
| MONEY | MONEY |
| CARDINAL of 4 digits or more | NUMERICAL_PII |

Other labels (ordinals, quantities, percentages, titles of works…) are not entities in
Gladia's list and are left out. Patterns add EMAIL_ADDRESS, URL and PHONE_NUMBER, which the
model does not tag; where a pattern and the model overlap, the pattern wins. The model is
English: an utterance in another language gets the patterns alone.

Each result has Gladia's `entity_type`, `text`, `start`, `end` (seconds on the session
timeline, from the words' times) and, beyond Gladia's shape, `start_char` / `end_char`:
where the entity is in the utterance's text (`text[start_char:end_char] == result text`).
"""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import TYPE_CHECKING, Any

from gladia_cli.server.addons.timing import TextTimes

if TYPE_CHECKING:
    from spacy.tokens import Doc, Span

_PATTERNS = (
    ("EMAIL_ADDRESS", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("URL", re.compile(r"\bhttps?://[^\s,]+|\bwww\.[^\s,]+[\w/]")),
    ("PHONE_NUMBER", re.compile(r"(?<![\w+])\+?\d[\d .()-]{6,}\d(?!\w)")),
)
_AGE = re.compile(r"\b\d+\s+(?:years?|months?|weeks?)\s+old\b", re.IGNORECASE)
_TITLES = frozenset("mr mrs ms miss dr doctor prof professor sir madam".split())
_SIMPLE = {
    "ORG": "ORGANIZATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "NORP": "ORIGIN",
    "EVENT": "EVENT",
    "LANGUAGE": "LANGUAGE",
    "TIME": "TIME",
    "MONEY": "MONEY",
}

_places_lock = threading.Lock()


@cache
def _places() -> tuple[frozenset[str], frozenset[str]]:
    """Country names and US state names, lower case (pycountry's ISO lists, offline)."""
    import pycountry

    countries: set[str] = set()
    for country in pycountry.countries:
        for attribute in ("name", "common_name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                countries.add(name.lower())
    countries |= {"america", "usa", "us", "uk", "britain", "great britain", "england"}
    states = {s.name.lower() for s in pycountry.subdivisions if s.country_code == "US"}
    return frozenset(countries), frozenset(states)


def _place(text: str) -> str:
    with _places_lock:
        countries, states = _places()
    name = text.lower().removeprefix("the ").strip()
    if name in countries:
        return "LOCATION_COUNTRY"
    if name in states:
        return "LOCATION_STATE"
    return "LOCATION_CITY"


def _spans(span: Span) -> list[tuple[str, int, int]]:
    """(type, first char, last char) for one spaCy entity; names split in two."""
    label = span.label_
    first, last = span.start_char, span.end_char
    text = span.text
    if label == "PERSON":
        tokens = [t for t in span if not t.is_punct and t.text.lower() != "'s"]
        while tokens and tokens[0].text.lower().rstrip(".") in _TITLES:
            tokens = tokens[1:]
        if not tokens:
            return []
        given = tokens[0]
        out = [("NAME_GIVEN", given.idx, given.idx + len(given.text))]
        if len(tokens) > 1:
            out.append(("NAME_FAMILY", tokens[1].idx, tokens[-1].idx + len(tokens[-1].text)))
        return out
    if label == "GPE":
        return [(_place(text), first, last)]
    if label == "DATE":
        age = _AGE.search(text)
        if age:
            return [("AGE", first + age.start(), first + age.end())]
        return [("DATE", first, last)]
    if label == "CARDINAL":
        return [("NUMERICAL_PII", first, last)] if sum(c.isdigit() for c in text) >= 4 else []
    kind = _SIMPLE.get(label)
    return [(kind, first, last)] if kind else []


def entities_of(doc: Doc | None, utterance: dict[str, Any]) -> list[dict[str, Any]]:
    """The entities of `utterance`, whose text `doc` is (parsed by the English pipeline;
    None: the patterns alone)."""
    text: str = utterance["text"]
    found: list[tuple[str, int, int]] = []
    for kind, pattern in _PATTERNS:
        found += [(kind, m.start(), m.end()) for m in pattern.finditer(text)]
    for span in doc.ents if doc is not None else ():
        for kind, first, last in _spans(span):
            if not any(first < b and last > a for _, a, b in found):
                found.append((kind, first, last))
    times = TextTimes(utterance)
    results = []
    for kind, first, last in sorted(found, key=lambda item: item[1]):
        start, end = times.span(first, last)
        results.append(
            {
                "entity_type": kind,
                "text": text[first:last],
                "start": start,
                "end": end,
                "start_char": first,
                "end_char": last,
            }
        )
    return results


def named_entities(utterance: dict[str, Any]) -> list[dict[str, Any]]:
    """Entities of an utterance; the model only reads English (another language gets the
    patterns alone: an English model tags French words as names)."""
    if not is_english(utterance):
        return entities_of(None, utterance)
    from gladia_cli.server.addons.english import parse

    return entities_of(parse(utterance["text"]), utterance)


def is_english(utterance: dict[str, Any]) -> bool:
    return str(utterance.get("language") or "en").split("-")[0] == "en"
