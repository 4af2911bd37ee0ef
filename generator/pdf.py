"""Render verified cards to a printable PDF: duplex or fold-over cut-out cards, or a study sheet.

Fitting text to a card without laying every card out many times: a character-width model of
the fonts picks each side's font size, one WeasyPrint layout of the whole deck checks every
side against its slot (from the layout boxes, not by guessing), and only sides found too
long are tried at the smaller sizes, all at once, in one small probe document. The deck is
laid out in chunks of at most CHUNK_PAGES pages, separate WeasyPrint documents whose pages are
written as one PDF; after a probe, only the chunks whose cards changed are laid out again. The
chunks are laid out in parallel worker processes (`jobs`), each writing its own PDF; the parts
are merged with pypdf.

Speed (see docs/benchmarks.md): WeasyPrint's cost is per box, so the templates keep boxes
few (the Pygments spans that style nothing are dropped); chunks keep the cost per page flat
(WeasyPrint's page styling rescans state that grows with the document) and let the cores share
the work; the cyclic garbage collector is paused while the document exists.
"""
from __future__ import annotations

import base64
import contextlib
import gc
import io
import math
import multiprocessing
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple, Sequence

from markupsafe import Markup

from . import render
from .atomic import atomic_path
from .cards import Card
from .errors import CardError
from .pdf_layout import CARD_SIZES, DEFAULT_CARD_SIZE, FLIPS, MIN_MARGIN, PAPER_LABELS
from .pdf_layout import PAPERS as PAPER_MM
from .pdf_layout import Sheet, duplex_sheet, font_steps, foldover_sheet

LAYOUTS = ("duplex", "foldover", "sheet")
PAPERS = tuple(PAPER_MM)
__all__ = ["LAYOUTS", "PAPERS", "CARD_SIZES", "DEFAULT_CARD_SIZE", "FLIPS", "PdfResult", "write_pdf"]

MM_PER_PT = 25.4 / 72
PX_PER_MM = 96 / 25.4
META_H = 3.0      # mm: the strip with card id and topic at the top of a side
STATUS_H = 3.0    # mm: the "verified with" strip at the bottom of an answer side
FOOTER_BOTTOM = 4.5  # mm from the paper edge
MAX_PASSES = 4
# Grid pages per WeasyPrint document. The deck is laid out in chunks whose pages are then written
# as one PDF: a side that has to shrink costs a new layout of its chunk, not of the whole deck.
# Even, so that every chunk starts on a right-hand page, as it does in the whole deck.
CHUNK_PAGES = 100


@dataclass(frozen=True)
class PdfResult:
    """What was written: the file, and the cards printed as full-page cards at the end."""

    path: Path
    overflowing: tuple[str, ...] = ()
    pages: int = 0
    layout: str = "duplex"
    description: str = ""


@dataclass(frozen=True)
class Side:
    """One side of one card as the templates see it (all HTML already rendered)."""

    which: str                 # "front" | "back"
    card_id: str
    topic: str
    key: str                   # the measured element's data-fit value; "" = not measured
    text: Markup
    code: Markup | None
    output: str | None
    raises: str | None
    status: str
    step: int = 0              # index into the font steps
    source: str = ""           # plain text the width model estimates from
    source_code: tuple[str, ...] = ()  # code, output, raises: the monospace blocks


