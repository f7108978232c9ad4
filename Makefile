# kojistack: every target bootstraps .venv on its own. `make help` lists them.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
CHECKOV := .venv-checkov/bin/checkov
KOJI_VERSION := 1.35.3

.DEFAULT_GOAL := help

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/kojistack: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# koji without its gssapi dependency (needs krb5 headers); its pure-Python deps are in [test]
	$(BIN)/pip install -q --no-deps koji==$(KOJI_VERSION)
	touch $@

$(CHECKOV):
	$(PY) -m venv .venv-checkov
	.venv-checkov/bin/pip install -q checkov==3.3.30

venv: $(BIN)/kojistack ## create .venv with kojistack and its test tools

templates: $(BIN)/kojistack ## regenerate templates/ and the architecture picture from the code (deterministic)
	$(BIN)/kojistack generate --out templates
	$(BIN)/kojistack diagram -o docs/architecture.png
	$(BIN)/python -m kojistack.ops.paramdoc templates docs/parameters.md

lint: $(BIN)/kojistack ## cfn-lint over templates/ (fix with: make templates, then fix the part it names)
	$(BIN)/kojistack lint

test: $(BIN)/kojistack $(CHECKOV) ## run the whole test suite
	$(BIN)/pytest -q

check: $(BIN)/kojistack $(CHECKOV) ## what CI runs for users: freshness, lint, cloud-init, shellcheck, checkov
	$(BIN)/kojistack check

bench: $(BIN)/kojistack ## print generation and check times, sizes, and the simulator table
	$(BIN)/python -m kojistack.bench

.PHONY: help venv templates lint test check bench
