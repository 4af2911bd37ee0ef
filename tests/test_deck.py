"""The shipped deck: it loads, it is big and varied enough, and every card in it is true."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from generator.load import load_cards, topic_files
from generator.verify import verify

CARDS = Path(__file__).parent.parent / "cards"


@pytest.fixture(scope="module")
def deck():
    return load_cards([CARDS])


@pytest.fixture(scope="module")
def report(deck):
    return verify(deck, jobs=2, strict=True)


def test_deck_is_large_and_varied(deck):
    assert len(deck) >= 320
    assert len(topic_files([CARDS])) >= 18 and len({c.topic for c in deck}) >= 18
    assert sum(c.code is not None for c in deck) >= 0.9 * len(deck)
    kinds = Counter(c.type for c in deck)
    assert kinds["cloze"] >= 10 and kinds["reverse"] >= 10
    assert sum(c.raises is not None for c in deck) >= 5, "common mistakes shown with their errors"


def test_deck_covers_what_interviews_ask_in_the_shares_issue_17_sets(deck):
    """At least 550 cards in 30 topics; the deep corners kept small; pictures drawn by the code."""
    assert len(deck) >= 550 and len({c.topic for c in deck}) >= 30
    share = lambda *topics: sum(c.topic in topics for c in deck) / len(deck)  # noqa: E731
    assert share("Ragged and sparse tensors") <= 0.03
    assert share("Graphs, placeholders and sessions", "Migrating TF1 code to TF2") <= 0.06
    assert sum(c.figure is not None for c in deck) >= 12
    assert sum(bool(c.extra) for c in deck) >= 0.5 * len(deck)  # context beside the one fact asked


def test_few_cards_answer_which_exception(deck):
    """Interviews probe concepts, not exception classes: at most 15% of the deck may answer one."""
    from generator.checks import answer_spans, value_kind

    names_one = [c.id for c in deck if any(value_kind(s) == "exception" for s in answer_spans(c))]
    assert len(names_one) <= 0.15 * len(deck), names_one


def test_no_two_cards_ask_the_same_question(deck):
    from generator.checks import question_key

    asked = Counter(question_key(c) for c in deck)
    assert not [q for q, n in asked.items() if n > 1]


def test_every_topic_file_has_cards_and_ids_are_unique(deck):
    assert len({c.id for c in deck}) == len(deck)
    per_file = Counter(c.file for c in deck)
    assert set(per_file) == set(topic_files([CARDS]))
    assert min(per_file.values()) >= 5


@pytest.mark.parametrize("topic", [
    "Tensors and dtypes", "Variables", "Eager and graph execution", "Graphs, placeholders and sessions",
    "Type checks and conversion", "Automatic differentiation", "tf.data", "Keras model basics",
    "Saving models", "Post-training quantization", "Custom training loops", "Subclassing layers and models",
    "Losses, metrics, optimizers and callbacks", "Distribution strategies", "tf.data performance and TFRecord",
    "Mixed precision", "tf.function in depth", "SavedModel for serving", "Randomness and seeds",
    "Ragged and sparse tensors", "Migrating TF1 code to TF2",
])
def test_required_topics_are_covered(deck, topic):
    assert sum(c.topic == topic for c in deck) >= 12, topic


def test_every_shipped_card_is_verified_true_and_passes_the_strict_checks(deck, report):
    failed = {v.card_id: f"{v.reason}\n{v.detail}" for v in report.verdicts if v.status == "failed"}
    assert not failed, failed


def test_the_articles_wrong_claims_are_corrected(deck, report):
    cards = {c.id: c for c in deck}
    verdicts = {v.card_id: v for v in report.verdicts}
    repr_card = cards["constant-repr"]
    assert "shape=()" in repr_card.output and "size=()" not in repr_card.output
    assert verdicts["constant-repr"].stdout.strip() == "tf.Tensor(4, shape=(), dtype=int32)"
    # The article: assigning 4.0 to an int variable raises "TypeError: cannot convert 4.0 of
    # dtype int32 to EagerTensor". The verified card states TensorFlow's real error.
    float_to_int = cards["variable-assign-float-to-int"]
    assert float_to_int.raises and "cannot convert 4.0 of dtype int32" not in float_to_int.raises
    article = [c for c in deck if "article" in c.tags]
    assert len(article) >= 8
    assert all(verdicts[c.id].status in ("passed", "no-code") for c in article)


def test_quantization_cards_convert_a_real_model(deck):
    quant = [c for c in deck if c.topic == "Post-training quantization" and c.code]
    assert any("representative_dataset" in (c.setup or "") + c.code for c in quant)
    assert any("tf.float16" in (c.setup or "") + c.code for c in quant)
    assert any("TFLiteConverter" in (c.setup or "") + c.code for c in quant)


def test_committed_anki_stamps_are_current(deck, report, tmp_path):
    """cards/anki-stamps.json must match the cards, or a fresh clone's build rewrites it and
    users' re-imports depend on who built the deck: rebuild (`tfcards build`) and commit it."""
    from shutil import copyfile

    from generator import figures
    from generator.anki import write_apkg

    stamps = tmp_path / "anki-stamps.json"
    copyfile(CARDS / "anki-stamps.json", stamps)
    drawn = {c.id: figures.decode(report.outcomes.get(c.id)) for c in deck if c.figure is not None}  # as build does
    assert len(drawn) >= 12 and all(drawn.values()), "every figure card drew its figure"
    write_apkg(deck, tmp_path / "deck.apkg", tf_version=report.tensorflow, stamps_path=stamps, figures=drawn)
    assert stamps.read_text() == (CARDS / "anki-stamps.json").read_text()
