# Two entry points for a fresh machine: `make deck` builds the shipped deck, `make test` runs the tests.
# Each sets up its own virtualenv first (.venv, or VENV=path).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: deck test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.deck: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: $(VENV)/.deck
	$(BIN)/pip install -q -e '.[test]'
	touch $@

deck: $(VENV)/.deck
	$(BIN)/tfcards build --format all --strict

test: $(VENV)/.test
	$(BIN)/pytest

bench: $(VENV)/.test
	$(BIN)/python bench/bench_verify.py
	$(BIN)/python bench/bench_anki.py
	$(BIN)/python bench/bench_pdf.py

clean:
	rm -rf build/* $(VENV)
