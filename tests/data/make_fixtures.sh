#!/usr/bin/env bash
# Regenerates the speech fixtures (16 kHz, 16-bit PCM WAV) with espeak-ng and sox.
# Deterministic: same espeak-ng/sox versions, same bytes (sox runs repeatable, no dither).
# See README.md for the voice choice; fixtures.json lists the texts and the words the sphinx
# engine recognises, so update it if you change a sentence or a voice.
set -euo pipefail

out_dir="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# espeak-ng talks to PulseAudio and leaves cookies in $HOME otherwise.
export HOME="$work" XDG_RUNTIME_DIR="$work"

RATE=16000
SPEED=140  # words per minute

# say VOICE PITCH PEAK_DB TEXT OUT: the sentence without espeak's own leading/trailing
# silence, resampled to 16 kHz mono and normalised to a peak of PEAK_DB dBFS.
say() {
    local voice="$1" pitch="$2" peak_db="$3" text="$4" out="$5"
    espeak-ng -v "$voice" -s "$SPEED" -p "$pitch" -w "$work/raw.wav" "$text"
    sox -R -D "$work/raw.wav" -r "$RATE" -b 16 -c 1 "$out" \
        silence 1 0.01 0.1% reverse silence 1 0.01 0.1% reverse gain -n "$peak_db"
}

samples() { soxi -s "$1"; }

# Short mono sentences, 0.3 s of silence either side.
mono() {
    local name="$1" text="$2"
    say en-us+klatt 50 -3 "$text" "$work/$name.wav"
    sox -R -D "$work/$name.wav" "$out_dir/$name.wav" pad 0.3 0.3
}
mono book_table "i would like to book a table for two people at seven o'clock tonight"
mono kitchen_lights "open the door and turn on the lights in the kitchen"
mono market "she bought three apples and a loaf of bread at the market"
mono budget "let us talk about the budget for next year"

# meeting_3ch.wav: one speaker per channel, taking turns (channel 0 first), each channel
# silent while the others speak; 0.3 s lead-in and tail, 0.25 s between turns.
say en-us+klatt 25 -3 "we should finish before friday" "$work/ch0.wav"
say en-us+f5 50 -6 "i agree with that plan" "$work/ch1.wav"
say en-us+klatt2 70 -4 "see you next week" "$work/ch2.wav"
edge=$((RATE * 3 / 10))
gap=$((RATE / 4))
total=$((edge * 2 + gap * 2))
for ch in 0 1 2; do total=$((total + $(samples "$work/ch$ch.wav"))); done
offset=$edge
for ch in 0 1 2; do
    length=$(samples "$work/ch$ch.wav")
    sox -R -D "$work/ch$ch.wav" "$work/track$ch.wav" \
        pad "${offset}s" "$((total - offset - length))s"
    offset=$((offset + length + gap))
done
sox -R -D -M "$work/track0.wav" "$work/track1.wav" "$work/track2.wav" \
    "$out_dir/meeting_3ch.wav"

ls -l "$out_dir"/*.wav
