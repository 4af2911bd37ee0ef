"""The width model and the fitting: each side's font size guessed from the fonts' character widths,
then checked against WeasyPrint's own layout boxes; sides found too long are probed at every
smaller size at once, in one small document.

The guess never costs a layout; a layout per size per card would cost the deck many times over.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Callable

from ..codebreaks import BREAKABLE_FROM, break_points
from .sides import Side

MM_PER_PT = 25.4 / 72

# Advance widths of DejaVu Sans, ASCII 32..126, in hundredths of an em (from its hmtx table).
_SANS = (32, 40, 46, 84, 64, 95, 78, 27, 39, 39, 50, 84, 32, 36, 32, 34, 64, 64, 64, 64, 64, 64, 64, 64,
         64, 64, 34, 34, 84, 84, 84, 53, 100, 68, 69, 70, 77, 63, 58, 77, 75, 29, 29, 66, 56, 86, 75, 79,
         60, 79, 69, 63, 61, 73, 68, 99, 69, 61, 69, 39, 34, 39, 84, 50, 50, 61, 63, 55, 63, 62, 35, 63,
         63, 28, 28, 58, 28, 97, 63, 61, 63, 63, 41, 52, 39, 63, 59, 82, 59, 59, 52, 64, 34, 64, 84)
_MONO = 0.602 * 0.88   # DejaVu Sans Mono advance, at the 0.88em code size
_CODE_LINE = 1.25 * 0.88  # Pygments' stylesheet sets pre { line-height: 125% }
_PRE_PAD = 0.5 * 0.88     # 0.25em above and below a code or output block
_PRE_SIDES = 1.0          # a code block's side padding and border
_GAP = 0.35               # between blocks
_LABEL = 0.35 + 0.7 * 1.25  # the "Output" / "Raises" label
_LIST_RE = re.compile(r"\s*(?:[-*+]|\d+[.)])\s+")
_FENCE_RE = re.compile(r"\s*(```|~~~)")
SAFETY = 1.05           # the model errs towards "too long": a re-layout costs more than 1pt of font
EXTRA = 0.85            # the extra's size, of the side's (cards.css)
_EXTRA_GAP = 0.35 + 0.5 + 0.35  # above the extra: margin, rule and padding, in ems of the side
_CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1", re.S)
WRAP = 0.95             # ... and wraps lines a little early: Pango's breaks are not greedy on our widths


def _word_em(word: str, in_code: bool) -> tuple[float, bool]:
    width = 0.0
    for ch in word:
        if ch == "`":
            in_code = not in_code
            width += 0.1  # the code span's padding
            continue
        if in_code:
            width += _MONO
        elif ch in "*_":
            continue
        else:
            o = ord(ch)
            width += _SANS[o - 32] / 100 if 32 <= o < 127 else 0.75
    return width, in_code


def _wrapped_lines(text: str, width_em: float) -> int:
    """Lines a paragraph takes when greedily wrapped at WIDTH_EM (long words break anywhere)."""
    lines, used, in_code = 1, 0.0, False
    for word in text.split():
        w, in_code = _word_em(word, in_code)
        if used and used + 0.32 + w > width_em:
            lines, used = lines + 1, 0.0
        used += (0.32 if used else 0.0) + w
        while used > width_em:
            lines, used = lines + 1, used - width_em
    return lines


def _code_lines(code: str, width_em: float) -> int:
    """Lines of a pre-wrap block: each source line wraps at spaces, a long token anywhere."""
    per_line = max(1, int(width_em / _MONO))
    total = 0
    for line in code.rstrip("\n").split("\n"):
        lines, used = 1, 0
        for word, spaces in re.findall(r"(\S*)(\s*)", line.expandtabs(4)):
            if used and used + len(word) > per_line:
                lines, used = lines + 1, 0
            if len(word) > per_line:
                lines += (len(word) - 1) // per_line
                used = (len(word) - 1) % per_line + 1
            else:
                used += len(word)
            used += len(spaces)  # trailing spaces hang over the edge, they never wrap
        total += lines
    return total


def _blocks(source: str) -> list[tuple[str, str]]:
    """A Markdown field as ("p" | "li" | "code", text) blocks."""
    blocks: list[tuple[str, str]] = []
    fence, para, code = None, [], []
    for line in source.split("\n"):
        if fence is not None:
            if _FENCE_RE.match(line) and line.strip().startswith(fence):
                blocks.append(("code", "\n".join(code)))
                fence, code = None, []
            else:
                code.append(line)
            continue
        m = _FENCE_RE.match(line)
        if m:
            if para:
                blocks.append(("p", " ".join(para)))
                para = []
            fence = m.group(1)
            continue
        if not line.strip():
            if para:
                blocks.append(("p", " ".join(para)))
                para = []
        elif _LIST_RE.match(line):
            if para:
                blocks.append(("p", " ".join(para)))
            blocks.append(("li", _LIST_RE.sub("", line, count=1)))
            para = []
        elif line.startswith("    ") and not para:
            blocks.append(("code", line[4:]))
        else:
            para.append(line.strip())
    if para:
        blocks.append(("p", " ".join(para)))
    if code:
        blocks.append(("code", "\n".join(code)))
    return blocks


def text_em(source: str, width_em: float) -> float:
    """The height of a Markdown field in ems of its font, set WIDTH_EM wide, by the width model."""
    height = 0.0
    blocks = _blocks(source)
    text_width = width_em * WRAP
    for kind, text in blocks:
        if kind == "code":
            height += _code_lines(text, width_em - _PRE_SIDES) * _CODE_LINE + _PRE_PAD + _GAP
        elif kind == "li":
            height += _wrapped_lines(text, text_width - 1.3) * 1.25
        else:
            height += _wrapped_lines(text, text_width) * 1.25 + _GAP
    if blocks:
        height -= _GAP  # the last block's margin collapses into the box
    return height


def estimate_pt(side: Side, width_pt: float, pt: float, figure_pt: float = 0.0) -> float:
    """The height (pt) of SIDE's content set WIDTH_PT wide at PT, with each figure FIGURE_PT high,
    by the width model (erring towards too long); the code block's own height is fit_side's to
    add, at the size it chooses for it."""
    width_em = width_pt / pt
    height = text_em(side.source, width_em) * pt
    if side.code_text:
        height += _GAP * pt
    for piece in (p for p in (side.output, side.raises) if p is not None):  # each under its label
        height += (_LABEL + _code_lines(piece, width_em - _PRE_SIDES) * _CODE_LINE + _PRE_PAD) * pt
    if side.figures:
        height += _GAP * pt + figure_pt
    if side.extra_source.strip():
        height += (_EXTRA_GAP + text_em(side.extra_source, width_em / EXTRA) * EXTRA) * pt
    return height * SAFETY


def code_em(text: str) -> float:
    """A code block's height in ems of its own size: its printed lines (it wraps none) and padding."""
    return (text.count("\n") + 1) * 1.25 + 0.5


