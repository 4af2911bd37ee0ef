# Two entry points for a fresh machine: `make deck` builds the shipped deck, `make test` runs the tests.
# Each sets up its own virtualenv first (.venv, or VENV=path).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# A second TensorFlow for `make matrix` and the version tests: 2.15, the last release with Keras 2.
TF_OLD ?= 2.15.1
OLD := build/venv-tf$(TF_OLD)

.PHONY: deck test bench matrix clean

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

$(OLD)/.installed:
	$(PYTHON) -m venv $(OLD)
	$(OLD)/bin/python -m pip install -q tensorflow-cpu==$(TF_OLD)
	touch $@

matrix: $(VENV)/.deck $(OLD)/.installed
	$(BIN)/tfcards matrix --python $(BIN)/python --python $(OLD)/bin/python --report build/matrix.json --by-topic

bench: $(VENV)/.test
	$(BIN)/python bench/bench_verify.py
	$(BIN)/python bench/bench_cache.py
	$(BIN)/python bench/bench_anki.py
	$(BIN)/python bench/bench_pdf.py
	$(BIN)/python bench/bench_strict.py
	$(BIN)/python bench/bench_serve.py

clean:
	rm -rf build/* $(VENV)
