#!/usr/bin/env bash
# Rebuilds the real-speech fixtures of this directory from packages (see README.md):
# LibriVox readings and two short English clips from the pocketsphinx 5.1.1 sdist (PyPI),
# and French prompts from Debian's asterisk-core-sounds-fr-wav. Needs pip, apt-get (for
# `apt-get download`, no install) and sox. Deterministic: a second run gives the same bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pip=${PIP:-$here/../../../.venv/bin/pip}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$pip" download --quiet --no-binary :all: --no-deps pocketsphinx==5.1.1 -d "$work"
tar -xzf "$work/pocketsphinx-5.1.1.tar.gz" -C "$work" pocketsphinx-5.1.1/test/data
ps="$work/pocketsphinx-5.1.1/test/data"
(cd "$work" && apt-get download -qq asterisk-core-sounds-fr-wav=1.6.1-1 2>/dev/null)
dpkg-deb -x "$work"/asterisk-core-sounds-fr-wav_*.deb "$work/ast"
fr="$work/ast/usr/share/asterisk/sounds/fr_CA_f_June"

# LibriVox, Sense and Sensibility ch. 1: already 16 kHz mono 16-bit; copied as they are.
for n in 0870 0880 0890 0920 0930; do
  cp "$ps/librivox/sense_and_sensibility_01_austen_64kb-$n.wav" "$here/librivox_$n.wav"
done
sox -t raw -r 16000 -e signed -b 16 -c 1 "$ps/goforward.raw" "$here/goforward.wav"
cp "$ps/forever/input_2_16k.wav" "$here/forever.wav"
# French (Canadian), telephone prompts at 8 kHz: kept at 8 kHz (a rate Gladia takes).
for name in check-number-dial-again conf-placeintoconf; do
  sox "$fr/$name.wav" -r 8000 -b 16 -c 1 "$here/fr_$name.wav"
done
# Two readers on two channels, offset in time (overlapping): 0880 on channel 0 from 0.3 s,
# 0930 on channel 1 from 2.5 s, 0.5 s of silence after the last.
sox "$here/librivox_0880.wav" "$work/left.wav" pad 0.3 3.5
sox "$here/librivox_0930.wav" "$work/right.wav" pad 2.5 0.5
sox -M "$work/left.wav" "$work/right.wav" -b 16 "$here/two_readers_2ch.wav"
