# kojistack: every target bootstraps what it needs on its own. `make help` lists them.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
CHECKOV := .venv-checkov/bin/checkov
KOJI_VERSION := 1.35.3
# what the generator needs (kojistack and the diagram's matplotlib) / what the tests need on top
RUN_DEPS  := $(VENV)/.run-deps
TEST_DEPS := $(VENV)/.test-deps
# `make test` writes its wall time here; `make bench` prints it
TEST_TIME := .make-test-time
# the slow tier (pytest marker "slow", registered in pyproject.toml) is left out of test-fast
FAST    := not slow and not aws

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# A .venv made by a Python older than 3.11 (pyproject's requires-python) is rebuilt, not reused.
PY_OK      := import sys; sys.exit(sys.version_info < (3, 11))
VENV_STALE := $(shell test -e $(BIN)/python && ! $(BIN)/python -c '$(PY_OK)' 2>/dev/null && echo stale)

$(BIN)/python: $(if $(VENV_STALE),FORCE)
	@$(PY) -c '$(PY_OK)' 2>/dev/null || { echo "make: $(PY) is not Python 3.11 or newer; install one and run make PY=python3.11" >&2; exit 1; }
	@if [ -n "$(VENV_STALE)" ]; then echo "make: $(VENV) was made by a Python older than 3.11: rebuilding it"; fi
	rm -rf $(VENV)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_DEPS): pyproject.toml $(BIN)/python
	$(BIN)/pip install -q -e '.[plot]'
	touch $@

$(TEST_DEPS): pyproject.toml $(RUN_DEPS)
	$(BIN)/pip install -q -e '.[test]'
	# koji without its gssapi dependency (needs krb5 headers); its pure-Python deps are in [test]
	$(BIN)/pip install -q --no-deps koji==$(KOJI_VERSION)
	touch $@

$(CHECKOV):
	$(PY) -m venv .venv-checkov
	.venv-checkov/bin/pip install -q checkov==3.3.30

venv: $(TEST_DEPS) ## create .venv with kojistack and its test tools

templates: $(RUN_DEPS) ## regenerate templates/ and the architecture picture (installs only what generating needs)
	$(BIN)/kojistack generate --out templates
	$(BIN)/kojistack diagram -o docs/architecture.png
	$(BIN)/python -m kojistack.ops.paramdoc templates docs/parameters.md

lint: $(TEST_DEPS) ## ruff and mypy over the Python (pyproject.toml), cfn-lint over templates/ (fix: make fix / make templates)
	$(BIN)/python -m ruff check .
	$(BIN)/python -m mypy
	$(BIN)/kojistack lint

fix: $(TEST_DEPS) ## ruff's automatic fixes (import order, pyupgrade, ...); make lint shows what is left to fix by hand
	$(BIN)/python -m ruff check --fix .

test: $(TEST_DEPS) $(CHECKOV) ## run the whole test suite (one line per test as it runs); records its wall time
	@start=$$(date +%s); $(BIN)/pytest -v -p no:cacheprovider --durations=15; rc=$$?; \
	 echo "make test: $$(( $$(date +%s) - start )) s wall, exit $$rc, $$(nproc) cores, $$(date -u +%Y-%m-%dT%H:%MZ)" \
	   | tee $(TEST_TIME); exit $$rc

test-fast: $(TEST_DEPS) ## the tests not marked slow (under a minute)
	$(BIN)/pytest -q -p no:cacheprovider -m '$(FAST)'

check: $(RUN_DEPS) $(CHECKOV) ## what CI runs for users: freshness, lint, cloud-init, shellcheck, checkov
	$(BIN)/kojistack check

bench: $(TEST_DEPS) $(CHECKOV) ## print generation and check-loop times, sizes, the simulator tables, the controller's observation cost, make test's last wall time and its own
	@start=$$(date +%s); \
	 $(BIN)/python -m kojistack.bench && PYTHONPATH=tests $(BIN)/python -m support.bench_observe; rc=$$?; \
	 if [ -f $(TEST_TIME) ]; then echo "last $$(cat $(TEST_TIME))"; \
	 else echo "make test: no run recorded yet (make test writes its wall time to $(TEST_TIME))"; fi; \
	 echo "make bench: $$(( $$(date +%s) - start )) s wall, exit $$rc, $$(nproc) cores, $$(date -u +%Y-%m-%dT%H:%MZ)"; \
	 exit $$rc

REALHUB_DIR ?= /srv/kojistack-realhub
test-realhub: ## opt-in, root on Debian 12: a real koji hub from KOJI_SRC=<koji-1.35.3 source> runs this tree's last commit (docs/realhub.md)
	@[ -n "$(KOJI_SRC)" ] || { echo "make test-realhub: give KOJI_SRC=path to koji's source at tag koji-1.35.3 (docs/realhub.md)"; exit 2; }
	@if [ -e "$(REALHUB_DIR)" ]; then \
	   [ -x "$(REALHUB_DIR)/ns" ] || { echo "make test-realhub: $(REALHUB_DIR) exists and is not a harness; choose REALHUB_DIR=..."; exit 2; }; \
	   "$(REALHUB_DIR)/stop.sh" >/dev/null 2>&1; rm -rf "$(REALHUB_DIR)"; fi
	tests/realhub/build.sh "$(REALHUB_DIR)" --koji-src "$(KOJI_SRC)" --project . --pg16
	tests/realhub/check.sh "$(REALHUB_DIR)"; rc=$$?; tests/realhub/check-repos.sh "$(REALHUB_DIR)" && exit $$rc

FORCE:

.PHONY: help venv templates lint fix test test-fast check bench test-realhub FORCE
