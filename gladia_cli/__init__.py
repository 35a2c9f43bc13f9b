"""gladia: live speech-to-text from the terminal, with Gladia's real-time API."""

__version__ = "0.1.0"
