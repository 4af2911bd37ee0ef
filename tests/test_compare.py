"""The format's comparison rules, as pure functions: each rule a pair, what it forgives and what
it still catches."""
import pytest

from generator.compare import canonical, diff, matches

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
