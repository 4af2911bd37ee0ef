"""Deck files written to hang tfcards: each gets its verdict or its one-line error in time.

Every case runs the CLI in a subprocess with a timeout: a regex that backtracks holds the
interpreter, so only a process boundary can tell "slow" from "never". The bound is generous
(a loaded machine, Python's start-up); before these fixes each case took minutes to hours.
Cases whose card has code get its outcome from the cache (signed with the test user's key):
what is timed is tfcards reading and judging what the card printed, not TensorFlow starting.
"""
from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest

from generator import checks, compare
from generator.cache import Cache, card_key
from generator.cards import CLOZE_RE, clozes, sub_clozes
from generator.interpreter import probe
from generator.load import MAX_CLOZES, MAX_FIELD, MAX_FILE, load_cards
from generator.runner import DEFAULT_MEMORY

ROOT = Path(__file__).parent.parent
TIMEOUT = 60  # seconds; the fixed cases take about one on a quiet machine


def tfcards(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([sys.executable, "-m", "generator.cli", *args], cwd=cwd, capture_output=True,
                              text=True, timeout=TIMEOUT, env=dict(os.environ, PYTHONPATH=str(ROOT), CI="1"))
    except subprocess.TimeoutExpired:
        pytest.fail(f"tfcards {' '.join(args)} gave no answer within {TIMEOUT} s")


def deck(root: Path, *cards: dict, name: str = "hostile") -> Path:
    """A topic file of CARDS, written as JSON (which is YAML) so any text goes in verbatim."""
    (root / "cards").mkdir(exist_ok=True)
    topic = {"topic": "Hostile", "cards": [{"front": "q", "back": "a", **c} for c in cards]}
    (root / "cards" / f"{name}.yaml").write_text(json.dumps(topic, indent=1))
    return root


def ran(root: Path, card_id: str, stdout: str) -> None:
    """Remember that card CARD_ID's code printed STDOUT, as a run would have."""
    card = next(c for c in load_cards([root / "cards"]) if c.id == card_id)
    outcome = {"key": card_id, "status": "completed", "stdout": stdout, "stderr": "", "seconds": 0.1,
               "exception": None, "warnings": []}
    Cache(root / "cache").put(card_key(card, DEFAULT_MEMORY, probe()), outcome)


def verdicts(root: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    proc = tfcards(root, "verify", "--cache-dir", "cache", "--report", "report.json", *args)
    rows = json.loads((root / "report.json").read_text())["cards"] if (root / "report.json").exists() else []
    return proc, {row["id"]: row for row in rows}


# --- the `...` matcher ------------------------------------------------------------------------

MANY_AS = "a" * 3000 + "\n"
ELLIPSES = {  # (output, tolerance, what the card printed, its verdict, the reason)
    "the-issue's-case": ("a..." * 40 + "b", None, MANY_AS, "failed", "output differs from 'output'"),
    "with-tolerance": ("a..." * 40 + "b", 1e-6, MANY_AS, "failed", "output differs from 'output'"),
    "numbers": ("1..." * 40 + "x", 1e-6, "1 " * 3000, "failed", "output differs from 'output'"),
    "numbers-that-match": ("1..." * 40 + "1", 1e-6, "1 " * 3000, "passed", ""),
    "too-ambiguous": ("..." + "1, " * 500 + "x", 1e-6, "1, " * 3000, "failed",
                      "cannot be checked: its `...` and numbers need more than 200,000 steps to match this "
                      "output (fewer `...`, or longer text between them)"),
}


@pytest.mark.parametrize("output, tolerance, printed, status, reason", ELLIPSES.values(), ids=ELLIPSES.keys())
def test_crafted_ellipses_get_their_verdict_in_time(tmp_path, output, tolerance, printed, status, reason):
    card = {"id": "many", "code": "print(...)", "output": output}
    deck(tmp_path, {**card, "tolerance": tolerance} if tolerance else card)
    ran(tmp_path, "many", printed)
    proc, rows = verdicts(tmp_path)
    assert (rows["many"]["status"], rows["many"]["reason"]) == (status, reason), proc.stderr
    assert proc.returncode == (1 if status == "failed" else 0) and "Traceback" not in proc.stderr


# --- what the loader and the strict checks read -----------------------------------------------

def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    return lines[0]


LOAD_ERRORS = {  # the card, and the one error line it gets
    "cloze-openings-never-closed": (
        {"id": "c", "type": "cloze", "front": "{{c1::" * 10_000},
        "error: cards/hostile.yaml:5: card 'c': a cloze card's 'front' needs at least one {{c1::...}} deletion"),
    "cloze-openings-50000": (
        {"id": "c", "type": "cloze", "front": "{{c1::" * 50_000},
        "error: cards/hostile.yaml:5: card 'c': 'front' is 300,000 characters long; a field holds at most "
        f"{MAX_FIELD:,} (64 KiB): split the card"),
    "cloze-deletions-5000": (
        {"id": "c", "type": "cloze", "front": "".join(f"{{{{c{i}::a}}}}" for i in range(1, 5001))},
        f"error: cards/hostile.yaml:5: card 'c': a cloze card's 'front' has 5,000 deletions; at most {MAX_CLOZES} "
        "(split the card)"),
    "long-back": (
        {"id": "c", "back": "`" * (MAX_FIELD + 1)},
        f"error: cards/hostile.yaml:6: card 'c': 'back' is 65,537 characters long; a field holds at most "
        f"{MAX_FIELD:,} (64 KiB): split the card"),
}


@pytest.mark.parametrize("command", ["list", "verify"])
@pytest.mark.parametrize("card, error", LOAD_ERRORS.values(), ids=LOAD_ERRORS.keys())
def test_crafted_text_gets_its_load_error_in_time(tmp_path, command, card, error):
    deck(tmp_path, card)
    assert one_line_error(tfcards(tmp_path, command)) == error


CRAFTED = {  # a card whose text made a pattern of the loader or of the strict checks backtrack
    "cloze-openings-closed-once": {"type": "cloze", "front": "{{c1::" * 10_000 + "}}"},
    "backticks": {"back": "`" * 60_000},
    "backtick-runs-shrinking": {"back": " ".join("`" * k for k in range(340, 0, -1))},
    "fences-never-closed": {"back": "~~~x\n" * 13_000},
    "list-item-and-backticks": {"back": "- " + "`a" * 30_000},
}


@pytest.mark.parametrize("card", CRAFTED.values(), ids=CRAFTED.keys())
def test_crafted_text_is_loaded_and_checked_in_time(tmp_path, card):
    deck(tmp_path, {"id": "c", **card})
    listed = tfcards(tmp_path, "list")
    assert listed.returncode == 0 and "1 card in 1 topic" in listed.stdout, listed.stderr[-2000:]
    proc, rows = verdicts(tmp_path, "--strict")
    assert rows["c"]["status"] in ("no-code", "failed") and "Traceback" not in proc.stderr, proc.stderr[-2000:]


JUDGED = {  # (card, what its code printed): judging and the strict checks read both
    "value-list-in-the-answer": ({"back": "`[" + "eeeeee=" * 24 + "x]`", "output": "1"}, "1\n"),
    "call-after-a-long-word": ({"back": "`[" + "e" * 60_000 + "=]`", "output": "1"}, "1\n"),
    "spaces-in-the-output-field": ({"output": "[1" + " " * 60_000 + "2]"}, "[1 2]\n"),
    "a-mebibyte-of-spaces-printed": ({"output": "x"}, " " * (1 << 20) + "x\n"),
    "blank-lines-printed": ({"output": "x"}, "\n" * 500_000 + "x\n"),
    "digits-printed": ({"back": "It prints `1`.", "output": "1..."}, "1" + "1" * 500_000 + "x " + "1." * 250_000),
}


@pytest.mark.parametrize("card, printed", JUDGED.values(), ids=JUDGED.keys())
def test_crafted_outputs_are_judged_in_time(tmp_path, card, printed):
    deck(tmp_path, {"id": "c", "code": "print(...)", **card})
    ran(tmp_path, "c", printed)
    proc, rows = verdicts(tmp_path, "--strict")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert rows["c"]["status"] in ("passed", "failed")


# --- files ------------------------------------------------------------------------------------

def test_yaml_aliases_are_refused_before_they_multiply(tmp_path):
    """A few hundred bytes that would stand for 10,000 cards of 10,000 tags each."""
    (tmp_path / "cards").mkdir()
    tags = "[" + ", ".join(["t"] * 10_000) + "]"
    (tmp_path / "cards" / "bomb.yaml").write_text(
        f"topic: Bomb\ntags: &t {tags}\ncard: &c {{id: c, front: q, back: a, tags: *t}}\n"
        "cards: [" + ", ".join(["*c"] * 10_000) + "]\n")
    for command in ("list", "verify"):
        assert one_line_error(tfcards(tmp_path, command)) == (
            "error: cards/bomb.yaml:3: a YAML alias repeats the node anchored here: aliases are not supported "
            "(a topic file's own keys give its cards defaults)")


def test_a_topic_file_has_a_size_bound(tmp_path):
    (tmp_path / "cards").mkdir()
    big = tmp_path / "cards" / "big.yaml"
    big.write_text("topic: Big\n# " + "x" * MAX_FILE + "\ncards: [{id: c, front: q, back: a}]\n")
    assert one_line_error(tfcards(tmp_path, "list")) == (
        f"error: cards/big.yaml: the file is {big.stat().st_size:,} bytes; a topic file holds at most "
        f"{MAX_FILE:,} (split it into several topics)")


# --- the linear scanners find what the regexes they replaced found ----------------------------

OLD_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
OLD_FENCE = re.compile(r"^( {0,3})(```|~~~)[^\n]*\n(.*?)^\1\2[ \t]*$", re.S | re.M)
OLD_VALUES = re.compile(r"[\[(](?:[\s\d.,eE+\-\[\]()'\"]|None|True|False|\w+=)*[\])]")
OLD_CALL = re.compile(r"[A-Za-z_]\w*\(")
OLD_PUNCT_SPACE = re.compile(r"\s*([\[\](){},=])\s*")


def old_normalize(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def texts(rng: random.Random, pieces: list[str], most: int, count: int = 4000):
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, most))) for _ in range(count)]


