"""`--raw`: the options that describe headerless interleaved PCM, checked together."""

from __future__ import annotations

from dataclasses import dataclass

from gladia_cli.audio.source import check_channels, check_input_rate
from gladia_cli.audio.wav_stream import ALAW, IEEE_FLOAT, PCM, ULAW, WavFormat
from gladia_cli.errors import UsageError

RAW_SAMPLE_FORMATS: dict[str, tuple[int, int]] = {  # name → (WAV format tag, bytes/sample)
    "s16le": (PCM, 2),
    "s24le": (PCM, 3),
    "s32le": (PCM, 4),
    "f32le": (IEEE_FLOAT, 4),
    "u8": (PCM, 1),
    "ulaw": (ULAW, 1),
    "alaw": (ALAW, 1),
}


@dataclass(frozen=True)
class RawFormat:
    """Headerless interleaved PCM (`--raw`): nothing in the bytes says what they hold."""

    sample_rate: int
    channels: int
    sample_format: str  # a key of RAW_SAMPLE_FORMATS

    @property
    def wav_format(self) -> WavFormat:
        """The same samples described as a WAV `fmt ` chunk, so one decoder serves both."""
        tag, width = RAW_SAMPLE_FORMATS[self.sample_format]
        return WavFormat(tag, self.channels, self.sample_rate, width * 8, width * self.channels)


def parse_raw_format(rate: int | None, channels: int | None, sample_format: str) -> RawFormat:
    """Validate the options describing headerless input (UsageError on a bad combination)."""
    name = sample_format.strip().lower()
    if name not in RAW_SAMPLE_FORMATS:
        raise UsageError(
            f"unknown raw sample format {sample_format!r}",
            hint="use one of " + ", ".join(RAW_SAMPLE_FORMATS),
        )
    missing = [
        option
        for option, value in (("--raw-rate", rate), ("--raw-channels", channels))
        if value is None
    ]
    if missing:
        raise UsageError(
            f"--raw needs {' and '.join(missing)}: headerless audio does not say its format",
            hint=f"for example: --raw {name} --raw-rate 16000 --raw-channels 1",
        )
    assert rate is not None and channels is not None
    check_input_rate("--raw-rate", rate, hint="give the input's rate in Hz")
    check_channels("--raw-channels", channels)
    return RawFormat(rate, channels, name)
