"""tfcards' comparison against TensorFlow's own doctest checker, on real TensorFlow output.

tests/data/docstrings.yaml is TensorFlow 2.21's docstring examples as cards (bench/docstring_cards.py
writes it, tagging each card with TensorFlow's checker's verdict: tf-pass / tf-fail); tests/data/
loose.yaml holds wrong outputs that only TensorFlow's checker accepts. Both run through the real
verifier: tfcards must pass what is true and fail every claim TensorFlow's checker lets through.
"""
from __future__ import annotations

import doctest
import importlib.util
from pathlib import Path

import pytest

from generator.load import load_cards
from generator.verify import verify

from conftest import DATA

DOCSTRINGS, LOOSE = DATA / "docstrings.yaml", DATA / "loose.yaml"
# TensorFlow's doctest harness (tensorflow/tools/docs/tf_doctest.py) runs with exactly these.
TF_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE | doctest.IGNORE_EXCEPTION_DETAIL | doctest.DONT_ACCEPT_BLANKLINE


def tf_checker() -> doctest.OutputChecker:
    """TfDoctestOutputChecker from the installed wheel, loaded by path: importing the package
    `tensorflow.tools.docs` would import all of TensorFlow into the test process."""
    tf_dir = Path(importlib.util.find_spec("tensorflow").submodule_search_locations[0])
    spec = importlib.util.spec_from_file_location("tf_doctest_lib", tf_dir / "tools" / "docs" / "tf_doctest_lib.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TfDoctestOutputChecker()


@pytest.fixture(scope="module")
def corpus():
    cards = load_cards([DOCSTRINGS, LOOSE])
    report = verify(cards, jobs=2)
    return cards, {v.card_id: v for v in report.verdicts}


def docstring_cards(cards):
    return [c for c in cards if c.file == DOCSTRINGS]


def test_passes_what_tensorflow_passes(corpus):
    cards, verdicts = corpus
    tf_pass = [c for c in docstring_cards(cards) if "tf-pass" in c.tags]
    failed = [c.id for c in tf_pass if verdicts[c.id].status != "passed"]
    assert len(tf_pass) >= 200, "the corpus lost its docstrings: rerun bench/docstring_cards.py"
    # The cards that fail here, and why tfcards is right (see bench/docstring_cards.py --measure):
    # rounded floats beyond the file's tolerance 1e-6 (math-rsqrt, nn-gelu), NumPy 2's
    # `np.float32(2.0)` where the docstring shows `2.0` (tf-py-function, tf-numpy-function),
    # output the docstring does not show (tf-tensor-scatter-nd-update).
    assert 1 - len(failed) / len(tf_pass) >= 0.95, failed


def test_passes_nothing_tensorflow_fails(corpus):
    """Every tf-fail card fails for a real reason in a card's fresh namespace: names only the
    defining module has (`Dataset`, `repeat`, `unicode_encode`, `ERROR`), Keras 3's KerasTensor
    in tf.shape, `tf.print` writing to stderr, an output that is wrong in its integers."""
    cards, verdicts = corpus
    tf_fail = [c for c in docstring_cards(cards) if "tf-fail" in c.tags]
    assert tf_fail, "TensorFlow's checker fails nothing: retag with bench/docstring_cards.py"
    assert [c.id for c in tf_fail if verdicts[c.id].status == "passed"] == []


LOOSE_IDS = [c.id for c in load_cards([LOOSE])]


@pytest.mark.parametrize("card_id", LOOSE_IDS)
def test_loose_card_fails_here_and_passes_tensorflow(corpus, card_id):
    cards, verdicts = corpus
    card, verdict = next(c for c in cards if c.id == card_id), verdicts[card_id]
    assert verdict.status == "failed", "tfcards accepted a wrong claim"
    assert verdict.reason == "output differs from 'output'", (verdict.reason, verdict.detail)
    # Each card is one example, so its whole output is what doctest compares.
    assert tf_checker().check_output(card.output, verdict.stdout, TF_FLAGS), \
        f"TensorFlow's checker no longer accepts it: the card shows no looseness\n{verdict.stdout}"


def test_loose_cards_cover_every_looseness():
    assert len(LOOSE_IDS) >= 6
    for word in ("header-dtype", "text-next-to-float", "absolute-tolerance", "count-of-numbers"):
        assert any(word in i for i in LOOSE_IDS), word
