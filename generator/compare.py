"""The format's output rules: layout-blind text, `...` ellipsis, opt-in relative tolerance.

Why not TensorFlow's own doctest checker: it is loose where a flashcard makes its claim. It
drops a tensor repr's `shape=`/`dtype=` header, ignores text next to floats and applies an
absolute 1e-3 everywhere. Here only layout is forgiven (whitespace, NumPy's padding); every
other character is compared, and numbers are compared as numbers only when the card asks.
"""
from __future__ import annotations

import difflib
import math
import re

WHITESPACE_MODES = ("normalize", "exact")
# "32..." is 32 followed by an ellipsis; "int32" and "x1" hold no number (a letter before it).
# A trailing `j` makes an imaginary part: NumPy's `1.+2.5j`, Python's `(1+2j)`.
NUMBER = (r"(?<![\w.])[-+]?(?:(?:\d+\.(?!\.)\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf)j?(?![\w])")
_NUMBER = re.compile(NUMBER)
_INTEGER = re.compile(r"[-+]?\d+\Z")
_PUNCT_SPACE = re.compile(r"\s*([\[\](){},=])\s*")


def normalize(text: str) -> str:
    """Drop trailing whitespace on each line and leading/trailing blank lines (the `exact` rule)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def canonical(text: str, whitespace: str = "normalize") -> str:
    """TEXT with the layout the WHITESPACE rule ignores taken out.

    `normalize`: any run of whitespace is one space, and none is kept next to brackets,
    commas and `=`, so NumPy's padding, hand-wrapped lines and blank lines between slices
    compare equal.
    """
    text = normalize(text)
    if whitespace == "exact":
        return text
    return re.sub(r"\s+", " ", _PUNCT_SPACE.sub(r"\1", text)).strip()


def matches(expected: str, actual: str, tolerance: float | None = None,
            whitespace: str = "normalize") -> bool:
    """Whether ACTUAL satisfies EXPECTED under the format's comparison rules."""
    expected, actual = canonical(expected, whitespace), canonical(actual, whitespace)
    if tolerance is None and "..." not in expected:
        return expected == actual
    segments = expected.split("...")
    if whitespace == "normalize":  # an ellipsis absorbs the spaces beside it: `Traceback ...`
        last = len(segments) - 1   # also matches `Traceback(most recent call last):`
        segments = [s.lstrip(" ") if i else s for i, s in enumerate(segments)]
        segments = [s.rstrip(" ") if i < last else s for i, s in enumerate(segments)]
    numbers: list[str] = []

    def pattern(text: str) -> str:
        if tolerance is None:  # without tolerance numbers are plain text
            return re.escape(text)
        parts, pos = [], 0
        for m in _NUMBER.finditer(text):
            parts += [_literal(text[pos:m.start()], whitespace), f"({NUMBER})"]
            numbers.append(m.group())
            pos = m.end()
        return "".join(parts) + _literal(text[pos:], whitespace)

    m = re.compile(".*?".join(pattern(s) for s in segments), re.S).fullmatch(actual)
    return m is not None and all(_close(want, got, tolerance) for want, got in zip(numbers, m.groups()))


def _literal(text: str, whitespace: str) -> str:
    """Text between numbers as a pattern. Under `exact` the horizontal padding NumPy puts
    around a number may shrink or grow (`[4.       ]` -> `[4.0000001]`), so spaces are
    flexible; NUMBER's own boundaries still keep two numbers from running together."""
    if whitespace != "exact":
        return re.escape(text)
    return "".join("[ \t]*" if chunk.isspace() and chunk.strip(" \t") == "" else re.escape(chunk)
                   for chunk in re.split(r"([ \t]+)", text))


def _close(want: str, got: str, tolerance: float | None) -> bool:
    """Two number tokens. A number is an integer, a float or an imaginary part, and matches
    only its own kind: `[4 1]` (an int array) is not `[4. 1.]`. Integers are exact (shapes,
    counts, indices are claims); floats and imaginary parts compare relatively, NaN only with
    NaN, -0. equal to 0. as in NumPy."""
    if _kind(want) != _kind(got):
        return False
    if _kind(want) == "int":
        return int(want) == int(got)
    w, g = float(want.removesuffix("j")), float(got.removesuffix("j"))
    if math.isnan(w) or math.isnan(g):
        return math.isnan(w) and math.isnan(g)
    tol = tolerance or 0.0
    return math.isclose(w, g, rel_tol=tol, abs_tol=tol if w == 0 else 0.0)


def _kind(token: str) -> str:
    return "imaginary" if token.endswith("j") else "int" if _INTEGER.match(token) else "float"


def diff(expected: str, actual: str) -> str:
    """A unified diff of the texts as written (trailing whitespace aside), for the failure report."""
    return "\n".join(difflib.unified_diff(normalize(expected).split("\n"), normalize(actual).split("\n"),
                                          "expected", "actual", lineterm=""))
