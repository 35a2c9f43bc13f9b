"""Where utterances start, end, are cut, and get partials: rules over VAD frames, no I/O.

Input: one (speech probability, energy) pair per 512-sample VAD frame, frames counted from
the start of the stream. Output: actions in frame indices. Every decision is a function of
the frames seen so far, so it depends only on the samples (never on the wall clock nor on
how the stream was cut into calls):

- Speech starts at the first frame with p ≥ `start_threshold`, or at the earliest weak
  frame (p ≥ `end_threshold`) up to `reach_frames` before it (a soft first word); the
  utterance begins `preroll_frames` earlier (Whisper needs the onset), but never before
  the previous end.
- Inside an utterance a frame with p ≥ `end_threshold` (lower: hysteresis) is voiced. The
  utterance ends after `silence_frames` unvoiced frames in a row; it ends where the last
  voiced frame ends, and its audio runs `tail_frames` into the silence (Whisper hears
  the last phoneme fade out; 0: through the whole silence).
- Once an open utterance has been unvoiced for `tail_frames`, `likely_end()` says how it
  ends if the silence goes on: its final can be decoded while the silence is still being
  confirmed, on exactly the audio it will have (a voiced frame makes it void).
- An utterance reaching `max_frames` is cut at the quietest frame of its last
  `cut_window_frames` (lowest energy, smoothed by the caller; then lowest p; then the
  latest): between words, not mid-word. What follows the cut starts the next utterance
  at once if it holds a voiced frame (at most `preroll_frames` before it); otherwise the
  speech is over.
- A pause heard inside that window cuts sooner, when the voice comes back after it: at
  least `pause_cut_frames` unvoiced frames (a pause between words; cut at its quietest
  boundary). Its final is then decoded while the speaker goes on, instead of when the
  window ends (up to its length later). An unvoiced stretch that lasts is an end, which
  the silence decides as before.
- While an utterance is open, a partial is due when its length crosses
  `first_partial_samples`, then each `partial_every_samples` after that, on a voiced
  frame (0: no partials).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from gladia_cli.server.recognition.engines.silero_vad import FRAME_SAMPLES


@dataclass(frozen=True)
class SegmenterSettings:
    start_threshold: float
    end_threshold: float
    silence_frames: int
    preroll_frames: int
    max_frames: int
    cut_window_frames: int
    partial_every_samples: int
    first_partial_samples: int = 0  # the first partial comes this early (0: after `every`)
    tail_frames: int = 0  # an utterance's audio after its speech (0: the whole silence)
    # Weak speech (p ≥ end_threshold) this far before the onset starts the utterance
    # earlier: its pre-roll before that (0: the onset's pre-roll only).
    reach_frames: int = 0
    # A pause between words of at least this many unvoiced frames, once the utterance is
    # in its cut window, cuts it there when the voice comes back (0: cuts at the limit).
    pause_cut_frames: int = 0

    @property
    def tail(self) -> int:
        return min(self.tail_frames or self.silence_frames, self.silence_frames)


@dataclass(frozen=True)
class UtteranceStart:
    frame: int  # first frame of the utterance (pre-roll included)


@dataclass(frozen=True)
class PartialDue:
    start: int  # first frame of the utterance
    end: int  # frames [start, end) are heard so far


@dataclass(frozen=True)
class UtteranceEnd:
    start: int
    end: int  # exclusive: the utterance is frames [start, end)
    audio_end: int  # exclusive: the audio to transcribe, trailing silence included
    cut: bool  # forced by the maximum duration


Action = UtteranceStart | PartialDue | UtteranceEnd


class UtteranceSegmenter:
    def __init__(self, settings: SegmenterSettings) -> None:
        self._s = settings
        self._frame = 0  # index of the next frame
        self._start: int | None = None  # first frame of the open utterance
        self._last_voiced = 0
        self._previous_end = 0
        # (probability, energy) of the latest frames, for cuts and restarts after them.
        self._recent: deque[tuple[float, float]] = deque(
            maxlen=max(settings.cut_window_frames, settings.preroll_frames, settings.reach_frames)
            + 1
        )

    @property
    def open_start(self) -> int | None:
        return self._start

    @property
    def frames(self) -> int:
        return self._frame

    def push(self, probability: float, energy: float) -> list[Action]:
        index = self._frame
        self._frame += 1
        self._recent.append((probability, energy))
        s = self._s
        if self._start is None:
            if probability < s.start_threshold:
                return []
            self._start = max(self._previous_end, self._onset(index) - s.preroll_frames)
            self._last_voiced = index
            return [UtteranceStart(self._start)]
        heard = index + 1
        if probability >= s.end_threshold:
            gap = index - self._last_voiced - 1  # the unvoiced frames just before this one
            self._last_voiced = index
            if self._pause_cut_due(index, gap):
                return self._cut(heard, first=index - gap)
        if heard - 1 - self._last_voiced >= s.silence_frames:
            end = self._last_voiced + 1
            return [self._close(end, audio_end=end + s.tail, cut=False)]
        if heard - self._start >= s.max_frames:
            return self._cut(heard)
        if probability >= s.end_threshold and self._partial_due(heard - self._start):
            return [PartialDue(self._start, heard)]  # (a pause has nothing new to hear)
        return []

    def _pause_cut_due(self, index: int, gap: int) -> bool:
        """Whether the voice coming back at `index` after `gap` unvoiced frames ends a
        pause to cut the open utterance at: one long enough (`pause_cut_frames`), heard
        once the utterance is within its cut window of the limit."""
        s = self._s
        assert self._start is not None
        in_window = index - self._start >= s.max_frames - s.cut_window_frames
        return bool(s.pause_cut_frames) and gap >= s.pause_cut_frames and in_window

    def _onset(self, index: int) -> int:
        """Where the speech that crossed the start threshold at `index` began: the earliest
        weak-speech frame within `reach_frames` before it (a soft first word: "Which" at
        p 0.55 before "folder" at 0.70), else `index`."""
        s = self._s
        recent = list(self._recent)[:-1]  # the frames before `index`, latest last
        reach = min(s.reach_frames, len(recent))
        for back in range(reach, 0, -1):
            if recent[-back][0] >= s.end_threshold:
                return index - back
        return index

    def _partial_due(self, frames: int) -> bool:
        """Whether an utterance `frames` long just crossed a partial point: the first at
        `first_partial_samples`, then every `partial_every_samples` after it."""
        every, first = self._s.partial_every_samples, self._s.first_partial_samples or 0
        if not every:
            return False
        now, before = frames * FRAME_SAMPLES, (frames - 1) * FRAME_SAMPLES
        first = first or every
        if before < first <= now:
            return True
        return now > first and (now - first) // every > max(0, before - first) // every

    def likely_end(self) -> UtteranceEnd | None:
        """The end of the open utterance if the silence it is in goes on: once it has been
        unvoiced for the tail, the audio its final will decode is all heard."""
        if self._start is None or self._frame - 1 - self._last_voiced < self._s.tail:
            return None
        end = self._last_voiced + 1
        return UtteranceEnd(self._start, end, end + self._s.tail, cut=False)

    def finish(self) -> list[Action]:
        """End of stream: close the open utterance where its speech ended."""
        if self._start is None:
            return []
        return [self._close(self._last_voiced + 1, audio_end=self._frame, cut=False)]

    def _close(self, end: int, *, audio_end: int, cut: bool) -> UtteranceEnd:
        assert self._start is not None
        action = UtteranceEnd(self._start, end, audio_end, cut)
        self._start = None
        self._previous_end = end
        return action

    def _cut(self, heard: int, *, first: int | None = None) -> list[Action]:
        """Cut the open utterance at the quietest frame boundary from `first` (default:
        the cut window before `heard`) to `heard`."""
        assert self._start is not None
        recent = list(self._recent)
        window = min(len(recent), self._s.cut_window_frames, heard - self._start - 1)
        # The cut keeps at least one frame before it.
        first = heard - window if first is None else max(first, heard - window)
        candidates = [(recent[i - (heard - len(recent))], i) for i in range(first, heard)]
        (_, cut) = min(candidates, key=lambda c: (c[0][1], c[0][0], -c[1]))
        actions: list[Action] = [self._close(cut, audio_end=cut, cut=True)]
        voiced = [
            i
            for i in range(cut, heard)
            if recent[i - (heard - len(recent))][0] >= self._s.end_threshold
        ]
        if voiced:
            self._start = max(cut, voiced[0] - self._s.preroll_frames)
            self._last_voiced = voiced[-1]
            actions.append(UtteranceStart(self._start))
        return actions
