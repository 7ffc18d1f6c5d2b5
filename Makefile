# `make demo` and `make test` each do their own set-up from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# First-party plugins install editable with their test extras; test-only plugins (tests/plugins/*) and the
# example third-party backend (examples/ebonite-*) install as real distributions, so that their entry points
# are found exactly as a user's would be.
PLUGINS := $(wildcard plugins/*)
TEST_PLUGINS := $(wildcard tests/plugins/*) $(foreach example,$(wildcard examples/ebonite-*),'$(example)[test]')
# What pip writes into those source trees when it builds them (build/, *.egg-info, here or in make test-pythons'
# environments) is no change to them: it must not make the next `make test` reinstall everything.
PACKAGE_FILES := pyproject.toml $(wildcard plugins/*/pyproject.toml) \
	$(shell find tests/plugins examples/ebonite-* -type f -not -path '*/__pycache__/*' -not -path '*/build/*' \
		-not -path '*.egg-info/*' 2>/dev/null)

.PHONY: demo test test-pythons install lint services bench bench-scale clean reliability-report screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python $(PACKAGE_FILES) Makefile
	$(BIN)/pip install -q -e '.[test]' $(foreach plugin,$(PLUGINS),-e '$(plugin)[test]') $(TEST_PLUGINS)
	touch $@

install: $(STAMP)

# System services the test suite starts (database servers); installs what is missing.
services:
	./.ci/install-services

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install services lint
	$(BIN)/pytest

# The other supported Pythons (make test uses python3, 3.11 on these machines): the contract suites and the
# end-to-end tests on each, in .venv-X.Y environments of their own (.ci/test_pythons.py says which and why).
TEST_PYTHONS ?= 3.10 3.12 3.13
test-pythons: services
	$(PYTHON) .ci/test_pythons.py $(TEST_PYTHONS)

# The demo needs the core and scikit-learn only, not the test tools and servers.
DEMO_STAMP := $(VENV)/.demo-installed
$(DEMO_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e '.[demo]'
	touch $@

demo: $(DEMO_STAMP)
	$(BIN)/python examples/quickstart.py

# The reliability suite runs in `make test` too, without writing anything; this target runs it alone, with
# every service required, and writes docs/reliability.md from what it observed (tests/reliability/rel_report.py),
# in one process (-n 0: the recorder sees every test only without xdist's workers).
reliability-report: install services
	EBONITE_REQUIRE_SERVICES=1 EBONITE_RELIABILITY_REPORT=docs/reliability.md $(BIN)/pytest -n 0 tests/reliability

# Screenshots of each page of the web UI at 375 and 1440 px wide, in headless Chromium, for docs/ui.md.
screenshots: install services
	$(BIN)/python tests/ui/ui_screenshots.py docs/ui

# Benchmarks print figures (never timed tests); MLflow, the baseline of some, gets its own environment.
MLFLOW_VENV := .bench-mlflow
$(MLFLOW_VENV)/bin/python:
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/pip install -q mlflow scikit-learn pandas skops

# The import-time benchmark measures the core as users get it: a regular (not editable) install, whose
# bytecode pip compiled, in an environment of its own.
CORE_VENV := .bench-core
$(CORE_VENV)/.installed: pyproject.toml $(shell find ebonite_core -name '*.py')
	rm -rf $(CORE_VENV) && $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_VENV)/bin/pip install -q .
	touch $@

bench: install $(MLFLOW_VENV)/bin/python $(CORE_VENV)/.installed
	MLFLOW_DISABLE_TELEMETRY=true $(BIN)/python benchmarks/run_all.py --mlflow-python $(MLFLOW_VENV)/bin/python \
		--core-python $(CORE_VENV)/bin/python

# A million models on PostgreSQL, 100,000 on SQLite (issue 18): built and timed in about half an hour, on a
# throwaway server; not part of `make bench`.
bench-scale: install services
	$(BIN)/python benchmarks/million_models.py
	$(BIN)/python benchmarks/million_models.py --database sqlite --models 100000 --no-commands

clean:
	rm -rf $(VENV) $(VENV)-* $(CORE_VENV) build *.egg-info .pytest_cache