def line_em(text: str) -> float:
    """The width of TEXT on one line, in ems of DejaVu Sans (no Markdown)."""
    return sum(_SANS[ord(ch) - 32] / 100 if 32 <= ord(ch) < 127 else 0.75 for ch in text)


def longest_token_em(source: str) -> float:
    """The widest piece of inline code in SOURCE that no line may break (between two break
    opportunities), in ems of the text: it must fit the slot's width."""
    widest = 0
    for m in _CODE_SPAN_RE.finditer(source):
        span = m.group(2)
        if len(span) < BREAKABLE_FROM or "\n" in span:  # no break opportunity in it (render.py)
            widest = max(widest, len(span))
            continue
        points = sorted(break_points(span).get(0, ()))
        widest = max([widest, *(b - a for a, b in zip([0] + points, points + [len(span)]))])
    return widest * _MONO


def fit_side(side: Side, width_mm: float, height_mm: float, steps: tuple[float, ...], start: int = 0,
             code_floor: float = 0.0, code_cap: float = float("inf"),
             figure_mm: float = 0.0) -> tuple[int, tuple[float, ...]]:
    """The largest font step from STEPS[START:] at which the width model puts SIDE inside
    WIDTH_MM x HEIGHT_MM (the last step if none), and its code block's size at each step.

    The question keeps its size: at each step the code block gets 0.88 of the text's size, or
    less down to CODE_FLOOR where the side would not fit otherwise (never more than CODE_CAP, at
    which its widest line fits the width); only then is a smaller step tried. No step is taken at
    which a piece of inline code that cannot break is wider than the slot."""
    width_pt, height_pt = width_mm / MM_PER_PT, height_mm / MM_PER_PT
    figure_pt = figure_mm / MM_PER_PT
    token_em = longest_token_em(side.source)
    per_code_pt = code_em(side.code_text) * SAFETY if side.code_text else 0.0
    chosen, code = len(steps) - 1, min(code_cap, 0.88 * steps[-1])
    for i in range(start, len(steps)):
        pt = steps[i]
        if token_em * pt > width_pt and i < len(steps) - 1:
            continue
        natural = min(code_cap, 0.88 * pt)
        room = height_pt - estimate_pt(side, width_pt, pt, figure_pt)
        if not side.code_text:
            if room >= 0:
                chosen = i
                break
            continue
        size = min(natural, room / per_code_pt)
        if size >= min(code_floor, natural):
            chosen, code = i, size
            break
    pts = tuple(round(min(code_cap, 0.88 * pt, code if i >= chosen else code_cap), 2)
                for i, pt in enumerate(steps)) if side.code_text else ()
    return chosen, pts