def write_pdf(cards: Sequence[Card], out_path: Path, *, tf_version: str, templates_dir: Path | None = None,
              layout: str = "duplex", paper: str = "a4", card_size: str = DEFAULT_CARD_SIZE,
              flip: str = "long", jobs: int | None = None) -> PdfResult:
    """Write CARDS (already verified and filtered) as a PDF at OUT_PATH, atomically.

    Cards too long for their slot even at the smallest font are printed whole as full-page
    cards after the grid pages; their ids are in the result's `overflowing`. The cut-out
    layouts are laid out by JOBS processes (default: one per CPU; 1 = in this process).
    """
    for name, value, allowed in (("layout", layout, LAYOUTS), ("paper", paper, PAPERS),
                                 ("card size", card_size, tuple(CARD_SIZES)), ("flip", flip, FLIPS)):
        if value not in allowed:
            raise ValueError(f"unknown {name} {value!r}: choose from {', '.join(allowed)}")
    if not cards:
        raise CardError("no cards to print")
    env = render.environment(templates_dir)
    out_path = Path(out_path)
    with _gc_paused():
        if layout == "sheet":
            document, description = _sheet_document(env, cards, tf_version, paper, card_size)
            overflowing: tuple[str, ...] = ()
            with _fixed_font_timestamps():
                # custom_metadata: paper and card size go into the PDF's info dictionary too
                data, pages = document.write_pdf(custom_metadata=True), len(document.pages)
        else:
            data, pages, overflowing, description = _cards_pdf(env, cards, tf_version, layout, paper,
                                                               card_size, flip, jobs or os.cpu_count() or 1)
        with atomic_path(out_path) as tmp:
            tmp.write_bytes(data)
    return PdfResult(out_path, overflowing, pages, layout, description)


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while WeasyPrint builds and paints the document.

    A laid-out deck is about a million tracked objects (styles, boxes), all alive until the
    PDF is written, and the collector's full passes rescan all of them each time the heap
    grows by a quarter: about a third of the run time. Nothing is leaked: the document's
    cycles are collected as usual once the collector is back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def _fixed_font_timestamps() -> Iterator[None]:
    """Reproducible font subsets: fontTools stamps each subset's `head.modified` with the time
    of writing unless SOURCE_DATE_EPOCH is set (WeasyPrint subsets with fontTools when
    HarfBuzz-Subset is missing). A SOURCE_DATE_EPOCH the user set is kept."""
    if "SOURCE_DATE_EPOCH" in os.environ:
        yield
        return
    os.environ["SOURCE_DATE_EPOCH"] = "0"
    try:
        yield
    finally:
        os.environ.pop("SOURCE_DATE_EPOCH", None)


# --- card content ---------------------------------------------------------------------------

def _image_src(card: Card):
    return lambda target: render.image_path(card, target).as_uri()


def _sides(card: Card, index: int, tf_version: str) -> tuple[Side, Side]:
    src = _image_src(card)
    code = Markup(render.highlight_code(card.code)) if card.code is not None else None
    if card.type == "cloze":
        front_md, back_md = render.cloze(card.front, reveal=False), render.cloze(card.front, reveal=True)
        if card.back.strip():
            back_md += "\n\n" + card.back
    else:
        front_md, back_md = card.front, card.back
    code_front = card.code_on == "front"
    front = Side("front", card.id, card.topic, f"{index}f", Markup(render.markdown_html(front_md, src)),
                 code if code_front else None, None, None, "", source=front_md,
                 source_code=(card.code,) if code_front and card.code else ())
    back_code = None if code_front else card.code
    back = Side("back", card.id, card.topic, f"{index}b", Markup(render.markdown_html(back_md, src)),
                None if code_front else code, card.output, card.raises,
                render.status_line(card, None, tf_version), source=back_md,
                source_code=tuple(x for x in (back_code, card.output, card.raises) if x is not None))
    return front, back


# --- lean highlighted code ----------------------------------------------------------------
# Pygments wraps every token in a span, styled or not: `tf.constant([1, 2])` is eleven spans.
# Each is a box WeasyPrint styles, breaks lines through and paints. Spans whose class no rule
# styles are dropped (their text stays), neighbours of one class are merged, and the Pygments
# stylesheet keeps only the rules of classes the deck uses. What is printed does not change.

