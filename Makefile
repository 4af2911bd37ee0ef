# Two entry points for a fresh machine: `make deck` builds the shipped deck, `make test` runs the tests.
# Each first checks the system packages it needs (installing them when run as root, else printing the
# one `apt-get install` line and stopping), then sets up its own virtualenv (.venv, or VENV=path).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# The version matrix (docs/versions.md): every TensorFlow minor release from 2.15 to 2.21, each in
# its own venv under $(MATRIX_DIR) (tensorflow-cpu, the newest Keras, LiteRT and matplotlib pip
# resolves for it, so the figure cards are proven there too),
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

# System packages (Debian/Ubuntu names), checked by tools/system-packages: Pango for WeasyPrint's
# PDFs and bubblewrap for the sandbox the cards run in; the tests also read PDFs back with poppler
# and drive the live page with Chromium.
DECK_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 bubblewrap
TEST_PACKAGES := $(DECK_PACKAGES) poppler-utils chromium chromium-driver

.PHONY: deck test test-matrix bench matrix venvs release clean system-deck system-test

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

$(MATRIX_DIR)/venv-tf%/.installed:
	$(PYTHON) -m venv $(@D)
	$(@D)/bin/python -m pip install -q tensorflow-cpu==$* keras ai-edge-litert matplotlib
	touch $@

# After the plain 2.16 venv, so its TensorFlow wheel comes from pip's cache.
$(KOLD)/.installed: | $(MATRIX_DIR)/venv-tf$(TF_KERAS_OLD)/.installed
	$(PYTHON) -m venv $(@D)
	$(@D)/bin/python -m pip install -q tensorflow-cpu==$(TF_KERAS_OLD) keras==$(KERAS_OLD) ai-edge-litert matplotlib
	touch $@

venvs: $(MATRIX_VENVS:%=%/.installed)

# The tests that need more than the 2.15.1 venv (the Keras 3.0 low end); `make test` leaves them out.
test-matrix: $(VENV)/.test $(KOLD)/.installed
	$(BIN)/pytest -m matrix

# Writes cards/proven.json (commit it); the rendered status lines change with it, so the build
# after it refreshes cards/anki-stamps.json (all cached by then: a few seconds).
matrix: system-deck $(VENV)/.deck venvs
	$(BIN)/tfcards matrix --python $(BIN)/python $(MATRIX_VENVS:%=--python %/bin/python) \
	    --report build/matrix.json --by-topic --store cards/proven.json
	$(BIN)/tfcards build --format apkg

# What learners download (docs/install.md): the deck, its three PDFs, the table of what holds on
# which TensorFlow (every interpreter of `make matrix` that is built; this venv's alone otherwise),
# the wheel and sdist, and SHA256SUMS. Two runs on one commit give byte-identical files.
RELEASE := build/release
RELEASE_PYTHONS = $(BIN)/python $(patsubst %/.installed,%/bin/python,$(wildcard $(MATRIX_VENVS:%=%/.installed)))

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
	$(BIN)/python bench/bench_deck.py
	$(BIN)/python bench/bench_cache.py
	$(BIN)/python bench/bench_anki.py
	$(BIN)/python bench/bench_pdf.py
	$(BIN)/python bench/bench_strict.py
	$(BIN)/python bench/bench_serve.py
	$(BIN)/python bench/bench_sandbox.py

clean:
	rm -rf build/* $(VENV)
