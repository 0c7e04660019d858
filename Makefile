# remit — two commands do everything on a fresh machine: `make demo` and `make test`.
# Only python3 and make are needed: uv is bootstrapped into .tools/ from PyPI when it is missing.

SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(strip $(UV)),)
UV := .tools/bin/uv
endif
REMIT := $(UV) run --frozen remit
DEMO_HOME ?= remit-data
DEMO_CLAIMS ?= 3000
PYTEST_ARGS ?=

.PHONY: setup demo test test-quick lint format bench clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra spark
	@touch $@

setup: .venv/.synced  ## create .venv with the locked dependencies

demo: setup  ## generate a year of sample remittances, run the pipeline, print where results are
	rm -rf $(DEMO_HOME)/synth
	$(REMIT) synth --out $(DEMO_HOME)/synth --claims $(DEMO_CLAIMS) --months 12 --seed 835
	$(REMIT) --home $(DEMO_HOME) parse $(DEMO_HOME)/synth/*.835 --out $(DEMO_HOME)/parsed
	@echo
	@echo "Demo results:"
	@echo "  generated 835 files and truth.json: $(DEMO_HOME)/synth/"
	@echo "  parsed tables (Parquet):            $(DEMO_HOME)/parsed/"

test: setup  ## run the whole test suite
	$(UV) run --frozen pytest -n 2 $(PYTEST_ARGS)

test-quick: setup  ## the suite without slow and Spark tests
	$(UV) run --frozen pytest -n 2 -m "not slow and not spark" $(PYTEST_ARGS)

lint: setup  ## ruff
	$(UV) run --frozen ruff check pipeline tests
	$(UV) run --frozen ruff format --check pipeline tests

format: setup
	$(UV) run --frozen ruff format pipeline tests
	$(UV) run --frozen ruff check --fix pipeline tests

bench: setup  ## speed and memory benchmarks (see docs/benchmarks.md)
	$(UV) run --frozen python -m pipeline.bench

clean:  ## remove the environment, demo data and caches
	rm -rf .venv .tools $(DEMO_HOME) .pytest_cache .ruff_cache .hypothesis
