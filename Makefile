# Two entry points for a fresh machine: `make deck` builds the shipped deck, `make test` runs the tests.
# Each sets up its own virtualenv first (.venv, or VENV=path).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# The version matrix (docs/versions.md): every TensorFlow minor release from 2.15 to 2.21, each in
# its own venv under $(MATRIX_DIR) (tensorflow-cpu, the newest Keras and LiteRT pip resolves for it),
# built once and reused. 2.15.1 is the bare stack (Keras 2, no LiteRT): `make test` runs on it and it
# proves that `requires:` cards skip. KERAS_OLD is the oldest Keras 3 TensorFlow 2.16 accepts (its
# metadata says keras>=3.0.0), so `keras:` ranges are tested at their low end. The 2.21 entry is
# $(VENV) itself, which setup.cfg pins to TensorFlow 2.21.
MATRIX_DIR ?= build
TF_OLD ?= 2.15.1
TF_RELEASES ?= 2.16.2 2.17.1 2.18.1 2.19.1 2.20.0
KERAS_OLD ?= 3.0.0
TF_KERAS_OLD ?= 2.16.2
OLD := $(MATRIX_DIR)/venv-tf$(TF_OLD)
KOLD := $(MATRIX_DIR)/venv-tf$(TF_KERAS_OLD)-keras$(KERAS_OLD)
MATRIX_VENVS := $(OLD) $(foreach v,$(TF_RELEASES),$(MATRIX_DIR)/venv-tf$(v)) $(KOLD)

.PHONY: deck test test-matrix bench matrix venvs clean

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

$(MATRIX_DIR)/venv-tf%/.installed:
	$(PYTHON) -m venv $(@D)
	$(@D)/bin/python -m pip install -q tensorflow-cpu==$* keras ai-edge-litert
	touch $@

# After the plain 2.16 venv, so its TensorFlow wheel comes from pip's cache.
$(KOLD)/.installed: | $(MATRIX_DIR)/venv-tf$(TF_KERAS_OLD)/.installed
	$(PYTHON) -m venv $(@D)
	$(@D)/bin/python -m pip install -q tensorflow-cpu==$(TF_KERAS_OLD) keras==$(KERAS_OLD) ai-edge-litert
	touch $@

venvs: $(MATRIX_VENVS:%=%/.installed)

# The tests that need more than the 2.15.1 venv (the Keras 3.0 low end); `make test` leaves them out.
test-matrix: $(VENV)/.test $(KOLD)/.installed
	$(BIN)/pytest -m matrix

# Writes cards/proven.json (commit it); the rendered status lines change with it, so the build
# after it refreshes cards/anki-stamps.json (all cached by then: a few seconds).
matrix: $(VENV)/.deck venvs
	$(BIN)/tfcards matrix --python $(BIN)/python $(MATRIX_VENVS:%=--python %/bin/python) \
	    --report build/matrix.json --by-topic --store cards/proven.json
	$(BIN)/tfcards build --format apkg

bench: $(VENV)/.test
	$(BIN)/python bench/bench_verify.py
	$(BIN)/python bench/bench_anki.py
	$(BIN)/python bench/bench_pdf.py
	$(BIN)/python bench/bench_strict.py
	$(BIN)/python bench/bench_serve.py

clean:
	rm -rf build/* $(VENV)
