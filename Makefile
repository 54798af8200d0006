# canaryspec — the two commands that matter on a fresh machine:
#   make canary   run the canary suite against the default target (tradelab) and write reports/
#   make test     the project's tests: lint, unit tests, then the canary suite on the real engine
# Everything else here is a step of those two.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BASE_IMAGE ?= canaryspec/debian:bookworm
BEHAVE_ARGS ?=

.PHONY: canary canary-gpu test setup host-packages venv base wheelhouse images unit lint hadolint \
        benchmark steps-catalog clean

canary: setup
	$(PY) -m canaryspec run $(BEHAVE_ARGS)

# On a GPU host: the monolith baseline must still see its GPU (not part of the default run).
canary-gpu: setup
	$(PY) -m canaryspec run --tags=@gpu features-gpu $(BEHAVE_ARGS)

test: setup lint unit
	$(PY) -m canaryspec run $(BEHAVE_ARGS)

setup: host-packages venv base wheelhouse

# debootstrap builds the base image; nothing else is needed from the host's package manager.
host-packages:
	@command -v debootstrap >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; }

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[platform,dev]'
	touch $@

# Built once per engine; reused while the tag exists (FORCE=1 to rebuild).
base:
	deploy/base/build-base.sh $(BASE_IMAGE)

# Containers here reach Debian's archive but not PyPI: the images install from wheels built
# on the host.
wheelhouse: build/wheelhouse/.built
build/wheelhouse/.built: deploy/requirements/backend.txt deploy/requirements/worker.txt | venv
	$(PY) -m pip wheel -q -w build/wheelhouse -r deploy/requirements/backend.txt \
	    -r deploy/requirements/worker.txt
	touch $@

# The suite builds its images itself (cached); this target builds them without running it.
images: setup
	$(PY) -m canaryspec build

unit: venv
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/hadolint deploy/docker/Dockerfile.*

benchmark: setup
	$(PY) -m canaryspec benchmark $(BEHAVE_ARGS)

steps-catalog: venv
	$(VENV)/bin/behave --dry-run --steps-catalog --no-summary --format=plain -o docs/steps.md

clean:
	rm -rf reports build/wheelhouse
