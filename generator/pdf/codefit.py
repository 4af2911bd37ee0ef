"""Printed code that never breaks a token: a code block is set as large as its widest line allows,
down to a floor; a line still too wide is wrapped between two tokens, never inside a name, number
or string, with a continuation mark and a hanging indent.

Code is set in DejaVu Sans Mono, whose every character advances 0.602 em, so how many columns a
width holds is arithmetic, not a layout: the lines are wrapped here and printed as they are
(`white-space: pre`), and what the width model counts is what is printed.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache

from markupsafe import Markup
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer
from pygments.token import Token

from ..codebreaks import break_points

MONO = 0.602             # DejaVu Sans Mono's advance, in ems of its size
PAD_EM = 0.8             # a code block's padding left and right, in ems of the code (cards.css)
BORDER_PT = 0.6 * 72 / 25.4  # its left border, 0.6 mm
SPARE_COLUMNS = 0.5      # Pango rounds advances: half a column to spare
MARK = "\u21aa"          # ↪ starts a continued line
HANG = "  " + MARK + " "  # the continuation: two columns deeper than its line, after the mark
_PLACEHOLDER = "\ue000"  # stands for the mark while Pygments formats the tokens


@dataclass(frozen=True)
class FittedCode:
    """A code block fitted to a width: the largest size it may be set at (`cap_pt`), and its
    lines, wrapped only if it had to be."""

    text: str            # the lines as printed, continuation marks included
    html: Markup | None  # highlighted, as `<pre class="highlight"><code>`; None: unwrapped, the
    #                      code as render.highlight_code gives it
    cap_pt: float        # the largest code size at which no printed line is wider than the width
    wrapped: bool


def columns_at(width_pt: float, pt: float) -> int:
    """How many columns of code a block WIDTH_PT wide holds at PT."""
    return max(1, math.floor(((width_pt - BORDER_PT) / pt - PAD_EM) / MONO - SPARE_COLUMNS))


def size_for(columns: int, width_pt: float) -> float:
    """The largest code size at which COLUMNS columns fit a block WIDTH_PT wide."""
    return (width_pt - BORDER_PT) / ((columns + SPARE_COLUMNS) * MONO + PAD_EM)


def width_em(text: str) -> float:
    """The width of a block that wraps none of TEXT's lines, in ems of the code (for a centred
    block, as wide as its widest line; border-box)."""
    return (widest(text) + SPARE_COLUMNS) * MONO + PAD_EM


def widest(text: str) -> int:
    return max((len(line.rstrip()) for line in text.expandtabs(4).split("\n")), default=0)


def fit(code: str, width_pt: float, floor_pt: float) -> FittedCode:
    """CODE fitted to a block WIDTH_PT wide: unwrapped if its widest line fits at FLOOR_PT,
    else wrapped between tokens at the columns FLOOR_PT leaves. A token wider than that (a long
    string) is never broken: the block is set smaller instead."""
    code = code.rstrip("\n").expandtabs(4)
    cap = size_for(widest(code), width_pt)
    if cap >= floor_pt:
        return FittedCode(code, None, cap, False)
    typed = _wrapped(_typed(code), code, wrap_points(code, columns_at(width_pt, floor_pt)))
    text = "".join(ch for ch, _ in typed).replace(_PLACEHOLDER, MARK)
    return FittedCode(text, _html(typed), min(floor_pt, size_for(widest(text), width_pt)), True)


def _typed(code: str) -> list[tuple[str, object]]:
    """CODE as (character, Pygments token type) pairs."""
    out = []
    for ttype, value in PythonLexer(stripnl=False, ensurenl=False, tabsize=4).get_tokens(code):
        out.extend((ch, ttype) for ch in value)
    return out


def _wrapped(typed: list, code: str, breaks: dict[int, list[int]]) -> list:
    """TYPED (CODE's characters) with each line broken at its BREAKS: the piece before a break
    loses its trailing spaces, the piece after it its leading ones, and starts on a new line with
    the line's indent, the continuation mark and the hanging indent."""
    out, at = [], 0
    for n, line in enumerate(code.split("\n")):
        chars = typed[at:at + len(line)]
        at += len(line) + 1
        cuts = breaks.get(n, [])
        for a, b in zip([0] + cuts, cuts + [len(line)]):
            piece = chars[a:b]
            if a:
                while piece and piece[0][0] == " ":
                    piece = piece[1:]
                out.extend((ch, Token.Text) for ch in _indent(line) + HANG.replace(MARK, _PLACEHOLDER))
            if b < len(line):
                while piece and piece[-1][0] == " ":
                    piece = piece[:-1]
            out.extend(piece)
            if b < len(line):
                out.append(("\n", Token.Text))
        if at <= len(code):
            out.append(("\n", Token.Text))
    return out


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def wrap_points(code: str, columns: int) -> dict[int, list[int]]:
    """For each line of CODE wider than COLUMNS (by index), the offsets where it is broken: the
    rightmost allowed break that keeps each printed piece within COLUMNS, or, for a piece with
    none, the first allowed break after it (a long token is kept whole)."""
    allowed = break_points(code)
    out: dict[int, list[int]] = {}
    for n, line in enumerate(code.split("\n")):
        if len(line.rstrip()) <= columns:
            continue
        hang = len(_indent(line)) + len(HANG)
        cuts: list[int] = []
        start, room = 0, columns
        candidates = sorted(allowed.get(n, ()))
        while len(line[start:].rstrip()) > room:
            inside = [p for p in candidates if start < p and len(line[start:p].rstrip()) <= room
                      and line[p:].strip()]
            # a break after a comma or bracket, or at a space, reads better than one before a dot
            # (`prefetch(` / `tf.data.AUTOTUNE)`): taken if it leaves the line at least half full
            strong = [p for p in inside if line[p - 1] in ",([{ " and len(line[start:p].rstrip()) >= room / 2]
            later = [p for p in candidates if p > start and line[p:].strip()]
            cut = (strong or inside)[-1] if inside else (later[0] if later else None)
            if cut is None:
                break
            cuts.append(cut)
            start, room = cut, max(columns - hang, 1)
            while start < len(line) and line[start] == " ":
                start += 1
        if cuts:
            out[n] = cuts
    return out


@lru_cache(maxsize=None)
def _formatter() -> HtmlFormatter:
    return HtmlFormatter(nowrap=True)


def _html(typed: list) -> Markup:
    """TYPED characters highlighted by Pygments, as `<pre class="highlight"><code>`."""
    tokens: list[tuple[object, str]] = []
    for ch, ttype in typed:
        if tokens and tokens[-1][0] is ttype:
            tokens[-1] = (ttype, tokens[-1][1] + ch)
        else:
            tokens.append((ttype, ch))
    out = io.StringIO()
    _formatter().format(tokens, out)
    body = out.getvalue().replace(_PLACEHOLDER, f'<span class="wrap-mark">{MARK}</span>')
    return Markup(f'<pre class="highlight"><code>{body}</code></pre>')