def measure(document) -> dict[str, tuple[float, float]]:
    """For every measured side in a laid-out document: (content height, room), in CSS px."""
    from weasyprint.formatting_structure.boxes import LineBox
    found: dict[str, tuple[float, float]] = {}
    for page in document.pages:
        stack = [(page._page_box, None)]
        while stack:
            box, parent = stack.pop()
            element = box.element
            key = element.get("data-fit") if element is not None else None
            if key is not None and parent is not None and parent.element is not element:
                if key:
                    found[key] = (box.margin_height(), parent.height)
                continue
            if isinstance(box, LineBox):
                continue
            stack.extend((child, box) for child in getattr(box, "children", ()))
    return found


def fits(measured: tuple[float, float]) -> bool:
    used, room = measured
    return used <= room + 0.5


def probe(pairs: list[tuple[Side, Side]], bad: list[str], oversize: set[int], last: int,
          lay_out: Callable[[list[tuple[Side, Side]]], dict[str, tuple[float, float]]], first: int = 1) -> None:
    """Lay out each too-long side at every smaller font step at once; keep the largest that fits.

    LAY_OUT measures a probe document of the given sides (see measure). Updates PAIRS in place;
    a card with a side that fits at no step goes into OVERSIZE. FIRST=0 tries the side's current
    step too: for sides not laid out yet."""
    trials: list[tuple[Side, Side]] = []
    for key in bad:
        i, which = int(key[:-1]), key[-1]
        side = pairs[i][0 if which == "f" else 1]
        for step in range(side.step + first, last + 1):
            trial = replace(side, step=step, key=f"{key}@{step}")
            trials.append((trial, trial))
    found = lay_out(trials) if trials else {}
    for key in bad:
        i, which = int(key[:-1]), key[-1]
        side = pairs[i][0 if which == "f" else 1]
        good = [s for s in range(side.step + first, last + 1)
                if f"{key}@{s}" in found and fits(found[f"{key}@{s}"])]
        if not good:
            oversize.add(i)
            continue
        f, b = pairs[i]
        pairs[i] = (replace(f, step=good[0]), b) if which == "f" else (f, replace(b, step=good[0]))
