"""The format's comparison rules, as pure functions: each rule a pair, what it forgives and what
it still catches; and the `...` matcher, bounded in time, against the regex it replaced."""
import random
import re

import pytest

from generator import compare
from generator.compare import NUMBER, canonical, diff, matches

REPR = "<tf.Tensor: shape=(5,), dtype=int32, numpy=array([2, 3, 4, 5, 6], dtype=int32)>"


@pytest.mark.parametrize("expected, actual, tolerance", [
    ("a\nb", "a  \nb\t\n", None),
    ("\n\na\n\n", "a", None),
    ("tf.Tensor(...)", "tf.Tensor(\n[1 2],\n shape=(2,))", None),
    ("dtype int32...", "dtype int32 for Tensor", None),  # a digit right before the ellipsis
    ("shape=(2,)...", "shape=(2,) dtype", 1e-3),
    ("...", "", None),
    ("a ... c", "a b c", None),
    ("[0.3333333 1.5]", "[0.33333334 1.5]", 1e-6),
    ("x = 0.0", "x = 1e-9", 1e-6),
    ("nan, -1.0e+2", "nan, -100.", 1e-9),  # a float in another notation (`-100` would be an int)
    ("float32 ... 2.0", "float32 anything 2.0000001", 1e-6),
], ids=str)
def test_matches(expected, actual, tolerance):
    assert matches(expected, actual, tolerance)


@pytest.mark.parametrize("expected, actual, tolerance", [
    ("a", "b", None),
    ("shape=()", "size=()", None),
    ("1.0", "1.00", None),  # without tolerance numbers are text
    ("a...c", "a b d", None),
    ("[0.333 1.5]", "[0.334 1.5]", 1e-6),
    ("nan", "1.0", 1e-3),
    ("int32", "float32", 1e-3),
    ("4.0", "4", 1e-3),  # a Python float is not an int
    ("(1+2j)", "(1+2)", 1e-3),  # an imaginary part is not a real one
], ids=str)
def test_mismatches(expected, actual, tolerance):
    assert not matches(expected, actual, tolerance)


# Each rule of the comparison table in docs/card-format.md: (rule, forgiven, caught), where
# forgiven and caught are (expected, actual, tolerance) triples.
RULES = [
    ("a line wrapped by hand",
     (REPR.replace("6], ", "6],\n"), REPR, None),
     (REPR.replace("6], ", "6],\n"), REPR.replace("int32)>", "int64)>"), None)),
    ("indented continuation lines",
     ("[[1 2]\n     [3 4]]", "[[1 2]\n [3 4]]", None),
     ("[[1 2]\n     [3 4]]", "[[1 2]\n [3 5]]", None)),
    ("column spacing",
     ("[ 1 10]", "[1  10]", None),
     ("[ 1 10]", "[1 100]", None)),
    ("blank lines between 2-D slices",
     ("[[[1]]\n\n [[2]]]", "[[[1]]\n [[2]]]", None),
     ("[[[1]]\n\n [[2]]]", "[[[1]] [[3]]]", None)),
    ("padding next to brackets",
     ("[ 1.5 ]", "[1.5]", None),
     ("[ 1.5 ]", "[1.25]", None)),
    ("padding next to = and ,",
     ("shape = (2 , 3)", "shape=(2, 3)", None),
     ("shape = (2 , 3)", "shape=(3, 2)", None)),
    ("words stay apart",
     ("float 32", "float  32", None),
     ("float 32", "float32", None)),
    ("ellipsis across lines",
     ("Traceback ...\nValueError: x", "Traceback (most recent call last):\n  ...\nValueError: x", None),
     ("Traceback ...\nValueError: x", "Traceback (most recent call last):\nTypeError: x", None)),
    ("NumPy re-pads a column when one value gains digits",
     ("[4.        1.5]", "[4.0000001 1.5      ]", 1e-6),
     ("[4.        1.5]", "[4.001     1.5      ]", 1e-6)),
    ("tolerance is relative",
     ("1000.0", "1000.0001", 1e-6),
     ("0.0001", "0.001", 1e-3)),
    ("an expected zero takes an absolute tolerance",
     ("0.0", "1e-9", 1e-6),
     ("0.0", "1e-3", 1e-6)),
    ("-0. and 0. are equal, as in NumPy",
     ("[-0.  1.]", "[0. 1.]", 1e-6),
     ("[-0.  1.]", "[0. -1.]", 1e-6)),
    ("nan matches only nan, inf only inf of its sign",
     ("[nan inf]", "[nan inf]", 1e-6),
     ("[nan inf]", "[nan -inf]", 1e-6)),
    ("the tensor repr's header is never loosened",
     ("<tf.Tensor: shape=(), dtype=int32, numpy=4>", "<tf.Tensor: shape=(), dtype=int32, numpy=4>", 1e-3),
     ("<tf.Tensor: shape=(), dtype=int64, numpy=4>", "<tf.Tensor: shape=(), dtype=int32, numpy=4>", 1e-3)),
    ("text next to a number is compared",
     ("1.0", "1.0000001", 1e-3),
     ("1.0", "tf.Tensor(1.0, shape=(), dtype=float32)", 1e-3)),
    ("the count of numbers is compared",
     ("[1.0, 2.0]", "[1.0000001, 2.0]", 1e-3),
     ("[1.0, 2.0]", "[1.0, 7, 2.0]", 1e-3)),
    ("integers are exact even with a tolerance (shapes, counts)",
     ("shape=(1000,) 0.5", "shape=(1000,) 0.5000001", 1e-2),
     ("shape=(1000,) 0.5", "shape=(1001,) 0.5", 1e-2)),
    ("an imaginary part is a number too",
     ("[1.+2.5j]", "[1.0000001+2.5000001j]", 1e-6),
     ("[1.+2.5j]", "[1.+2.6j]", 1e-6)),
    ("an integer matches only an integer, a float only a float",
     ("[4 1] 0.5", "[4 1] 0.5000001", 1e-6),
     ("[4 1] 0.5", "[4. 1.] 0.5", 1e-6)),
    ("digits inside a dtype name are not numbers",
     ("int32 1.0", "int32 1.0001", 1.0),
     ("int32 1.0", "int64 1.0", 1.0)),
]


