"""The verifier against real TensorFlow: every output rule and every misbehaviour, each failing alone."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from generator.cache import Cache
from generator.load import load_cards
from generator.verify import verify

from conftest import DATA

ENGINE = DATA / "good" / "engine.yaml"
MEMORY = 512 << 20  # a small cap keeps the memory blow-up card quick

EXPECTED = {
    "repr-shape": "passed",
    "repr-wrong": "failed",
    "uses-setup": "passed",
    "whitespace-rules": "passed",
    "ellipsis": "passed",
    "tolerance-pass": "passed",
    "tolerance-fail": "failed",
    "raises-class": "passed",
    "raises-message": "passed",
    "raises-base-class": "passed",
    "raises-wrong-class": "failed",
    "raises-nothing": "failed",
    "output-and-raises": "passed",
    "unexpected-exception": "failed",
    "seeded": "passed",
    "seeded-tf": "passed",
    "seeded-tf-twin": "passed",
    "disables-eager": "passed",
    "still-eager": "passed",
    "sets-global": "passed",
    "sees-no-global": "passed",
    "writes-files": "passed",
    "hangs": "failed",
    "exits": "failed",
    "segfaults": "failed",
    "floods": "failed",
    "eats-memory": "failed",
    "exits-cleanly": "passed",
    "skipped": "skipped",
    "concept": "no-code",
    "autograph": "passed",
}


@pytest.fixture(scope="session")
def engine_cards():
    return load_cards([ENGINE])


PROGRESS: dict[str, list[str]] = {"started": [], "finished": []}


@pytest.fixture(scope="session")
def engine_report(engine_cards):
    return verify(engine_cards, jobs=2, memory=MEMORY,
                  on_start=lambda card: PROGRESS["started"].append(card.id),
                  progress=lambda card, verdict: PROGRESS["finished"].append(card.id))


def test_progress_hears_each_running_card_once(engine_cards, engine_report):
    """The bar's total is the cards that run: no-code and skipped cards must not tick it."""
    runs = sorted(c.id for c in engine_cards if c.runs)
    assert sorted(PROGRESS["finished"]) == runs
    assert sorted(PROGRESS["started"]) == runs  # each named while it runs, hangs included


def verdicts(report):
    return {v.card_id: v for v in report.verdicts}


@pytest.mark.parametrize("card_id", sorted(EXPECTED))
def test_each_card_gets_its_verdict(engine_report, card_id):
    v = verdicts(engine_report)[card_id]
    assert v.status == EXPECTED[card_id], (v.reason, v.detail, v.stderr[-2000:])
    assert v.status == "passed" or v.reason, "every non-passed card says why"


def test_wrong_output_shows_a_unified_diff(engine_report):
    v = verdicts(engine_report)["repr-wrong"]
    assert v.reason == "output differs from 'output'"
    assert "-tf.Tensor(4, size=(), dtype=int32)" in v.detail
    assert "+tf.Tensor(4, shape=(), dtype=int32)" in v.detail


def test_traceback_names_the_card_file_and_line(engine_report, engine_cards):
    v = verdicts(engine_report)["unexpected-exception"]
    text = ENGINE.read_text().splitlines()
    call = text.index("      helper()") + 1
    body = text.index("          return 1 / 0") + 1
    assert f'engine.yaml", line {call}, in <module>' in v.detail
    assert f'engine.yaml", line {body}, in helper' in v.detail
    assert "<string>" not in v.detail and "zygote" not in v.detail
    assert v.detail.endswith("ZeroDivisionError: division by zero")


@pytest.mark.parametrize("card_id, words", [
    ("hangs", "timed out after 2 s (give the card a larger `timeout:`)"),
    ("exits", "exited with status 3"),
    ("segfaults", "SIGSEGV"),
    ("floods", "too much output"),
    ("eats-memory", "MemoryError"),
    ("raises-wrong-class", "expected TypeError, got ValueError"),
    ("raises-nothing", "nothing was raised"),
    ("tolerance-fail", "output differs"),
])
def test_misbehaviour_reasons(engine_report, card_id, words):
    assert words in verdicts(engine_report)[card_id].reason


def test_flood_keeps_only_a_capped_output(engine_report):
    assert len(verdicts(engine_report)["floods"].stdout) <= 1 << 20


def test_files_written_by_a_card_are_removed(engine_report):
    stdout = verdicts(engine_report)["writes-files"].stdout
    workdir = Path(stdout.splitlines()[1])
    assert workdir.name.startswith("tfcards-card-")
    assert not workdir.exists()
    assert not Path("out.txt").exists()


def test_seeded_tf_cards_print_the_same_numbers(engine_report):
    v = verdicts(engine_report)
    assert v["seeded-tf"].stdout == v["seeded-tf-twin"].stdout != ""


def test_verdicts_do_not_depend_on_order_or_jobs(engine_cards, engine_report):
    shuffled = list(engine_cards)
    random.Random(7).shuffle(shuffled)
    one_job = verify(shuffled, jobs=1, memory=MEMORY)
    for report in (one_job,):
        for card_id, v in verdicts(report).items():
            ref = verdicts(engine_report)[card_id]
            assert (v.status, v.reason) == (ref.status, ref.reason), card_id
            if card_id not in ("writes-files", "floods"):  # a temp path; a kill point
                assert v.stdout == ref.stdout, card_id
    assert [v.card_id for v in one_job.verdicts] == [c.id for c in shuffled]


def test_report_names_the_tensorflow_version(engine_report):
    from importlib.metadata import version
    assert engine_report.tensorflow == version("tensorflow")