_SPAN_RE = re.compile(r'<span class="([\w-]+)">([^<]*)</span>')
_PYGMENTS_RULE_RE = re.compile(r"^\.highlight \.([\w-]+) \{([^}]*)\}")
_CSS_COMMENT_RE = re.compile(r"/\*.*?\*/", re.S)
_SAME_SPANS_RE = re.compile(r'<span class="([\w-]+)">([^<]*)</span><span class="\1">')


@dataclass(frozen=True)
class _CodeStyle:
    pygments_rules: dict[str, str]   # token class -> its declarations in the Pygments stylesheet
    styled_elsewhere: frozenset[str]  # classes the template's own CSS mentions
    keep_all: bool                   # the template's CSS styles spans in general: change nothing

    @classmethod
    def of(cls, pygments_css: str, template_css: str) -> "_CodeStyle":
        rules = {}
        for line in pygments_css.splitlines():
            m = _PYGMENTS_RULE_RE.match(line)
            if m:
                rules[m.group(1)] = m.group(2)
        css = _CSS_COMMENT_RE.sub("", template_css)
        keep_all = bool(re.search(r"\bspan\b(?!\.linenos)|\[|\*", css))
        return cls(rules, frozenset(re.findall(r"\.(-?[_a-zA-Z][\w-]*)", css)), keep_all)

    def inert(self, cls: str, text: str) -> bool:
        """A span of class CLS around TEXT looks the same without its span."""
        if cls in self.styled_elsewhere:
            return False
        rule = self.pygments_rules.get(cls)
        if rule is None:
            return True
        # whitespace shows no colour
        return not text.strip() and all(d.split(":")[0].strip() == "color" for d in rule.split(";") if d.strip())

    def lean(self, html: Markup | None) -> Markup | None:
        if html is None or self.keep_all or "<span" not in html:
            return html
        out = _SPAN_RE.sub(lambda m: m.group(2) if self.inert(m.group(1), m.group(2)) else m.group(0), str(html))
        while True:
            out, n = _SAME_SPANS_RE.subn(r'<span class="\1">\2', out)
            if not n:
                return Markup(out)

    def used_css(self, pygments_css: str, html: Iterable[str]) -> str:
        """The Pygments stylesheet without the rules of token classes that appear nowhere in HTML."""
        used = {m.group(1) for h in html for m in _SPAN_RE.finditer(h)}
        return "\n".join(line for line in pygments_css.splitlines()
                         if not (m := _PYGMENTS_RULE_RE.match(line)) or m.group(1) in used)


# --- the width model ------------------------------------------------------------------------

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


def estimate_em(side: Side, width_em: float) -> float:
    """The height of a side's content in ems of its body font, by the width model."""
    height = 0.0
    blocks: list[tuple[str, str]] = []  # ("p"|"li"|"code", text)
    fence, para, code = None, [], []
    for line in side.source.split("\n"):
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
    text_em = width_em * WRAP
    for kind, text in blocks:
        if kind == "code":
            height += _code_lines(text, width_em - _PRE_SIDES) * _CODE_LINE + _PRE_PAD + _GAP
        elif kind == "li":
            height += _wrapped_lines(text, text_em - 1.3) * 1.25
        else:
            height += _wrapped_lines(text, text_em) * 1.25 + _GAP
    if blocks:
        height -= _GAP  # the last block's margin collapses into the box
    pieces = list(side.source_code)
    labels = int(side.output is not None) + int(side.raises is not None)
    for n, piece in enumerate(pieces):
        height += _code_lines(piece, width_em - _PRE_SIDES) * _CODE_LINE + _PRE_PAD
        height += _LABEL if n >= len(pieces) - labels else _GAP
    return height * SAFETY


# --- the card layouts -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Geometry:
    sheet: Sheet
    layout: str
    flip: str
    steps: tuple[float, ...]
    pad: float

    @property
    def inner_w(self) -> float:
        return self.sheet.card.width - 2 * self.pad

    def inner_h(self, which: str) -> float:
        return round(self.sheet.card.height - 1.1 * self.pad - META_H - (STATUS_H if which == "back" else 0.0), 3)


