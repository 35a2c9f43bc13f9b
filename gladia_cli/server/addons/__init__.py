"""The local server's audio-intelligence add-ons, computed offline by real models.

- `ner`: named entities with spaCy's English pipeline (en_core_web_sm, from a PyPI wheel),
  mapped onto Gladia's entity types, plus patterns for what a statistical model does not
  tag (e-mail and web addresses, phone numbers, ages).
- `sentiment`: VADER per sentence (sentences split by the same pipeline), with an emotion
  from Gladia's list.
- `summary`: extractive summaries (TextRank, from sumy) in Gladia's three types, and
  chapters (pauses and topic shifts, headlines from noun phrases).
- `translation`: into English only, by Whisper's translate task on the utterance's audio
  (the whisper engine's model, decoded behind every transcript).
- `runner`: where they run — worker threads apart from recognition, bounded, so that a
  slow add-on never delays a transcript or an acknowledgment.

Every model is imported and loaded once per process, when a session first asks for an
add-on (its init body; on the add-on thread, before its audio flows): `gladia --help` and a
server that is never asked for an add-on pay nothing. Which models were chosen, and why,
is measured by benchmarks/addons.py (README, "The local server").
"""
