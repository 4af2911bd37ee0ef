"""The format's comparison rules, as pure functions."""
import pytest

from generator.compare import diff, matches


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
    ("nan, -1.0e+2", "nan, -100", 1e-9),
    ("float32 ... 2.0", "float32 anything 2.0000001", 1e-6),
])
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
])
def test_mismatches(expected, actual, tolerance):
    assert not matches(expected, actual, tolerance)


def test_diff_is_unified():
    assert diff("a\nb", "a\nc").splitlines() == ["--- expected", "+++ actual", "@@ -1,2 +1,2 @@", " a", "-b", "+c"]
