"""The format's output rules: whitespace-tolerant text, `...` ellipsis, numeric tolerance."""
from __future__ import annotations

import difflib
import math
import re

NUMBER = r"[-+]?(?:(?:\d+\.(?!\.)\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf)"  # "32..." is 32 + ellipsis
_TOKENS = re.compile(r"(\.\.\.)|(" + NUMBER + ")")


def normalize(text: str) -> str:
    """Drop trailing whitespace on each line and leading/trailing blank lines."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def matches(expected: str, actual: str, tolerance: float | None = None) -> bool:
    """Whether ACTUAL satisfies EXPECTED under the format's comparison rules."""
    expected, actual = normalize(expected), normalize(actual)
    if tolerance is None and "..." not in expected:
        return expected == actual
    parts, numbers = [], []
    pos = 0
    for m in _TOKENS.finditer(expected):
        if m.group(2) is not None and tolerance is None:
            continue  # without tolerance numbers are plain text
        parts.append(re.escape(expected[pos:m.start()]))
        if m.group(1):
            parts.append(".*?")
        else:
            parts.append(f"({NUMBER})")
            numbers.append(float(m.group(2)))
        pos = m.end()
    parts.append(re.escape(expected[pos:]))
    pattern = re.compile("".join(parts), re.S)
    m = pattern.fullmatch(actual)
    return m is not None and _close(numbers, m.groups(), tolerance)


def _close(expected: list[float], actual: tuple[str, ...], tolerance: float | None) -> bool:
    for want, got in zip(expected, actual):
        got_f = float(got)
        if math.isnan(want) or math.isnan(got_f):
            if not (math.isnan(want) and math.isnan(got_f)):
                return False
        elif not math.isclose(want, got_f, rel_tol=tolerance or 0.0, abs_tol=tolerance if want == 0 else 0.0):
            return False
    return True


def diff(expected: str, actual: str) -> str:
    """A unified diff of the normalized texts, for the failure report."""
    return "\n".join(difflib.unified_diff(normalize(expected).split("\n"), normalize(actual).split("\n"),
                                          "expected", "actual", lineterm=""))
