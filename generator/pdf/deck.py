"""The cut-out cards' document (duplex and fold-over): pages of slots, their geometry stylesheet,
and the loop that fits every side to its slot, chunk by chunk."""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from markupsafe import Markup

from .. import render
from ..cards import Card
from . import chunks as _chunks
from .code_style import CodeStyle, style_text
from . import codefit
from .fetch import DeckFetcher
from .fit import MM_PER_PT, fit_side, fits, line_em, measure, probe
from .geometry import (CODE_FLOOR_PT, FOOTER_CLEAR, FOOTER_EDGE, FOOTER_PT, MIN_MARGIN, PAPER_LABELS, Sheet,
                       base_step, duplex_sheet, first_step, font_steps, foldover_sheet)
from .sides import Side, sides

MAX_PASSES = 4
FIGURE_SHARE = 0.5  # of a side's height, for its figure(s)


@dataclass(frozen=True)
class Geometry:
    sheet: Sheet
    layout: str
    flip: str
    steps: tuple[float, ...]
    pad: float
    card_size: str

    @property
    def strip_h(self) -> float:
        """mm: the strip with card id and topic at the top of a side, and the "verified with"
        strip at the bottom of an answer side: one line of the card size's small type."""
        return round(self.sheet.card.meta_pt * 1.25 * MM_PER_PT + 0.2, 2)

    @property
    def inner_w(self) -> float:
        return self.sheet.card.width - 2 * self.pad

    def inner_h(self, which: str) -> float:
        strips = self.strip_h * (2 if which == "back" else 1)
        return round(self.sheet.card.height - 1.1 * self.pad - strips, 3)

    def figure_h(self, which: str, count: int) -> float:
        """mm: the height of each of COUNT figures side by side on a WHICH side: half the side's
        height, or less if they would be wider than the slot (a figure is 4:3)."""
        if not count:
            return 0.0
        return round(min(FIGURE_SHARE * self.inner_h(which), self.inner_w / count * 0.75 - 1), 2)


def mmv(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".") + "mm"


def _rect_css(selector: str, r) -> str:
    return f"{selector} {{ left: {mmv(r.x)}; top: {mmv(r.y)}; width: {mmv(r.w)}; height: {mmv(r.h)}; }}"


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def footer_pt(texts: list[str], page_w: float) -> float:
    """The footer's font size: FOOTER_PT, or smaller if the longest of TEXTS would not fit on one
    line between FOOTER_EDGE margins (by the width model, with 5 % to spare)."""
    room_pt = (page_w - 2 * FOOTER_EDGE) / MM_PER_PT
    widest = max(line_em(t) for t in texts) * 1.05
    return min(FOOTER_PT, math.floor(room_pt / widest * 10) / 10)


def _geometry_css(g: Geometry, footer: str, footer_size: float) -> str:
    s = g.sheet
    line = footer_size * 1.2 * MM_PER_PT  # the footer's line height, mm
    out = [
        f"@page {{ size: {mmv(s.page_w)} {mmv(s.page_h)}; margin: 0; }}",
        f".page {{ background: url({_marks_svg(s)}) no-repeat 0 0 / 100% 100%; }}",
        # the full-page cards' footer: one line ending FOOTER_EDGE above the paper's edge
        f"@page large {{ margin: {mmv(MIN_MARGIN)}; @bottom-center {{ content: {_css_string(footer)} "
        f"' · page ' counter(page); font-size: {footer_size}pt; line-height: 1.2; white-space: nowrap; "
        f"color: #555; vertical-align: top; padding-top: {mmv(MIN_MARGIN - FOOTER_EDGE - line)}; }} }}",
        f".page {{ width: {mmv(s.page_w)}; height: {mmv(s.page_h)}; }}",
        f".large {{ min-height: {mmv(s.page_h - 2 * MIN_MARGIN)}; }}",
        f".footer {{ bottom: {mmv(FOOTER_EDGE)}; left: {mmv(FOOTER_EDGE)}; right: {mmv(FOOTER_EDGE)}; "
        f"font-size: {footer_size}pt; line-height: 1.2; }}",
        f".slot .side {{ padding: {mmv(g.pad * 0.55)} {mmv(g.pad)}; }}",
        f".slot .meta, .slot .status {{ font-size: {s.card.meta_pt}pt; }}",
        f".slot .meta {{ height: {mmv(g.strip_h)}; }}",
        f".slot .side-front .body {{ height: {mmv(g.inner_h('front'))}; }}",
        f".slot .side-back .body {{ height: {mmv(g.inner_h('back'))}; }}",
        f".slot .status {{ height: {mmv(g.strip_h)}; padding-top: {mmv(0.3)}; box-sizing: border-box; }}",
    ]
    out += [f".fs{i} {{ font-size: {pt}pt; }}" for i, pt in enumerate(g.steps)]
    out += [_rect_css(f".f{i}", r) for i, r in enumerate(s.fronts)]
    out += [_rect_css(f".b{i}", r) for i, r in enumerate(s.backs)]
    if s.fold is not None:
        f = s.fold
        if f.h > f.w:
            out.append(f".fold-label {{ left: {mmv(f.x + 1)}; top: {mmv(FOOTER_EDGE)}; }}")
        else:
            out.append(f".fold-label {{ top: {mmv(f.y + 0.8)}; left: {mmv(FOOTER_EDGE)}; }}")
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
        # a vertical fold line stops above the footer, like the cut marks
        x1, y1, x2, y2 = ((f.x + f.w / 2, 0, f.x + f.w / 2, s.page_h - FOOTER_CLEAR) if f.h > f.w
                          else (0, f.y + f.h / 2, s.page_w, f.y + f.h / 2))
        parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#777" stroke-width="0.2" '
                     f'stroke-dasharray="2 1.5"/>')
    parts.append("</svg>")
    return "data:image/svg+xml;base64," + base64.b64encode("".join(parts).encode()).decode()


