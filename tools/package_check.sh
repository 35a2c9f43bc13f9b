#!/usr/bin/env bash
# The package as users install it (`make test` runs this): the sdist and the wheel built
# from it (the wheel from the sdist, so a file missing from the sdist fails too), the wheel
# installed into clean venvs with no extra and with [local], and in each: `gladia --help`,
# `gladia version`, the shipped sample through `gladia file --local`, and the one-line
# error of a missing extra. A packaging mistake (package data, entry point, an extra's
# list) fails here, not on a user's machine. Sizes of the installs are printed.
#
# Usage: tools/package_check.sh BUILD_PYTHON   (a Python that has `build`: the dev venv's)
set -euo pipefail
given=${1:-.venv/bin/python}
build_python="$(cd "$(dirname "$given")" && pwd)/$(basename "$given")"  # absolute, not resolved
base_python=${PACKAGE_CHECK_PYTHON:-python3}
source_dir=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=$SECONDS

say() { printf 'package check: %s\n' "$*"; }
fail() { printf 'package check FAILED: %s\n' "$*" >&2; exit 1; }
# expect CODE TEXT COMMAND…: the command exits CODE and its output holds TEXT.
expect() {
  local want=$1 text=$2; shift 2
  local out code=0
  out=$("$@" 2>&1) || code=$?
  [ "$code" = "$want" ] || fail "$* exited $code, not $want: $out"
  grep -qiF -- "$text" <<<"$out" || fail "$* did not say '$text': $out"
  if grep -q Traceback <<<"$out"; then fail "$* printed a traceback: $out"; fi
}
site_mb() { du -sm "$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" | cut -f1; }

# pip as a user runs it: quiet, no .pyc compiled at install (half the time of a 700 MB
# install), its notices in a log shown only when it fails. The venvs are made without pip
# (ensurepip is 6 s of CPU each, a third of the plain install) and the build Python's pip
# installs into them (`pip --python`): the same resolver and wheels, into the same clean
# environment.
new_venv() { "$base_python" -m venv --without-pip "$1"; }
pip_install() {
  "$build_python" -m pip --python "$1/bin/python" install -q --no-compile \
    --disable-pip-version-check "${@:2}" >"$work/pip.log" 2>&1 \
    || { cat "$work/pip.log" >&2; fail "pip install ${*:2}"; }
}

say "building the sdist, then the wheel from it"
"$build_python" -m build --outdir "$work/dist" "$source_dir" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; fail "build"; }
cd "$work"  # not the checkout: there `import gladia_cli` would find the source, not the install
if grep -qi "deprecat" "$work/build.log"; then
  grep -i -A4 "deprecat" "$work/build.log" >&2; fail "the build warns of a deprecation"
fi
wheel=$(ls "$work"/dist/*.whl)
sample_of() { "$1/bin/python" -c 'import gladia_cli, pathlib; print(pathlib.Path(gladia_cli.__file__).parent / "data" / "self_test.wav")'; }

say "the wheel alone (pip install gladia-cli)"
new_venv "$work/plain"
pip_install "$work/plain" "$wheel"
plain="$work/plain/bin/gladia"
expect 0 "Live speech-to-text" "$plain" --help
expect 0 "gladia 0.1.0" "$plain" version
sample=$(sample_of "$work/plain")
case "$sample" in "$work"/*) ;; *) fail "gladia_cli was imported from $sample, not the install" ;; esac
[ -f "$sample" ] || fail "the wheel lacks its sample $sample"
"$work/plain/bin/python" -c 'from gladia_cli.render.caption_page import caption_page
assert b"EventSource" in caption_page().body' 2>/dev/null || fail "the wheel lacks the --web caption page"
expect 2 "--local needs the local extra (aiohttp" "$plain" file "$sample" --local
expect 2 "gladia serve --engine scripted needs the local extra" "$plain" serve --engine scripted
expect 2 "needs the local extra" "$plain" transcribe "$sample" --local
say "no extra: $(site_mb "$work/plain") MB of site-packages (pip not in it, as in pipx's venvs)"

say "the wheel with [local] (pip install 'gladia-cli[local]')"
new_venv "$work/local"
pip_install "$work/local" "$wheel[local]"
local_gladia="$work/local/bin/gladia"
sample=$(sample_of "$work/local")
# The sample is one second of "Let's go to the top"; Whisper base hears "Let us top" or
# "Let's go stop" depending on its window (a 1 s clip says little about accuracy, which
# benchmarks/engines.py measures). A word of it proves the model came with the wheel and
# decodes, as `gladia doctor`'s self-test asks.
expect 0 "top" "$local_gladia" file "$sample" --local --pace max -f text
expect 2 "named_entity_recognition with --local needs the addons extra" \
  "$local_gladia" file "$sample" --local --ner
expect 2 "--local-engine sphinx needs the sphinx extra" \
  "$local_gladia" file "$sample" --local --local-engine sphinx
say "[local]: $(site_mb "$work/local") MB of site-packages"
say "passed in $((SECONDS - started)) s"