def _mmv(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") + "mm"


def _rect_css(selector: str, r) -> str:
    return f"{selector} {{ left: {_mmv(r.x)}; top: {_mmv(r.y)}; width: {_mmv(r.w)}; height: {_mmv(r.h)}; }}"


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _geometry_css(g: _Geometry, footer: str) -> str:
    s = g.sheet
    out = [
        f"@page {{ size: {_mmv(s.page_w)} {_mmv(s.page_h)}; margin: 0; }}",
        f".page {{ background: url({_marks_svg(s)}) no-repeat 0 0 / 100% 100%; }}",
        f"@page large {{ margin: {_mmv(MIN_MARGIN)}; @bottom-center {{ content: {_css_string(footer)} "
        f"' · page ' counter(page); font-size: 5.5pt; color: #555; vertical-align: top; "
        f"padding-top: {_mmv(MIN_MARGIN - FOOTER_BOTTOM - 2.5)}; }} }}",
        f".page {{ width: {_mmv(s.page_w)}; height: {_mmv(s.page_h)}; }}",
        f".large {{ min-height: {_mmv(s.page_h - 2 * MIN_MARGIN)}; }}",
        f".footer {{ bottom: {_mmv(FOOTER_BOTTOM)}; }}",
        f".slot .side {{ padding: {_mmv(g.pad * 0.55)} {_mmv(g.pad)}; }}",
        f".slot .meta {{ height: {_mmv(META_H)}; }}",
        f".slot .side-front .body {{ height: {_mmv(g.inner_h('front'))}; }}",
        f".slot .side-back .body {{ height: {_mmv(g.inner_h('back'))}; }}",
        f".slot .status {{ height: {_mmv(STATUS_H)}; padding-top: {_mmv(STATUS_H - 2.4)}; box-sizing: border-box; }}",
    ]
    out += [f".fs{i} {{ font-size: {pt}pt; }}" for i, pt in enumerate(g.steps)]
    out += [_rect_css(f".f{i}", r) for i, r in enumerate(s.fronts)]
    out += [_rect_css(f".b{i}", r) for i, r in enumerate(s.backs)]
    if s.fold is not None:
        f = s.fold
        if f.h > f.w:
            out.append(f".fold-label {{ left: {_mmv(f.x + 1)}; top: {_mmv(3)}; }}")
        else:
            out.append(f".fold-label {{ top: {_mmv(f.y + 0.8)}; left: {_mmv(3)}; }}")
    return "\n".join(out)


def _marks_svg(s: Sheet) -> str:
    """Cut marks, card borders and fold line for one page, as an SVG `data:` URL: one image
    drawn behind every grid page costs far less to lay out than a box per mark. All borders are
    one path and all marks another (one rectangle subpath each): drawing an SVG element costs
    WeasyPrint far more than drawing a subpath, and this image is drawn on every page."""
    def rects(rs) -> str:
        return " ".join(f"M{r.x} {r.y}h{r.w}v{r.h}h{-r.w}Z" for r in rs)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{s.page_w}mm" height="{s.page_h}mm" '
             f'viewBox="0 0 {s.page_w} {s.page_h}">',
             f'<path d="{rects(dict.fromkeys(s.fronts + s.backs))}" fill="none" stroke="#c8c8c8" '
             f'stroke-width="0.1"/>']
    if s.marks:
        parts.append(f'<path d="{rects(s.marks)}" fill="#000"/>')
    if s.fold is not None:
        f = s.fold
        x1, y1, x2, y2 = ((f.x + f.w / 2, 0, f.x + f.w / 2, s.page_h) if f.h > f.w
                          else (0, f.y + f.h / 2, s.page_w, f.y + f.h / 2))
        parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#777" stroke-width="0.2" '
                     f'stroke-dasharray="2 1.5"/>')
    parts.append("</svg>")
    return "data:image/svg+xml;base64," + base64.b64encode("".join(parts).encode()).decode()