def geometry(layout: str, paper: str, card_size: str, flip: str) -> Geometry:
    sheet = duplex_sheet(paper, card_size, flip) if layout == "duplex" else foldover_sheet(paper, card_size)
    card = sheet.card
    pad = round(min(card.width, card.height) * 0.055, 2)
    return Geometry(sheet, layout, flip, font_steps(card_size), pad, card_size)


def _fitted(side: Side, g: Geometry) -> Side:
    """SIDE with its code fitted to the slot's width (wrapped between tokens if it must be), its
    figures' height, and its font step and code sizes: the width model's guess of the largest
    size from the side's cap down at which it fits. A side so long that even its code goes below
    the floor (with its text at the smallest steps) has its code wrapped again at the columns
    that smaller size holds: fewer lines, and perhaps a larger step."""
    source, floor = side.code_text, CODE_FLOOR_PT
    figure_mm = g.figure_h(side.which, len(side.figures))
    fitted = side
    for _ in range(3):  # the floor only goes down, to at most 0.88 of the smallest step
        cap = float("inf")
        if source:
            code = codefit.fit(source, g.inner_w / MM_PER_PT, floor)
            fitted = replace(side, code=code.html or side.code, code_text=code.text)
            cap = code.cap_pt
        step, code_pts = fit_side(fitted, g.inner_w, g.inner_h(side.which), g.steps,
                                  first_step(g.card_size, side.which), floor, cap, figure_mm)
        fitted = replace(fitted, step=step, code_pts=code_pts, figure_h=mmv(figure_mm) if figure_mm else "")
        if not source or not code.wrapped or code_pts[step] >= floor - 0.01:
            break
        floor = code_pts[step]
    return fitted


def _centred(side: Side) -> Side:
    """SIDE (a front: no output or raises) set in the middle of its slot, its code block as wide
    as its widest line (a centred block must not wrap a line the slot has room for)."""
    code = f"{codefit.width_em(side.code_text) + 0.3:.2f}em" if side.code is not None and side.code_text else ""
    return replace(side, centred=True, code_width=code)


def _pages(g: Geometry, pairs: list[tuple[Side, Side]], probing: bool = False) -> list[dict]:
    sheet, pages = g.sheet, []
    per = sheet.per_page
    chunks = [pairs[i:i + per] for i in range(0, len(pairs), per)]
    for n, chunk in enumerate(chunks, 1):
        label = page_label(g, n, len(chunks), "fronts")
        if probing:
            pages.append({"kind": "probe", "label": "probe",
                          "slots": [{"pos": f"f{i}", "side": s} for i, (s, _) in enumerate(chunk)]})
        elif g.layout == "duplex":
            pages.append({"kind": "front", "label": label,
                          "slots": [{"pos": f"f{i}", "side": f} for i, (f, _) in enumerate(chunk)]})
            pages.append({"kind": "back", "label": page_label(g, n, len(chunks), "backs"),
                          "slots": [{"pos": f"b{i}", "side": b} for i, (_, b) in enumerate(chunk)]})
        else:
            slots = [{"pos": f"f{i}", "side": f} for i, (f, _) in enumerate(chunk)]
            slots += [{"pos": f"b{i}", "side": b} for i, (_, b) in enumerate(chunk)]
            pages.append({"kind": "fold", "label": label, "slots": slots})
    return pages


def page_label(g: Geometry, n: int, of: int, kind: str) -> str:
    """The end of a grid page's footer: which page it is and how to print it."""
    if g.layout == "foldover":
        return f"page {n} of {of} · print one-sided, fold on the dashed line (print outside), then cut"
    if kind == "fronts":
        return f"sheet {n} of {of}, fronts · print double-sided, flip on the {g.flip} edge"
    return f"sheet {n} of {of}, backs"


