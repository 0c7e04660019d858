# remit — two commands do everything on a fresh machine: `make demo` and `make test`.
# Only python3 and make are needed: uv is bootstrapped into .tools/ from PyPI when it is missing.

SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(strip $(UV)),)
UV := .tools/bin/uv
endif
REMIT := $(UV) run --frozen remit
UV_SHOWN := $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv,uv)
DEMO_HOME ?= remit-data
DEMO_CLAIMS ?= 8000
DEMO_FILES ?= 96
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: setup demo report test test-quick lint format bench clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

# Bytecode compiled at install: a process that may not write it (PYTHONDONTWRITEBYTECODE, a read-only
# install) would otherwise compile every module it imports, in every process, every night (the
# parser's workers, the report's kernel: seconds of CPU per run).
.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra spark --compile-bytecode
	$(UV) run --frozen python -m compileall -q pipeline
	@touch $@

setup: .venv/.synced  ## create .venv with the locked dependencies

demo: setup  ## generate a year of sample remittances, run the whole nightly pipeline, print where results are
	rm -rf $(DEMO_HOME)
	$(REMIT) synth --out $(DEMO_HOME)/synth --claims $(DEMO_CLAIMS) --files $(DEMO_FILES) --months 12 --seed 835 --with-837
	mkdir -p $(DEMO_HOME)/inbox
	cp $(DEMO_HOME)/synth/payers.csv $(DEMO_HOME)/payers.csv
	cp $(DEMO_HOME)/synth/*.835 $(DEMO_HOME)/synth/837/*.837 $(DEMO_HOME)/inbox/
	# freshly copied files count as settled at once (the default waits 5 s for senders still writing)
	REMIT_INBOX_SETTLE_SECONDS=0 $(REMIT) --home $(DEMO_HOME) run
	@echo
	@echo "Demo results ($(DEMO_CLAIMS) synthetic claims over 12 months):"
	@echo "  warehouse for analysts:  cd $(DEMO_HOME) && duckdb -readonly warehouse.duckdb   (DuckDB 1.4+; see docs/analysts.md)"
	@echo "  leadership report:       $$(ls $(DEMO_HOME)/reports/remit-report-*.html)"
	@echo "  denial-code handbook:    $(DEMO_HOME)/reports/handbook/index.html"
	@echo "  data quality:            $(DEMO_HOME)/reports/quality/latest.html"
	@echo "  Parquet lake:            $(DEMO_HOME)/lake/"
	@echo "  generated 835s + truth:  $(DEMO_HOME)/synth/"
	@echo "  look up a code:          $(UV_SHOWN) run remit --home $(DEMO_HOME) code CO-16"

report: setup  ## render the leadership report for the latest month of the demo warehouse
	$(REMIT) --home $(DEMO_HOME) report

test: setup  ## run the whole test suite
	$(UV) run --frozen pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

test-quick: setup  ## the suite without slow and Spark tests
	$(UV) run --frozen pytest -n 2 --dist loadgroup -m "not slow and not spark" $(PYTEST_ARGS)

lint: setup  ## ruff
	$(UV) run --frozen ruff check pipeline tests
	$(UV) run --frozen ruff format --check pipeline tests

format: setup
	$(UV) run --frozen ruff format pipeline tests
	$(UV) run --frozen ruff check --fix pipeline tests

bench: setup  ## every stage's speed and memory figures against their targets (docs/benchmarks.md); BENCH_ARGS="--only quality"
	$(UV) run --frozen python -m pipeline.bench $(BENCH_ARGS)

clean:  ## remove the environment, demo data and caches
	rm -rf .venv .tools $(DEMO_HOME) .pytest_cache .ruff_cache .hypothesis
