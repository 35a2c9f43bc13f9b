"""The raw audio formats the live API accepts, and the arithmetic on them."""

from __future__ import annotations

from dataclasses import dataclass

ENCODINGS = ("wav/pcm", "wav/alaw", "wav/ulaw")
BIT_DEPTHS = (8, 16, 24, 32)
SAMPLE_RATES = (8000, 16000, 32000, 44100, 48000)
MAX_CHANNELS = 8
# The rates an input (a device, headerless audio) may run at before it is resampled to one
# of SAMPLE_RATES: a bound on what is plausible, not what the API takes.
MIN_INPUT_RATE = 1000
MAX_INPUT_RATE = 768_000


@dataclass(frozen=True)
class AudioFormat:
    """What one session's byte stream holds: interleaved frames of `channels` samples."""

    encoding: str = "wav/pcm"
    bit_depth: int = 16
    sample_rate: int = 16000
    channels: int = 1

    @property
    def sample_bytes(self) -> int:
        # A-law and μ-law are 8-bit whatever bit_depth says.
        return 1 if self.encoding != "wav/pcm" else self.bit_depth // 8

    @property
    def frame_bytes(self) -> int:
        return self.sample_bytes * self.channels

    @property
    def bytes_per_second(self) -> int:
        return self.frame_bytes * self.sample_rate

    def seconds(self, n_bytes: int) -> float:
        return n_bytes / self.bytes_per_second

    @classmethod
    def from_config(cls, config: dict[str, object]) -> AudioFormat:
        """The format an init body (with defaults applied or not) describes."""
        return cls(
            encoding=str(config.get("encoding", "wav/pcm")),
            bit_depth=int(config.get("bit_depth", 16)),  # type: ignore[call-overload]
            sample_rate=int(config.get("sample_rate", 16000)),  # type: ignore[call-overload]
            channels=int(config.get("channels", 1)),  # type: ignore[call-overload]
        )
