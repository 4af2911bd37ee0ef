"""The outcome cache: hits without TensorFlow, misses on any change that matters, distrust of bad entries."""
from __future__ import annotations

import json
import sys
from dataclasses import replace

import pytest

import generator.verify as verify_module
from generator.cache import Cache, card_key
from generator.interpreter import probe
from generator.load import load_cards
from generator.runner import DEFAULT_MEMORY
from generator.verify import verify

DECK = """
topic: Cache
cards:
  - id: one
    front: q
    back: a
    code: print(tf.constant(1) + 1)
    output: tf.Tensor(2, shape=(), dtype=int32)
  - id: two
    front: q
    back: a
    code: print("two")
    output: two
"""


class NoRunner:
    """Stands in for the fork server to prove a run never needed it (TensorFlow is not touched)."""

    def __init__(self, *a, **k):
        raise AssertionError("a fully cached run started the TensorFlow runner")


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    (root / "cards").mkdir()
    (root / "cards" / "c.yaml").write_text(DECK.lstrip())
    cache = Cache(root / "cache")
    cards = load_cards([root / "cards"])
    first = verify(cards, jobs=2, cache=cache)
    assert [v.status for v in first.verdicts] == ["passed", "passed"]
    assert not any(v.cached for v in first.verdicts)
    return cards, cache


def test_fully_cached_run_needs_no_tensorflow(warm, monkeypatch):
    cards, cache = warm
    monkeypatch.setattr(verify_module, "Runner", NoRunner)
    report = verify(cards, cache=cache)
    assert [(v.status, v.cached) for v in report.verdicts] == [("passed", True), ("passed", True)]
    assert "tensorflow" not in sys.modules


def test_changed_expectation_changes_the_verdict_without_a_run(warm, monkeypatch):
    cards, cache = warm
    monkeypatch.setattr(verify_module, "Runner", NoRunner)
    edited = [replace(cards[0], output="tf.Tensor(3, shape=(), dtype=int32)"), cards[1]]
    report = verify(edited, cache=cache)
    assert [v.status for v in report.verdicts] == ["failed", "passed"]


@pytest.mark.parametrize("change", [
    {"code": 'print("two!")'}, {"setup": "x = 1"}, {"timeout": 30.0},
])
def test_any_change_that_can_alter_the_run_misses(warm, change):
    cards, _ = warm
    here = probe()
    assert card_key(replace(cards[1], **change), DEFAULT_MEMORY, here) != card_key(cards[1], DEFAULT_MEMORY, here)


@pytest.mark.parametrize("what", ["tensorflow", "keras", "python_version", "runner"])
def test_versions_are_part_of_the_key(warm, monkeypatch, what):
    import generator.cache as cache_module
    cards, _ = warm
    here = probe()
    before = card_key(cards[1], DEFAULT_MEMORY, here)
    if what == "runner":
        monkeypatch.setattr(cache_module, "runner_version", lambda: "another")
        assert card_key(cards[1], DEFAULT_MEMORY, here) != before
    else:
        assert card_key(cards[1], DEFAULT_MEMORY, replace(here, **{what: "another"})) != before


def test_a_changed_card_reruns_alone(warm):
    cards, cache = warm
    edited = [cards[0], replace(cards[1], code='print("TWO")', output="TWO")]
    report = verify(edited, cache=cache, jobs=1)
    assert [(v.status, v.cached) for v in report.verdicts] == [("passed", True), ("passed", False)]


@pytest.mark.parametrize("corrupt", [
    "{not json", "[]", '{"key": "someone-else", "outcome": {"status": "completed", "stdout": "two"}}',
    '{"key": "%s", "outcome": {"status": "completed", "stdout": 7}}',
    '{"key": "%s", "outcome": {"status": "timeout", "stdout": "two\\n"}}',
])
def test_corrupt_or_foreign_entries_are_recomputed(tmp_path, warm, corrupt):
    cards, _ = warm
    cache = Cache(tmp_path / "cache")
    key = card_key(cards[1], DEFAULT_MEMORY, probe())
    path = cache._path(key)
    path.parent.mkdir(parents=True)
    path.write_text(corrupt.replace("%s", key))
    assert cache.get(key) is None


def test_entries_round_trip(tmp_path):
    cache = Cache(tmp_path)
    cache.put("k" * 64, {"status": "completed", "stdout": "x", "exception": None})
    assert cache.get("k" * 64)["stdout"] == "x"
    cache.put("t" * 64, {"status": "timeout", "stdout": ""})
    assert cache.get("t" * 64) is None and not list(tmp_path.glob("tt/*"))
    assert json.loads(next(tmp_path.glob("kk/*.json")).read_text())["key"] == "k" * 64