@pytest.mark.parametrize("rule, forgiven, caught", RULES, ids=[r[0] for r in RULES])
def test_each_rule_forgives_layout_and_catches_claims(rule, forgiven, caught):
    assert matches(*forgiven), f"{rule}: should pass"
    assert not matches(*caught), f"{rule}: should fail"


def test_exact_whitespace_keeps_layout():
    assert matches("[1 2]\n[3 4]", "[1 2]  \n[3 4]\n", whitespace="exact")  # trailing space only
    assert not matches("[1 2]\n[3 4]", "[1 2] [3 4]", whitespace="exact")
    assert not matches("[1 2]", "[1  2]", whitespace="exact")
    assert matches("[1 2]", "[1  2]", whitespace="normalize")


def test_exact_whitespace_with_tolerance_forgives_numpy_padding_only():
    assert matches("x = [4.       ]", "x = [4.0000001]", 1e-6, "exact")
    assert not matches("[4.]\n[1.]", "[4.] [1.]", 1e-6, "exact")  # a line break is layout here
    assert not matches("[1 2]", "[12]", 1e-6, "exact")


def test_canonical_is_what_normalize_compares():
    assert canonical("numpy=array([2, 3],\n      dtype=int32)>") == "numpy=array([2,3],dtype=int32)>"
    assert canonical("a\n\n\n  b") == "a b"


def test_diff_is_unified():
    assert diff("a\nb", "a\nc").splitlines() == ["--- expected", "+++ actual", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]


# --- the `...` matcher: the regex's verdicts, in bounded time ---------------------------------

def regex_matches(expected, actual, tolerance=None, whitespace="normalize"):
    """The matcher as it was (commit 632ae3d): a backtracking regex, `.*?` for each `...`,
    numbers as groups compared after the first match. Exponential on crafted input; the
    reference the new matcher must agree with."""
    expected, actual = canonical(expected, whitespace), canonical(actual, whitespace)
    if tolerance is None and "..." not in expected:
        return expected == actual
    segments = expected.split("...")
    if whitespace == "normalize":
        last = len(segments) - 1
        segments = [s.lstrip(" ") if i else s for i, s in enumerate(segments)]
        segments = [s.rstrip(" ") if i < last else s for i, s in enumerate(segments)]
    numbers = []

    def literal(text):
        if whitespace != "exact":
            return re.escape(text)
        return "".join("[ \t]*" if chunk.isspace() and chunk.strip(" \t") == "" else re.escape(chunk)
                       for chunk in re.split(r"([ \t]+)", text))

    def pattern(text):
        if tolerance is None:
            return re.escape(text)
        parts, pos = [], 0
        for m in re.finditer(NUMBER, text):
            parts += [literal(text[pos:m.start()]), f"({NUMBER})"]
            numbers.append(m.group())
            pos = m.end()
        return "".join(parts) + literal(text[pos:])

    m = re.compile(".*?".join(pattern(s) for s in segments), re.S).fullmatch(actual)
    return m is not None and all(compare._close(w, g, tolerance) for w, g in zip(numbers, m.groups()))


