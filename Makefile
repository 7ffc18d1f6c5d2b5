# `make demo` and `make test` each do their own set-up from a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml Makefile
	$(BIN)/pip install -q -e '.[test]'
	touch $@

install: $(STAMP)

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/pytest

demo: install
	$(BIN)/python examples/quickstart.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
