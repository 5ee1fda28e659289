# The Eye - developer commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
SAM_VENV := .venv-sam
CHECK_VENV := .venv-check
# `make test` runs the suite in this many processes (pytest-xdist), a test file per process at
# a time: a file's tests keep their order and module fixtures. 1 runs it in this process.
TEST_WORKERS ?= 2
# Extra pytest arguments for `make test` and `make test-loaded`, e.g. PYTEST_ARGS=tests/browser.
PYTEST_ARGS ?=
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
CFN_LINT := $(SAM_VENV)/bin/cfn-lint
export SAM_CLI_TELEMETRY := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

$(VENV)/.installed: requirements-dev.txt layers/runtime/requirements.txt pyproject.toml client/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip install --quiet --no-deps -e ./client
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.txt
	touch $@

$(CHECK_VENV)/.installed: requirements-check.txt
	test -x $(CHECK_VENV)/bin/python || $(PYTHON) -m venv $(CHECK_VENV)
	$(CHECK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECK_VENV)/bin/python -m pip install --quiet -r requirements-check.txt
	touch $@

.PHONY: help
help: ## List every target
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: venv
venv: $(VENV)/.installed $(SAM_VENV)/.installed ## Create .venv and .venv-sam (done by every target that needs them)

.PHONY: run
run: $(VENV)/.installed ## Serve the whole stack on http://127.0.0.1:3000 (no AWS account, no Docker)
	$(PY) -m theeye_local

.PHONY: test
test: $(VENV)/.installed $(SAM_VENV)/.installed ## What CI runs: template checks, sam build, unit, integration and end-to-end tests
	$(MAKE) --no-print-directory validate
	$(MAKE) --no-print-directory build
	$(PY) -m pytest $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

.PHONY: test-loaded
test-loaded: $(VENV)/.installed $(SAM_VENV)/.installed ## make test while two busy processes keep both cores loaded (no test may depend on speed)
	$(PY) tools/loaded.py --burners 2 -- $(MAKE) --no-print-directory test

.PHONY: unit
unit: $(VENV)/.installed $(SAM_VENV)/.installed ## Unit tests only (sockets disabled; .venv-sam translates the template)
	$(PY) -m pytest tests/unit

.PHONY: validate
validate: $(SAM_VENV)/.installed ## sam validate --lint and cfn-lint on template.yaml
	$(SAM) validate --lint --template template.yaml
	$(CFN_LINT) template.yaml

.PHONY: lint
lint: $(VENV)/.installed $(SAM_VENV)/.installed ## ruff (lint + format check), mypy and the template checks
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(MAKE) --no-print-directory validate

.PHONY: format
format: $(VENV)/.installed ## Apply ruff's formatting and safe fixes
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: check
check: $(VENV)/.installed $(CHECK_VENV)/.installed ## Security scans, API fuzzing and a chaos run: checkov, pip-audit, schemathesis, tools/chaos.py (minutes)
	$(CHECK_VENV)/bin/checkov -f template.yaml --config-file .checkov.yaml
	$(PY) tools/audit.py --pip-audit $(CHECK_VENV)/bin/pip-audit --allow-unreachable -- \
		-r layers/runtime/requirements.txt -r requirements-dev.txt
	$(PY) tools/fuzz.py
	$(PY) tools/chaos.py

.PHONY: bench
bench: $(VENV)/.installed ## Run the benchmarks and rewrite docs/PERFORMANCE.md (minutes; not part of make test)
	$(PY) -m bench.run

.PHONY: openapi
openapi: $(VENV)/.installed ## Regenerate docs/openapi.json from the route definitions
	$(PY) tools/openapi.py

.PHONY: context-data
context-data: $(VENV)/.installed ## Rewrite functions/theeye/data from the pinned packages (after raising a pin of event context)
	$(PY) tools/context_data.py

.PHONY: build
build: $(SAM_VENV)/.installed ## sam build (python3.11, arm64 wheels; no Docker)
	$(SAM) build --template template.yaml --cached --parallel

.PHONY: deploy
deploy: build ## sam deploy with samconfig.toml (first time: sam deploy --guided)
	$(SAM) deploy

.PHONY: clean
clean: ## Remove virtualenvs, build output and caches
	rm -rf $(VENV) $(SAM_VENV) $(CHECK_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache .theeye test-output
