# canaryspec — the two commands that matter on a fresh machine:
#   make canary   run the canary suite against the default target (tradelab) and write reports/
#   make test     the project's tests: lint, unit tests, then side by side: whole runs against
#                 broken images and the attach demo (integration), the canary suite on the real
#                 engine and the self-check (make verdicts)
# Everything else here is a step of those two.

SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BASE_IMAGE ?= canaryspec/debian:bookworm
BEHAVE_ARGS ?=

.PHONY: canary smoke compare canary-gpu test setup host-packages venv base wheelhouse images unit integration \
        lint hadolint integration-tests canary-suite self-check benchmark verdicts mutants real-platform allure-report steps-catalog clean \
        runner-image attach-demo

canary: setup
	$(PY) -m canaryspec run $(BEHAVE_ARGS)

# The handoff's method: the same canary on the monolith (baseline), then on the split images;
# reports/comparison.md says whether the split regressed and what it bought.
compare: setup
	$(PY) -m canaryspec compare $(BEHAVE_ARGS)

# The verdict a deploy waits for: the @smoke subset (the backend carries no torch, it is
# healthy, both workers register, a training and a backtest each run on their own worker).
smoke: setup
	$(PY) -m canaryspec run --tags=@smoke $(BEHAVE_ARGS)

# On a GPU host: the monolith baseline must still see its GPU (not part of the default run).
canary-gpu: setup
	$(PY) -m canaryspec run --tags=@gpu features-gpu $(BEHAVE_ARGS)

# Static checks first (seconds), unit tests, whole runs against broken images (integration),
# the canary suite itself, and the self-check: every broken variant of the platform caught.
# Side by side where they share only the engine: the unit tests (CPU) while the images build
# (the engine's disk and Debian's archive); then the self-check, the integration tests and the
# canary suite at once — each has its own canaries, and much of each one's time is spent
# waiting on the platform's timers (restarts, orphan timeouts), when the others use the CPU.
# The self-check starts first: it is the longest. -O keeps each one's output in one piece.
test: setup lint
	$(MAKE) --no-print-directory -j2 -O unit images
	$(MAKE) --no-print-directory -j3 -O self-check integration-tests canary-suite

self-check: venv
	$(PY) -m canaryspec verdicts

integration-tests canary-suite: venv
integration-tests:
	$(PY) -m pytest -m needs_images
canary-suite:
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

# The suite as an image (deploy/docker/Dockerfile.runner): no platform code, no torch; it
# attaches to a deployment by URL and exits with the verdict's code. Its wheels are its own.
runner-image: setup build/wheelhouse-runner/.built
	docker build -q -f deploy/docker/Dockerfile.runner --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	    -t canaryspec-runner:test . >/dev/null
build/wheelhouse-runner/.built: deploy/requirements/runner.txt | venv
	$(PY) -m pip wheel -q -w build/wheelhouse-runner -r deploy/requirements/runner.txt
	touch $@

# A deployment the suite did not start, judged from the host and from the runner image, and
# left as it was (deploy/attach/attach-demo.sh; README "Verifying a deployment you run").
attach-demo: images runner-image
	deploy/attach/attach-demo.sh

# The suite builds its images itself (cached); this target builds them without running it.
images: setup
	$(PY) -m canaryspec build

unit: venv
	$(PY) -m pytest -m "not needs_images"

# Whole runs of the suite on the engine, each against a variant that breaks one thing
# (a backend without alembic, Compose refusing the canary, SIGTERM/SIGINT mid-training, a
# run killed with SIGKILL): the verdict and the clean-up they must give.
integration: images integration-tests

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/hadolint deploy/docker/Dockerfile.*

# The real platform (kpiteira/ktrdr): its images built by its own repository, its own canary
# compose file unmodified; reports in reports/ktrdr/.
KTRDR ?= ../ktrdr
real-platform: venv
	$(PY) -m canaryspec run -D profile=ktrdr -D reports_dir=reports/ktrdr \
	    -D compose_file=$(abspath $(KTRDR))/deploy/environments/canary/docker-compose.yml $(BEHAVE_ARGS)

# The suite checks itself: each variant in variants/catalog.toml breaks tradelab in one way and
# must be caught by its named scenarios (reports/verdicts.md). VARIANTS="a b" runs only those.
VARIANTS ?=
verdicts: images
	$(PY) -m canaryspec verdicts $(VARIANTS)

# A seeded sample of machine-made mutants of tradelab (cosmic-ray's operators over its backend,
# workers and ml code), each run against the features of its area: reports/mutants.md says
# which the suite killed. Not part of `make test`: about a minute or two per mutant.
SAMPLE ?= 30
SEED ?= 1
mutants: images
	$(PY) -m canaryspec mutants --sample $(SAMPLE) --seed $(SEED)

# The Allure HTML report of the last run (reports/allure-report/), with the Allure command line
# from its npm package's tarball (this machine kind cannot install it from npm); Java 17.
ALLURE_TGZ ?= ../shared/tools/allure-commandline-2.46.1.tgz
allure-report:
	@test -f "$(ALLURE_TGZ)" || { echo "no Allure tarball at $(ALLURE_TGZ): set ALLURE_TGZ"; exit 2; }
	mkdir -p build/allure && tar xzf "$(ALLURE_TGZ)" -C build/allure
	build/allure/package/dist/bin/allure generate reports/allure-results -o reports/allure-report --clean

benchmark: setup
	$(PY) -m canaryspec benchmark $(BEHAVE_ARGS)

# The step catalogue QA reviewers write Gherkin from (docs/steps.md, committed; regenerate after
# changing steps). Run from a scratch directory: the project's configured formatters (Allure,
# JUnit) would otherwise overwrite the last run's reports with "untested" results.
steps-catalog: venv
	@{ echo "# Step catalogue"; echo; \
	   echo "Generated by \`make steps-catalog\` (behave's steps.doc formatter). Every step the"; \
	   echo "features may use, with the function and file that implement it."; echo; \
	   echo '```text'; \
	   scratch=$$(mktemp -d); \
	   (cd $$scratch && $(CURDIR)/$(VENV)/bin/behave --dry-run --no-summary --no-junit \
	     -f steps.doc -o /dev/stdout $(CURDIR)/features 2>/dev/null) \
	     | grep -v "^USING RUNNER" | sed "s#Location: .*/steps/#Location: steps/#"; rmdir $$scratch; \
	   echo '```'; } > docs/steps.md

clean:
	rm -rf reports build/wheelhouse build/probe-cache