def _geometry(layout: str, paper: str, card_size: str, flip: str) -> _Geometry:
    sheet = duplex_sheet(paper, card_size, flip) if layout == "duplex" else foldover_sheet(paper, card_size)
    card = sheet.card
    pad = round(min(card.width, card.height) * 0.055, 2)
    return _Geometry(sheet, layout, flip, font_steps(card_size), pad)


def _first_step(side: Side, g: _Geometry) -> int:
    width_pt = g.inner_w / MM_PER_PT
    height_pt = g.inner_h(side.which) / MM_PER_PT
    for i, pt in enumerate(g.steps):
        if estimate_em(side, width_pt / pt) * pt <= height_pt:
            return i
    return len(g.steps) - 1


def _pages(g: _Geometry, pairs: list[tuple[Side, Side]], probe: bool = False) -> list[dict]:
    sheet, pages = g.sheet, []
    per = sheet.per_page
    chunks = [pairs[i:i + per] for i in range(0, len(pairs), per)]
    flip_note = f"print double-sided, flip on the {g.flip} edge"
    for n, chunk in enumerate(chunks, 1):
        label = f"sheet {n} of {len(chunks)}"
        if probe:
            pages.append({"kind": "probe", "label": "probe",
                          "slots": [{"pos": f"f{i}", "side": s} for i, (s, _) in enumerate(chunk)]})
        elif g.layout == "duplex":
            pages.append({"kind": "front", "label": f"{label} · fronts · {flip_note}",
                          "slots": [{"pos": f"f{i}", "side": f} for i, (f, _) in enumerate(chunk)]})
            pages.append({"kind": "back", "label": f"{label} · backs",
                          "slots": [{"pos": f"b{i}", "side": b} for i, (_, b) in enumerate(chunk)]})
        else:
            slots = [{"pos": f"f{i}", "side": f} for i, (f, _) in enumerate(chunk)]
            slots += [{"pos": f"b{i}", "side": b} for i, (_, b) in enumerate(chunk)]
            pages.append({"kind": "fold", "label": f"page {n} of {len(chunks)} · print one-sided, fold on the "
                                                   f"dashed line with the print outside, then cut",
                          "slots": slots})
    return pages


def _measure(document) -> dict[str, tuple[float, float]]:
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


def _style_text(html: str) -> str:
    return "\n".join(re.findall(r"<style[^>]*>(.*?)</style>", html, re.S))


def _fits(measured: tuple[float, float]) -> bool:
    used, room = measured
    return used <= room + 0.5