def cards_pdf(env, cards: Sequence[Card], tf_version: str, layout: str, paper: str, card_size: str,
               flip: str, jobs: int, fetcher: DeckFetcher, figures: Mapping[str, Sequence[bytes]] | None = None
               ) -> tuple[bytes, int, tuple[str, ...], str]:
    """The cut-out cards' PDF: (bytes, pages, ids of the full-page cards, description); FETCHER
    is all the layout may load. FIGURES: the PNGs each card's code drew, by card id."""
    g = geometry(layout, paper, card_size, flip)
    template = env.get_template("pdf/cards.html")
    description = (f"tfcards {layout}: {g.sheet.describe()}"
                   + (f"; print double-sided, flip on the {flip} edge" if layout == "duplex" else "")
                   + "; print at 100% (actual size)")
    footer = (f"tfcards · {PAPER_LABELS[paper]} {g.sheet.orientation} {g.sheet.page_w:g} x {g.sheet.page_h:g} mm "
              f"· print at 100 % (actual size): each card must measure {g.sheet.card.width:g} x "
              f"{g.sheet.card.height:g} mm")
    sheets = -(-len(cards) // g.sheet.per_page)
    size = footer_pt([f"{footer} · {page_label(g, sheets, sheets, kind)}" for kind in ("fronts", "backs")]
                     + [f"{footer} · page {2 * sheets + 2 * len(cards) + 9}"], g.sheet.page_w)
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
        "geometry_css": Markup(_geometry_css(g, footer, size)),
        "pygments_css": Markup(""),
        "footer": footer,
        "has_fold": g.sheet.fold is not None,
    }
    pygments_css = render.pygments_css()
    code_style = CodeStyle.of(pygments_css, style_text(template.render(doc=doc, pages=[], large=[])))
    figures = figures or {}
    pairs = [tuple(_fitted(s, g) for s in sides(card, i, tf_version, figures.get(card.id, ())))
             for i, card in enumerate(cards)]
    pairs = [tuple(replace(s, text=code_style.lean(s.text), code=code_style.lean(s.code),
                           extra=code_style.lean(s.extra)) for s in pair) for pair in pairs]
    doc["pygments_css"] = Markup(code_style.used_css(
        pygments_css, (str(h) for pair in pairs for s in pair for h in (s.text, s.code, s.extra) if h)))
    pairs = [(_centred(f), b) for f, b in pairs]
    large_step = base_step(card_size)
    oversize: set[int] = set()
    last = len(g.steps) - 1

    rendered: dict[str, _chunks.Chunk] = {}  # chunk HTML -> its layout
    chunk_pages = 0

    def layout_all(lay_out) -> list[tuple[str, _chunks.Chunk]]:
        nonlocal chunk_pages
        grid = [p for i, p in enumerate(pairs) if i not in oversize]
        large = [{"front": replace(f, key="", step=large_step), "back": replace(b, key="", step=large_step),
                  "note": f"Card {f.card_id} is too long for a {card_size} card even at {g.steps[-1]}pt, "
                          f"so it is printed whole on its own page; its other side is on the next page."}
                 for i, (f, b) in enumerate(pairs) if i in oversize]
        pages = _pages(g, grid)
        # fixed at the first layout: chunks whose cards did not change keep their HTML
        chunk_pages = chunk_pages or _chunks.chunk_pages(len(pages))
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

    def lay_out_probe(trials: list[tuple[Side, Side]]) -> dict[str, tuple[float, float]]:
        html = template.render(doc=doc, pages=_pages(g, trials, probing=True), large=[])
        return measure(fetcher.render(html))

    # Sides the width model puts at the smallest font may not fit at all. Measure those first, in
    # the probe document: a card that leaves the grid after the deck is laid out would move every
    # later card, and every later chunk would be laid out again.
    doubtful = [f"{i}{w}" for i, pair in enumerate(pairs) for w, side in zip("fb", pair) if side.step == last]
    if doubtful:
        probe(pairs, doubtful, oversize, last, lay_out_probe, first=0)

    with _chunks.chunk_layouts(jobs, fetcher) as lay_out:
        for _ in range(MAX_PASSES):
            chunks = layout_all(lay_out)
            rendered = dict(chunks)  # drop stale layouts
            bad = sorted(k for _, chunk in chunks for k, m in chunk.measured.items() if not fits(m))
            if not bad:
                break
            probe(pairs, bad, oversize, last, lay_out_probe)
        else:  # pragma: no cover - the probe measures exactly what the deck then holds
            raise RuntimeError(f"card sides still overflow after {MAX_PASSES} layouts: {', '.join(bad)}")
    overflowing = tuple(cards[i].id for i in sorted(oversize))
    parts = [chunk for _, chunk in chunks]
    return _chunks.merge(parts), sum(chunk.pages for chunk in parts), overflowing, description