NUMS = ["1", "1.5", "-2", "3.", ".5", "1e3", "2.5e-1", "2j", "nan", "inf", "1.50001", "3.5e7", "12", "0.", "-0.0"]
TEXT = ["a", "e", "j", " ", "  ", "\t", ",", "[", "]", ".", "-", "+", "..", "\n", "x y", ".5e", "e-", "("]


def cases(seed, count):
    """Expected outputs of numbers, text and `...`, each against an output made from it (its
    ellipses filled, some numbers changed) or against unrelated text."""
    rng = random.Random(seed)
    for _ in range(count):
        expected = "".join(rng.choice(NUMS) if rng.random() < .4 else "..." if rng.random() < .3
                           else rng.choice(TEXT) for _ in range(rng.randint(1, 8)))
        if rng.random() < .8:
            actual = "".join(
                "".join(rng.choice(NUMS + TEXT) for _ in range(rng.randint(0, 3))) if part == "..." else
                re.sub(NUMBER, lambda m: rng.choice([m.group(), m.group(), rng.choice(NUMS)]), part)
                for part in re.split(r"(\.\.\.)", expected))
        else:
            actual = "".join(rng.choice(NUMS + TEXT + ["..."]) for _ in range(rng.randint(0, 9)))
        yield expected, actual, rng.choice([None, 1e-6, 0.5]), rng.choice(["normalize", "exact"])


@pytest.mark.parametrize("seed", range(2))
def test_same_verdicts_as_the_regex_it_replaced(seed):
    """Why they agree: without tolerance both ask whether the pieces between `...` occur in
    order (doctest's find is the regex's first match). With it, the new matcher walks the
    regex's own choices in the regex's order and only skips states that already failed, so its
    first match, and the numbers it compares, are the regex's."""
    verdicts = [(case, regex_matches(*case), matches(*case)) for case in cases(seed, 3000)]
    assert [(case, old) for case, old, new in verdicts if old != new] == []
    assert 0.3 < sum(old for _, old, _ in verdicts) / len(verdicts) < 0.8  # both kinds are tested


@pytest.mark.parametrize("expected, actual, tolerance, verdict", [
    ("3...", "3.5", 0.1, False),  # the first match compares 3 with 3.5, though `3` + `.5` fits
    ("3.5e...", "3.5e7 x", 1e-6, True),  # `3.5e7` is no number here: `3` then `.5e`
    ("...1.0 y...", "9.0 y 1.0 y", 1e-6, False),  # the first `y` decides, as it always did
    ("a1 ... 2", "a1  \t 2", 1e-6, True),
], ids=str)
def test_the_first_match_decides(expected, actual, tolerance, verdict):
    assert regex_matches(expected, actual, tolerance) is verdict
    assert matches(expected, actual, tolerance) is verdict


@pytest.mark.parametrize("expected, actual, tolerance, whitespace", [
    ("a..." * 40 + "b", "a" * 3000, None, "normalize"),  # the case: took minutes
    ("a..." * 40 + "b", "a" * 3000, 1e-6, "normalize"),
    ("1..." * 40 + "x", "1 " * 3000, 1e-6, "normalize"),
    ("1 ..." * 40 + "x", "1 " * 3000, 1e-6, "exact"),
    ("... ...x", " " * 100_000, 1e-6, "exact"),
    ("...1..." * 200, "1 " * 50_000 + "x", 1e-6, "normalize"),
], ids=["literal", "literal-with-tolerance", "numbers", "exact-blanks", "blank-run", "many-gaps"])
def test_crafted_ellipses_are_settled_in_few_steps(expected, actual, tolerance, whitespace, monkeypatch):
    """Steps, not seconds: each of these took the regex longer than anyone waits."""
    monkeypatch.setattr(compare, "MAX_STEPS", 20_000)
    assert matches(expected, actual, tolerance, whitespace) is expected.startswith("...1...")


def test_a_match_that_needs_too_many_steps_is_refused(monkeypatch):
    """One long segment tried at every number of the output: steps grow with both lengths, so
    the budget stops it and says why."""
    monkeypatch.setattr(compare, "MAX_STEPS", 20_000)
    with pytest.raises(compare.Unmatchable, match="more than 20,000 steps"):
        matches("..." + "1, " * 500 + "x", "1, " * 3000, 1e-6)
