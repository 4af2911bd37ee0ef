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
from dataclasses import dataclass

WHITESPACE_MODES = ("normalize", "exact")
# "32..." is 32 followed by an ellipsis; "int32" and "x1" hold no number (a letter before it).
# A trailing `j` makes an imaginary part: NumPy's `1.+2.5j`, Python's `(1+2j)`.
NUMBER = (r"(?<![\w.])[-+]?(?:(?:\d+\.(?!\.)\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|nan|inf)j?(?![\w])")
_NUMBER = re.compile(NUMBER)
_INTEGER = re.compile(r"[-+]?\d+\Z")
PUNCTUATION = "[](){},="  # whitespace beside these is layout


def normalize(text: str) -> str:
    """Drop trailing whitespace on each line and leading/trailing blank lines (the `exact` rule)."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    kept = [i for i, line in enumerate(lines) if line]  # (popping blank lines one by one: quadratic)
    return "\n".join(lines[kept[0]:kept[-1] + 1]) if kept else ""


def canonical(text: str, whitespace: str = "normalize") -> str:
    """TEXT with the layout the WHITESPACE rule ignores taken out.

    `normalize`: any run of whitespace is one space, and none is kept next to brackets,
    commas and `=`, so NumPy's padding, hand-wrapped lines and blank lines between slices
    compare equal.
    """
    text = normalize(text)
    if whitespace == "exact":
        return text
    return re.sub(r"\s+", " ", tight(text)).strip()


_MARKS = "[" + re.escape(PUNCTUATION) + "]"
_BESIDE = re.compile(rf"(?<!\s)\s++(?={_MARKS})|(?<={_MARKS})\s++")


def tight(text: str) -> str:
    r"""TEXT without the runs of whitespace that touch one of PUNCTUATION: `[1, 2 ]` -> `[1,2]`.

    Was `re.sub(r"\s*([...])\s*", r"\1")`, which reads a run of spaces again from each of its
    spaces (40,000 of them: over a minute). Here a run is only entered at its first character."""
    return _BESIDE.sub("", text)


def matches(expected: str, actual: str, tolerance: float | None = None,
            whitespace: str = "normalize") -> bool:
    """Whether ACTUAL satisfies EXPECTED under the format's comparison rules.

    Raises Unmatchable when EXPECTED's `...` and numbers are too ambiguous to settle within
    MAX_STEPS: matching never takes more than time linear in ACTUAL for a given card.
    """
    expected, actual = canonical(expected, whitespace), canonical(actual, whitespace)
    segments = expected.split("...")
    if whitespace == "normalize":  # an ellipsis absorbs the spaces beside it: `Traceback ...`
        last = len(segments) - 1   # also matches `Traceback(most recent call last):`
        segments = [s.lstrip(" ") if i else s for i, s in enumerate(segments)]
        segments = [s.rstrip(" ") if i < last else s for i, s in enumerate(segments)]
    program: list = []
    for i, segment in enumerate(segments):
        if i and (not program or program[-1] is not _GAP):  # `......` is one gap
            program.append(_GAP)
        # without tolerance numbers are plain text
        program += _tokens(segment, whitespace) if tolerance is not None else [segment] if segment else []
    if not any(t is _SPACE or isinstance(t, _Num) for t in program):
        return _ellipsis_match(segments, actual)
    got = _Search(program, actual).first()
    return got is not None and all(_close(want.text, g, tolerance) for want, g in got)


class Unmatchable(ValueError):
    """An expected output whose `...` and numbers would need more than MAX_STEPS to match."""


def _ellipsis_match(pieces: list[str], actual: str) -> bool:
    """doctest's ellipsis matcher: a left-to-right `find` of each literal piece, linear time.
    Taking each piece at its leftmost place is never wrong: a later place leaves less room."""
    if len(pieces) == 1:
        return pieces[0] == actual
    first, *middle, last = pieces
    if len(first) + len(last) > len(actual) or not actual.startswith(first) or not actual.endswith(last):
        return False
    pos, end = len(first), len(actual) - len(last)
    for piece in middle:
        found = actual.find(piece, pos, end)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


# --- matching with numbers -------------------------------------------------------------------
# Under a tolerance the expected text is a program of tokens: literal text (str), a number
# (_Num: any number in the output, compared afterwards), a run of blanks (_SPACE, `exact` only)
# and an ellipsis (_GAP: any text). The verdict must stay the one the regex
# `seg0 .*? seg1 .*? ... segN` (numbers as groups) gave: its *first* match in backtracking
# order decides which output numbers are compared (`3...` against `3.5` compares 3 with 3.5 and
# fails, though `3` then `.5` would also fit). _Search walks the same choice tree in the same
# order, depth first, but never enters a state (token, position) known to fail: the first
# success is the regex's first match, with the same numbers, and no state is explored twice.
# A gap known to fail from a position fails from any later one (it could skip ahead to the
# same places), and so does the gap before it, since a segment never ends before it starts:
# the ellipses that made the regex take positions ** ellipses steps cost positions here.


@dataclass(frozen=True)
class _Num:
    text: str  # the number as the card wrote it


class _Mark:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


_GAP, _SPACE = _Mark("..."), _Mark("[ \t]*")
# Where a number found at a position by NUMBER (`1.5`) may also end: NUMBER's `\d+` alternative,
# `1` before `.5`. Every other shorter end is followed by a digit, which `(?![\w])` refuses.
_WHOLE = re.compile(r"(?<![\w.])[-+]?\d+(?:[eE][-+]?\d+)?j?(?![\w])")
_BLANKS = re.compile(r"[ \t]*")
MAX_STEPS = 200_000  # under a second; a card of the deck or the TensorFlow corpus needs < 300


def _tokens(text: str, whitespace: str) -> list:
    tokens: list = []
    pos = 0
    for m in _NUMBER.finditer(text):
        tokens += _literal(text[pos:m.start()], whitespace) + [_Num(m.group())]
        pos = m.end()
    return tokens + _literal(text[pos:], whitespace)


def _literal(text: str, whitespace: str) -> list:
    """Text between numbers. Under `exact` the horizontal padding NumPy puts around a number
    may shrink or grow (`[4.       ]` -> `[4.0000001]`), so a run of blanks is _SPACE;
    NUMBER's own boundaries still keep two numbers from running together."""
    if whitespace != "exact":
        return [text] if text else []
    return [_SPACE if chunk.strip(" \t") == "" else chunk
            for chunk in re.split(r"([ \t]+)", text) if chunk]


