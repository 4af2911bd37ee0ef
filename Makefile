# Two entry points for a fresh machine: `make deck` builds the shipped deck, `make test` runs the tests.
# Each first checks the system packages it needs (installing them when run as root, else printing the
# one `apt-get install` line and stopping), then sets up its own virtualenv (.venv, or VENV=path).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# A second TensorFlow for `make matrix` and the version tests: 2.15, the last release with Keras 2.
TF_OLD ?= 2.15.1
OLD := build/venv-tf$(TF_OLD)

# System packages (Debian/Ubuntu names), checked by tools/system-packages: Pango for WeasyPrint's
# PDFs and bubblewrap for the sandbox the cards run in; the tests also read PDFs back with poppler
# and drive the live page with Chromium.
DECK_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 bubblewrap
TEST_PACKAGES := $(DECK_PACKAGES) poppler-utils chromium chromium-driver

.PHONY: deck test bench matrix release clean system-deck system-test

system-deck:
	@PYTHON=$(PYTHON) tools/system-packages $(DECK_PACKAGES)

system-test:
	@PYTHON=$(PYTHON) tools/system-packages $(TEST_PACKAGES)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.deck: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e '.[litert,tensorboard]'  # the extras: the shipped quantization cards run LiteRT, two cards log to TensorBoard
	touch $@

$(VENV)/.test: $(VENV)/.deck
	$(BIN)/pip install -q -e '.[test,litert,tensorboard]'
	touch $@

deck: system-deck $(VENV)/.deck
	$(BIN)/tfcards build --format all --strict

test: system-test $(VENV)/.test
	$(BIN)/pytest

$(OLD)/.installed:
	$(PYTHON) -m venv $(OLD)
	$(OLD)/bin/python -m pip install -q tensorflow-cpu==$(TF_OLD)
	touch $@

matrix: system-deck $(VENV)/.deck $(OLD)/.installed
	$(BIN)/tfcards matrix --python $(BIN)/python --python $(OLD)/bin/python --report build/matrix.json --by-topic

# What learners download (docs/install.md): the deck, its three PDFs, the table of what holds on
# which TensorFlow (every interpreter of `make matrix` that is built; this venv's alone otherwise),
# the wheel and sdist, and SHA256SUMS. Two runs on one commit give byte-identical files.
RELEASE := build/release
RELEASE_PYTHONS = $(BIN)/python $(patsubst %/.installed,%/bin/python,$(wildcard build/venv-tf*/.installed))

release: system-deck $(VENV)/.test
	rm -rf $(RELEASE)
	$(BIN)/tfcards build --strict --format all --out $(RELEASE)
	$(BIN)/tfcards build --format pdf --layout foldover --out $(RELEASE)
	$(BIN)/tfcards build --format pdf --layout sheet --out $(RELEASE)
	$(BIN)/tfcards matrix $(RELEASE_PYTHONS:%=--python %) --report build/release-matrix.json
	$(BIN)/python -m generator.release matrix build/release-matrix.json $(RELEASE)/matrix.md
	$(BIN)/python -m generator.release dists . $(RELEASE)
	$(BIN)/python -m generator.release sums $(RELEASE)
	cd $(RELEASE) && sha256sum -c --quiet SHA256SUMS && ls -l

bench: system-test $(VENV)/.test
	$(BIN)/python bench/bench_verify.py
	$(BIN)/python bench/bench_anki.py
	$(BIN)/python bench/bench_pdf.py
	$(BIN)/python bench/bench_strict.py
	$(BIN)/python bench/bench_serve.py
	$(BIN)/python bench/bench_sandbox.py

clean:
	rm -rf build/* $(VENV)