def test_scanners_agree_with_the_regexes_they_replaced():
    """Small random texts, where the old regexes are quick: the same spans, the same verdicts."""
    rng = random.Random(24)
    for t in texts(rng, ["`", "`", "``", "a", " ", "\n"], 14):
        assert checks.code_spans(t) == [(m.start(), m.end(), m.group(2)) for m in OLD_CODE_SPAN.finditer(t)], t
    for t in texts(rng, ["```", "~~~", " ", "  ", "    ", "x", "\n", "\n", "\t", "`"], 16):
        assert checks.fences(t) == [m.span() for m in OLD_FENCE.finditer(t)], t
    for t in texts(rng, ["e", "E", "1", "x", "=", "None", "True", "[", "]", "(", ")", " ", ",", "'", "_", "é", "٣",
                         "a("], 8):
        span = "[" + t + "]"
        assert bool(checks.VALUES_RE.fullmatch(span)) == bool(OLD_VALUES.fullmatch(span)), span
        assert bool(checks.CALL_RE.search(span)) == bool(OLD_CALL.search(span)), span
    for t in texts(rng, [" ", "\n", "\t", "[", "]", ",", "=", "a", "1", "\u2003"], 10):
        assert compare.tight(t) == OLD_PUNCT_SPACE.sub(r"\1", t), t
        assert compare.normalize(t) == old_normalize(t), t
    for t in texts(rng, ["{{c1::", "{{c2::", "}}", "::", "a", "}", ":", "{{c", "1", "\n"], 10):
        assert [(m.span(), m.groups()) for m in clozes(t)] == [(m.span(), m.groups()) for m in CLOZE_RE.finditer(t)]
        assert sub_clozes(str, t) == CLOZE_RE.sub(str, t)