def _cards_pdf(env, cards: Sequence[Card], tf_version: str, layout: str, paper: str, card_size: str,
               flip: str, jobs: int) -> tuple[bytes, int, tuple[str, ...], str]:
    """The cut-out cards' PDF: (bytes, pages, ids of the full-page cards, description)."""
    g = _geometry(layout, paper, card_size, flip)
    template = env.get_template("pdf/cards.html")
    description = (f"tfcards {layout}: {g.sheet.describe()}"
                   + (f"; print double-sided, flip on the {flip} edge" if layout == "duplex" else "")
                   + "; print at 100% (actual size)")
    footer = (f"tfcards · {g.sheet.describe()} · print at 100% / actual size: "
              f"each card must measure {g.sheet.card.width:g} x {g.sheet.card.height:g} mm")
    topics = list(dict.fromkeys(c.topic for c in cards))
    doc = {
        "title": f"TensorFlow flashcards ({', '.join(topics[:3])}{', ...' if len(topics) > 3 else ''})",
        "description": description,
        "keywords": ", ".join(topics),
        "custom_metadata": [("layout", layout), ("paper", f"{PAPER_LABELS[paper]} {g.sheet.orientation} "
                                                          f"{g.sheet.page_w:g} x {g.sheet.page_h:g} mm"),
                            ("card-size", f"{card_size}: {g.sheet.card.width:g} x {g.sheet.card.height:g} mm"),
                            ("flip", flip if layout == "duplex" else "none"),
                            ("tensorflow", tf_version)],
        "geometry_css": Markup(_geometry_css(g, footer)),
        "pygments_css": Markup(""),
        "footer": footer,
        "has_fold": g.sheet.fold is not None,
    }
    pygments_css = render.pygments_css()
    code_style = _CodeStyle.of(pygments_css, _style_text(template.render(doc=doc, pages=[], large=[])))
    pairs = [tuple(replace(s, text=code_style.lean(s.text), code=code_style.lean(s.code))
                   for s in _sides(card, i, tf_version)) for i, card in enumerate(cards)]
    doc["pygments_css"] = Markup(code_style.used_css(
        pygments_css, (str(h) for pair in pairs for s in pair for h in (s.text, s.code) if h)))
    pairs = [(replace(f, step=_first_step(f, g)), replace(b, step=_first_step(b, g))) for f, b in pairs]
    oversize: set[int] = set()
    last = len(g.steps) - 1

    rendered: dict[str, _Chunk] = {}  # chunk HTML -> its layout
    chunk_pages = 0

    def layout_all(lay_out) -> list[tuple[str, _Chunk]]:
        nonlocal chunk_pages
        grid = [p for i, p in enumerate(pairs) if i not in oversize]
        large = [{"front": replace(f, key="", step=0), "back": replace(b, key="", step=0),
                  "note": f"Card {f.card_id} is too long for a {card_size} card even at {g.steps[-1]}pt, "
                          f"so it is printed whole on its own page; its other side is on the next page."}
                 for i, (f, b) in enumerate(pairs) if i in oversize]
        pages = _pages(g, grid)
        # fixed at the first layout: chunks whose cards did not change keep their HTML
        chunk_pages = chunk_pages or _chunk_pages(len(pages))
        starts = range(0, max(len(pages), 1), chunk_pages)
        htmls = []
        for start in starts:
            chunk_doc = doc
            if start:  # the page counter (footer of full-page cards) counts from the deck's first page
                chunk_doc = dict(doc, geometry_css=Markup(f"{doc['geometry_css']}\n"
                                                          f"@page :first {{ counter-reset: page {start + 1}; }}"))
            # the full-page cards go last, after an even number of pages: right-hand pages stay right
            htmls.append(template.render(doc=chunk_doc, pages=pages[start:start + chunk_pages],
                                         large=large if start == starts[-1] else []))
        new = list(dict.fromkeys(h for h in htmls if h not in rendered))  # the others are laid out already
        rendered.update(zip(new, lay_out(new)))
        return [(html, rendered[html]) for html in htmls]

    # Sides the width model puts at the smallest font may not fit at all. Measure those first, in
    # the probe document: a card that leaves the grid after the deck is laid out would move every
    # later card, and every later chunk would be laid out again.
    doubtful = [f"{i}{w}" for i, pair in enumerate(pairs) for w, side in zip("fb", pair) if side.step == last]
    if doubtful:
        _probe(env, template, doc, g, pairs, doubtful, oversize, last, first=0)

    with _chunk_layouts(jobs) as lay_out:
        for _ in range(MAX_PASSES):
            chunks = layout_all(lay_out)
            rendered = dict(chunks)  # drop stale layouts
            bad = sorted(k for _, chunk in chunks for k, m in chunk.measured.items() if not _fits(m))
            if not bad:
                break
            _probe(env, template, doc, g, pairs, bad, oversize, last)
        else:  # pragma: no cover - the probe measures exactly what the deck then holds
            raise RuntimeError(f"card sides still overflow after {MAX_PASSES} layouts: {', '.join(bad)}")
    overflowing = tuple(cards[i].id for i in sorted(oversize))
    parts = [chunk for _, chunk in chunks]
    return _write(parts), sum(chunk.pages for chunk in parts), overflowing, description


