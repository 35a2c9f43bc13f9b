"""The local Gladia-compatible server: product code and the fixture every test talks to."""
