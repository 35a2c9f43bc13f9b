"""The help groups options are listed under, in the order help shows them.

A module of its own, importing nothing: `gladia --help` lays out its options by these
names (cli/fast_help.py) without importing the options of every command (cli/options.py).
"""

from __future__ import annotations

AUDIO = "Audio input"
MANY = "Many inputs"
SESSION = "Session options"
ADDONS = "Add-ons"
OUTPUT = "Output"
CONNECTION = "Connection"
PANELS = (AUDIO, MANY, SESSION, ADDONS, OUTPUT, CONNECTION)