def _chunk_pages(pages: int) -> int:
    """Pages per chunk: at most CHUNK_PAGES, in an even number of chunks of about the same size,
    so that two processes finish together; the same for any number of jobs, so that the same
    deck always gives the same bytes. Even, so that every chunk starts on a right-hand page."""
    n = -(-max(pages, 1) // CHUNK_PAGES)
    size = -(-max(pages, 1) // (n + n % 2))
    return max(2, size + size % 2)


# --- chunks laid out in worker processes ----------------------------------------------------
# WeasyPrint's laid-out pages cannot be pickled, so a chunk laid out in a worker process comes back
# as what the parent needs of it: its sides' measurements and its pages written as a PDF of their
# own. The parts are merged in order with pypdf. With one job the chunks are laid out in this
# process, and written and merged the same way, so the bytes do not depend on the number of jobs.

class _Chunk(NamedTuple):
    pages: int
    measured: dict[str, tuple[float, float]]  # side key -> (content height, room), see _measure
    pdf: bytes                                # its pages as a PDF of their own


_shared: tuple = ()  # (FontConfiguration, image cache) for the chunks laid out in this process


@contextlib.contextmanager
def _chunk_layouts(jobs: int) -> Iterator[Callable[[list[str]], list[_Chunk]]]:
    """A function laying out chunk HTMLs, results in order: in JOBS worker processes, or with 1
    in this process. Workers are forked, so they start with WeasyPrint imported and the fonts
    configured, and one per chunk (maxtasksperchild=1): exiting frees a chunk's million boxes at
    no cost, where a garbage collection (paused, see _gc_paused) took 0.2-0.6 s per chunk."""
    global _shared
    from weasyprint.text.fonts import FontConfiguration
    _shared = (FontConfiguration(), {})  # fonts load and images parse once per process
    try:
        if jobs == 1 or "fork" not in multiprocessing.get_all_start_methods():
            yield lambda htmls: [_lay_out_chunk(html) for html in htmls]
        else:
            with multiprocessing.get_context("fork").Pool(jobs, maxtasksperchild=1) as pool:
                yield lambda htmls: _gather(pool.map_async(_lay_out_chunk, htmls, chunksize=1), len(htmls))
    finally:
        _shared = ()


def _gather(result, chunks: int) -> list[_Chunk]:
    """The pool's results. A worker killed outright (out of memory) loses its task and the pool
    would wait forever: a chunk takes about a second, so minutes mean it is gone."""
    try:
        return result.get(timeout=120 + 60 * chunks)
    except multiprocessing.TimeoutError:
        raise RuntimeError("a PDF layout worker died (out of memory?); try --jobs 1") from None


def _lay_out_chunk(html: str) -> _Chunk:
    from weasyprint import HTML
    fonts, images = _shared
    document = HTML(string=html, base_url=str(Path.cwd())).render(font_config=fonts, cache=images)
    with _fixed_font_timestamps():
        # custom_metadata: paper and card size go into the PDF's info dictionary too
        return _Chunk(len(document.pages), _measure(document), pdf=document.write_pdf(custom_metadata=True))


def _write(chunks: list[_Chunk]) -> bytes:
    """The chunks' pages as one PDF, in order.

    Merged with pypdf, the first chunk's PDF brings the document's catalog (language) and info
    dictionary (title, description, the custom metadata); pypdf adds no /ID and no dates of its
    own, so the same chunks always give the same bytes. Each chunk keeps its own font subsets:
    the file is about 15 % larger than one document's (docs/pdf.md)."""
    if len(chunks) == 1:
        return chunks[0].pdf
    import pypdf
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(chunks[0].pdf))
    for chunk in chunks[1:]:
        for page in pypdf.PdfReader(io.BytesIO(chunk.pdf)).pages:
            writer.add_page(page)
    writer.compress_identical_objects()  # objects every chunk repeats: about -10 % in size
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _probe(env, template, doc, g: _Geometry, pairs: list[tuple[Side, Side]], bad: list[str],
           oversize: set[int], last: int, first: int = 1) -> None:
    """Lay out each too-long side at every smaller font step at once; keep the largest that fits.

    FIRST=0 tries the side's current step too: for sides not laid out yet."""
    from weasyprint import HTML
    trials: list[tuple[Side, Side]] = []
    for key in bad:
        i, which = int(key[:-1]), key[-1]
        side = pairs[i][0 if which == "f" else 1]
        for step in range(side.step + first, last + 1):
            trial = replace(side, step=step, key=f"{key}@{step}")
            trials.append((trial, trial))
    fits: dict[str, tuple[float, float]] = {}
    if trials:
        html = template.render(doc=doc, pages=_pages(g, trials, probe=True), large=[])
        fits = _measure(HTML(string=html, base_url=str(Path.cwd())).render())
    for key in bad:
        i, which = int(key[:-1]), key[-1]
        side = pairs[i][0 if which == "f" else 1]
        good = [s for s in range(side.step + first, last + 1)
                if f"{key}@{s}" in fits and _fits(fits[f"{key}@{s}"])]
        if not good:
            oversize.add(i)
            continue
        f, b = pairs[i]
        pairs[i] = (replace(f, step=good[0]), b) if which == "f" else (f, replace(b, step=good[0]))


# --- the study sheet ------------------------------------------------------------------------

def _sheet_document(env, cards: Sequence[Card], tf_version: str, paper: str, card_size: str):
    from weasyprint import HTML
    w, h = PAPER_MM[paper]
    topics: dict[str, list[dict]] = {}
    for i, card in enumerate(cards):
        front, back = _sides(card, i, tf_version)
        topics.setdefault(card.topic, []).append({"front": front, "back": back, "card": card})
    groups = [{"name": name, "anchor": f"topic-{n}", "cards": items} for n, (name, items) in enumerate(topics.items())]
    description = (f"tfcards study sheet: {PAPER_LABELS[paper]} portrait {w:g} x {h:g} mm, "
                   f"{len(cards)} cards in {len(groups)} topic{'s' if len(groups) != 1 else ''}")
    doc = {
        "title": f"TensorFlow flashcards: {', '.join(list(topics)[:3])}{', ...' if len(topics) > 3 else ''}",
        "description": description,
        "keywords": ", ".join(topics),
        "custom_metadata": [("layout", "sheet"), ("paper", f"{PAPER_LABELS[paper]} portrait {w:g} x {h:g} mm"),
                            ("tensorflow", tf_version)],
        "page_css": Markup(f"@page {{ size: {_mmv(w)} {_mmv(h)}; }}"),
        "pygments_css": Markup(render.pygments_css()),
        "footer": f"tfcards · {PAPER_LABELS[paper]} {w:g} x {h:g} mm · TensorFlow {tf_version}",
        "toc": len(groups) > 1,
        "tf_version": tf_version,
    }
    html = env.get_template("pdf/sheet.html").render(doc=doc, groups=groups)
    return HTML(string=html, base_url=str(Path.cwd())).render(), description


def describe(layout: str = "duplex", paper: str = "a4", card_size: str = DEFAULT_CARD_SIZE,
             flip: str = "long") -> str:
    """One line on what a layout prints, for `--help` text or a build summary."""
    if layout == "sheet":
        w, h = PAPER_MM[paper]
        return f"study sheet on {PAPER_LABELS[paper]} {w:g} x {h:g} mm"
    return _geometry(layout, paper, card_size, flip).sheet.describe()


def card_sides(cards: Iterable[Card], tf_version: str) -> list[tuple[Side, Side]]:
    """The rendered sides of CARDS, as the templates receive them (for tests and tools)."""
    return [_sides(card, i, tf_version) for i, card in enumerate(cards)]
