"""Where a line of Python may be broken: between two tokens, never inside a name, a number or a
string, and not where a break reads badly. The printed code blocks wrap there (pdf/codefit.py), and
inline code spans get a break opportunity (`<wbr>`) there, in the Anki cards and on paper alike.
"""
from __future__ import annotations

import io
import re
import tokenize

from markupsafe import Markup, escape

CLOSERS = set(")]},:;")


def break_points(code: str) -> dict[int, set[int]]:
    """Per line of CODE, the offsets a line may be broken at: between two tokens, outside every
    string, and not where a break reads badly (after a dot, between a name and its call's
    bracket, next to `=`, before a closing bracket or a comma)."""
    lines = code.split("\n")
    starts: dict[int, set[int]] = {}
    strings: list[tuple[tuple[int, int], tuple[int, int]]] = []
    try:
        opened = []
        for tok in tokenize.generate_tokens(io.StringIO(code + "\n").readline):
            name = tokenize.tok_name[tok.type]
            if name == "COMMENT":  # prose: it breaks at its spaces
                row, col = tok.start
                starts.setdefault(row - 1, set()).update(col + m.end() for m in re.finditer(r" +", tok.string))
            if name in ("NEWLINE", "NL", "COMMENT", "INDENT", "DEDENT", "ENDMARKER"):
                continue
            if name == "FSTRING_START":
                opened.append(tok.start)
                continue
            if name == "FSTRING_END":
                strings.append((opened.pop(), tok.end))
                continue
            if opened:
                continue
            if name == "STRING":
                strings.append((tok.start, tok.end))
            for row, col in (tok.start, tok.end):
                starts.setdefault(row - 1, set()).add(col)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        starts = {}  # not Python we can read: break at spaces outside quotes only
        for n, line in enumerate(lines):
            starts[n] = {m.end() for m in re.finditer(r" +", line)} - _quoted(line)
    out: dict[int, set[int]] = {}
    for n, line in enumerate(lines):
        ok = set()
        for p in starts.get(n, ()):
            if not 0 < p < len(line) or _in_string(n, p, strings):
                continue
            before, after = line[:p].rstrip(), line[p:].lstrip()
            if not before or not after or before.endswith(".") or before.endswith("=") \
                    or after.startswith("=") or after[0] in CLOSERS:
                continue
            if after[0] in "([" and re.search(r"[\w)\]]$", before) and before == line[:p]:
                continue  # `Dense(3)`, `x[0]`: a call or subscript stays with its name
            ok.add(p)
        out[n] = ok
    return out


def _in_string(row: int, col: int, strings) -> bool:
    for (r0, c0), (r1, c1) in strings:
        if (r0 - 1, c0) < (row, col) < (r1 - 1, c1):
            return True
    return False


def _quoted(line: str) -> set[int]:
    inside, quote = set(), None
    for i, ch in enumerate(line):
        if quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
        elif quote is not None:
            inside.add(i)
    return {i + 1 for i in inside}


BREAKABLE_FROM = 20  # characters: a shorter span moves to the next line whole, as a word does


def breakable(code: str) -> Markup:
    """Inline CODE, escaped, with `<wbr>` where a line may break, if it is long enough to need one
    (none in a cloze deletion's markers, which Anki must find intact). Each `<wbr>` is a box to
    lay out: a short span, which never fills a line, gets none."""
    if len(code) < BREAKABLE_FROM or "\n" in code or "{{c" in code:
        return escape(code)
    points = sorted(break_points(code).get(0, ()))
    pieces = [code[a:b] for a, b in zip([0] + points, points + [len(code)])]
    return Markup("<wbr>").join(escape(p) for p in pieces)