class _Search:
    """The first match of a token program against one output, as the regex would find it."""

    def __init__(self, program: list, actual: str) -> None:
        self.program, self.actual = program, actual
        self.failed: set[tuple[int, int]] = set()
        never = len(actual) + 1
        self.gap_fails = [never] * len(program)  # gap token -> from here on it cannot succeed
        self.next_gap = [len(program)] * (len(program) + 1)  # the index past the last gap
        self.gap_fails.append(never)
        for t in range(len(program) - 1, -1, -1):
            self.next_gap[t] = t if program[t] is _GAP else self.next_gap[t + 1]
        self.steps = 0

    def first(self) -> list[tuple[_Num, str]] | None:
        """The (expected, output) number pairs of the first match, or None if nothing matches."""
        n, end = len(self.actual), len(self.program)
        if not end:
            return [] if n == 0 else None
        stack = [[0, 0, self._choices(0, 0), -1]]  # token, position, its choices, the one taken
        while stack:
            frame = stack[-1]
            nxt = next(frame[2], None)
            t = frame[0]
            if nxt is None:
                stack.pop()
                if self.program[t] is _GAP:
                    self.gap_fails[t] = frame[1]  # every start from here on was tried
                else:
                    self.failed.add((t, frame[1]))
                continue
            self.steps += 1
            if self.steps > MAX_STEPS:
                raise Unmatchable(f"its `...` and numbers need more than {MAX_STEPS:,} steps to match "
                                  "this output (fewer `...`, or longer text between them)")
            frame[3] = nxt
            if t + 1 == end:
                if nxt == n:
                    return [(self.program[f[0]], self.actual[f[1]:f[3]])
                            for f in stack if isinstance(self.program[f[0]], _Num)]
            elif nxt < self._bound(t + 1) and (t + 1, nxt) not in self.failed:
                stack.append([t + 1, nxt, self._choices(t + 1, nxt), -1])
        return None

    def _bound(self, t: int) -> int:
        """Positions from which token T's state is known to fail, by the next gap's record
        (a gap's own record included)."""
        gap = self.next_gap[t]
        return min(self.gap_fails[gap], self.gap_fails[self.next_gap[gap + 1]]) if gap < len(self.program) \
            else len(self.actual) + 1

    def _choices(self, t: int, pos: int):
        """Where token T, starting at POS, can end, in the order the regex tries them."""
        token, actual = self.program[t], self.actual
        following = self.program[t + 1] if t + 1 < len(self.program) else None
        if isinstance(token, _Num):
            m = _NUMBER.match(actual, pos)
            if m is None:
                return iter(())
            short = _WHOLE.match(actual, pos) if "." in m.group() else None
            return iter([m.end(), short.end()] if short and short.end() != m.end() else [m.end()])
        if token is _SPACE:  # greedy; what follows a run starts with no blank, unless it is `...`
            run = self._blank_end(pos)
            if following is None:
                return iter([len(actual)] if pos <= len(actual) <= run else [])
            if following is not _GAP:
                return iter([run])
            return iter(range(min(run, self._bound(t + 1) - 1), pos - 1, -1))
        if token is _GAP:  # lazy: the next token at each later position it can start at
            return self._starts(t, pos)
        return iter([pos + len(token)] if actual.startswith(token, pos) else [])

    def _starts(self, gap: int, pos: int):
        actual, n = self.actual, len(self.actual)
        token = self.program[gap + 1] if gap + 1 < len(self.program) else None
        if token is None:  # `...` at the very end: only the end of the output will do
            if n < self._bound(gap):
                yield n
            return
        while pos < self._bound(gap):
            if isinstance(token, str):
                pos = actual.find(token, pos)
            elif isinstance(token, _Num):
                m = _NUMBER.search(actual, pos)
                pos = m.start() if m else -1
            if pos < 0 or pos >= self._bound(gap):
                return
            yield pos
            pos += 1

    def _blank_end(self, pos: int) -> int:
        end = _BLANKS.match(self.actual, pos).end()
        self.steps += end - pos  # a run is read again from each start inside it: count it
        return end


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
