# The two commands a new machine needs: `make demo` and `make test`. Both install first.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE := tests/data/meeting_3ch.wav

# Debian packages: PortAudio for microphones, PulseAudio for the tests' virtual microphone,
# espeak-ng and sox to regenerate speech fixtures, tmux to test the live table, jq to run
# the README's pipelines, chromium (headless) to test the --web caption page.
DEB_PACKAGES := libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins espeak-ng sox tmux jq \
	chromium

.PHONY: install system-deps demo test package-check check lint typecheck completions fixtures bench bench-corpus clean

install: system-deps $(STAMP)

system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
	    | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "missing system packages; run: sudo apt-get install $$missing" >&2; exit 1; fi; \
	  echo "installing system packages: $$missing"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Resemblyzer is installed for its speaker model only (server/prerecorded/diarization.py runs it with
# numpy): without its dependencies, torch among them (gigabytes the model does not need).
RESEMBLYZER := resemblyzer==0.1.4

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps '$(RESEMBLYZER)'
	@# Earlier dev installs brought keyrings.alt, a plain-text file as every program's keyring.
	@if $(BIN)/pip show -q keyrings.alt 2>/dev/null; then $(BIN)/pip uninstall -y -q keyrings.alt; fi
	touch $(STAMP)

demo: install
	$(BIN)/gladia file $(SAMPLE) --local --label sami,maxime,mark --pace 2x

# The suite, and beside it the package as users install it (tools/package_check.sh: sdist
# and wheel built, installed into clean venvs with no extra and with [local]; about a
# minute, its output shown at the end). Either failing fails `make test`.
# The suite runs on TEST_WORKERS pytest-xdist workers: much of its time is waiting (audio
# paced in real time, faults that last seconds), which workers overlap; at four it is
# bound by the two cores' CPU (on two cores, 1977 tests: serial ~24 min, 2 workers 6:36-8:01,
# 4 workers 5:17-5:32, 6 no faster). TEST_WORKERS=0 runs it in one process.
# Work stealing: an idle worker takes half of a busy one's queue. xdist's default hands out
# chunks of up to a hundred tests in file order and never takes them back: one worker got
# every integration and mic test (a third of the suite's CPU) and ran alone, on one of the
# two cores, for its last 150 s.
# Bytecode is cached (in __pycache__, git-ignored) even where PYTHONDONTWRITEBYTECODE is set:
# else each worker rewrites and compiles every test module (7 s of CPU, 2.5 cached) and, in
# a fresh clone, each of the suite's hundred gladia subprocesses compiles the package (0.3 s).
TEST_WORKERS ?= 4
PACKAGE_CHECK ?= tools/package_check.sh
test: install
	@$(PACKAGE_CHECK) $(BIN)/python >$(VENV)/package-check.log 2>&1 & check=$$!; \
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal; suite=$$?; \
	wait $$check; checked=$$?; cat $(VENV)/package-check.log; \
	exit $$(( suite || checked ))

package-check: install
	$(PACKAGE_CHECK) $(BIN)/python

lint: install
	$(BIN)/ruff check gladia_cli tests benchmarks tools
	$(BIN)/ruff format --check gladia_cli tests benchmarks tools

typecheck: install
	$(BIN)/mypy

check: lint typecheck test

completions: install
	$(BIN)/python -m tools.completions completions

fixtures:
	tests/data/make_fixtures.sh

# The real-voice corpus of benchmarks/engines.py --scenes (pip, apt-get download; git-ignored).
bench-corpus: install
	$(BIN)/python benchmarks/corpus.py

bench: install
	$(BIN)/python benchmarks/server_sessions.py
	$(BIN)/python benchmarks/client_stream.py
	$(BIN)/python benchmarks/startup.py
	$(BIN)/python benchmarks/interleave.py
	$(BIN)/python benchmarks/engines.py
	$(BIN)/python benchmarks/faults.py
	$(BIN)/python benchmarks/whisper_threads.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
