"""Page geometry for the printable deck: paper, card grids, duplex mirroring, cut marks, font sizes.

Everything is in millimetres and independent of HTML, so the tests can compute where a card
must be and compare it with what the PDF holds. A grid is always centred with symmetric
margins: that is what makes the back page's grid land on the front page's when printed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

PAPERS: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}  # portrait w, h
PAPER_LABELS = {"a4": "A4", "letter": "US Letter"}


@dataclass(frozen=True)
class CardSize:
    name: str
    width: float   # mm, the card's long side (cards are printed landscape)
    height: float
    label: str     # as people buy them
    base_pt: float  # the body font size before sides grew to fit: code may wrap at it and below
    cap_pt: float   # the largest a question is set; answers get BACK_CAP of it
    meta_pt: float  # the id and topic strip, and the "verified with" line


CARD_SIZES: dict[str, CardSize] = {
    # caps: 20 pt on a 5 x 3 in card (a short question reads across a table), in proportion to
    # the card's height for the others
    "business": CardSize("business", 88.9, 50.8, "business card 3.5 x 2 in", 8.0, 13.5, 6.0),
    "3x5": CardSize("3x5", 127.0, 76.2, "index card 5 x 3 in", 10.0, 20.0, 6.5),
    "4x6": CardSize("4x6", 152.4, 101.6, "index card 6 x 4 in", 11.0, 26.5, 7.0),
}
BACK_CAP = 0.8         # an answer is longer and read up close: its cap is this much of the question's
DEFAULT_CARD_SIZE = "3x5"
FLIPS = ("long", "short")
MIN_MARGIN = 10.0      # mm between paper edge and grid: printers' unprintable edge plus cut marks
MARK_GAP = 1.5         # mm between the grid and the start of a cut mark
MARK_LEN = 5.0         # mm, the longest a cut mark gets
MARK_WIDTH = 0.2       # mm, thickness of a cut mark
FOOTER_CLEAR = 8.5     # mm from the paper's bottom edge kept free of cut marks for the footer
FOOTER_EDGE = 5.5      # mm from the paper's edges to the footer: printers clip the outer 4-5 mm
FOOTER_PT = 5.5        # the footer's font size, smaller only if its line would not fit
FLOOR_PT = 6.5         # the smallest body font a card side is shrunk to
# The smallest a code block is set before its long lines wrap (between tokens). 6.5 pt DejaVu Sans
# Mono is 1.38 mm a column, as small as print stays readable in the hand; a 3x5 card then holds
# 83 columns, so code written to PEP 8 (79) never wraps on it, the business card 58, 4x6 100.
CODE_FLOOR_PT = 6.5


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def mirrored_x(self, page_w: float) -> Rect:
        return Rect(round(page_w - self.x - self.w, 4), self.y, self.w, self.h)

    def mirrored_y(self, page_h: float) -> Rect:
        return Rect(self.x, round(page_h - self.y - self.h, 4), self.w, self.h)


@dataclass(frozen=True)
class Sheet:
    """One page's geometry: where each card's front and back go, marks, an optional fold line.

    `fronts[i]` and `backs[i]` are the slots of the i-th card on this sheet (reading order);
    in duplex they are on consecutive pages, in foldover on the same page.
    """

    paper: str
    page_w: float
    page_h: float
    card: CardSize
    cols: int
    rows: int
    fronts: tuple[Rect, ...]
    backs: tuple[Rect, ...]
    marks: tuple[Rect, ...]            # cut marks, identical on front and back pages
    fold: Rect | None = None           # foldover: the fold line (a thin rect across the page)

    @property
    def per_page(self) -> int:
        return len(self.fronts)

    @property
    def orientation(self) -> str:
        return "landscape" if self.page_w > self.page_h else "portrait"

    def describe(self) -> str:
        """`A4 landscape 297 x 210 mm, cards 127 x 76.2 mm (index card 5 x 3 in), 4 per page`."""
        return (f"{PAPER_LABELS[self.paper]} {self.orientation} {_mm(self.page_w)} x {_mm(self.page_h)} mm, "
                f"cards {_mm(self.card.width)} x {_mm(self.card.height)} mm ({self.card.label}), "
                f"{self.per_page} per page")


def _mm(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def _orientations(paper: str) -> list[tuple[float, float]]:
    w, h = PAPERS[paper]
    return [(w, h), (h, w)]  # portrait first: it wins ties


def _fit(length: float, card: float) -> int:
    return max(0, math.floor((length - 2 * MIN_MARGIN) / card + 1e-9))


def _check(paper: str, card_size: str, flip: str | None = None) -> None:
    if paper not in PAPERS:
        raise ValueError(f"unknown paper {paper!r}: choose from {', '.join(PAPERS)}")
    if card_size not in CARD_SIZES:
        raise ValueError(f"unknown card size {card_size!r}: choose from {', '.join(CARD_SIZES)}")
    if flip is not None and flip not in FLIPS:
        raise ValueError(f"unknown flip {flip!r}: choose from {', '.join(FLIPS)}")


def cut_marks(xs: list[float], ys: list[float], page_w: float, page_h: float) -> tuple[Rect, ...]:
    """Short marks in the margins continuing every grid line, outside the cards."""
    left, right, top, bottom = xs[0], xs[-1], ys[0], ys[-1]
    half = MARK_WIDTH / 2
    marks = []
    # one length top and bottom (and one left and right) so the marks mirror onto themselves
    top_len = bottom_len = min(MARK_LEN, top - MARK_GAP - 2.0, page_h - bottom - MARK_GAP - FOOTER_CLEAR)
    side_len = min(MARK_LEN, left - MARK_GAP - 2.0, page_w - right - MARK_GAP - 2.0)
    for x in xs:
        if top_len > 0.5:
            marks.append(Rect(x - half, top - MARK_GAP - top_len, MARK_WIDTH, top_len))
        if bottom_len > 0.5:
            marks.append(Rect(x - half, bottom + MARK_GAP, MARK_WIDTH, bottom_len))
    for y in ys:
        if side_len > 0.5:
            marks.append(Rect(left - MARK_GAP - side_len, y - half, side_len, MARK_WIDTH))
            marks.append(Rect(right + MARK_GAP, y - half, side_len, MARK_WIDTH))
    return tuple(Rect(*(round(v, 4) for v in (m.x, m.y, m.w, m.h))) for m in marks)


def duplex_sheet(paper: str, card_size: str, flip: str = "long") -> Sheet:
    """The grid for double-sided printing: the orientation holding the most cards, centred.

    The back of the card in row r, column c sits where that spot lands after turning the
    sheet over: flipping about the paper's long edge turns a portrait page left-to-right
    (same row, mirrored column) and a landscape page top-to-bottom (mirrored row); the
    short edge is the other way round.
    """
    _check(paper, card_size, flip)
    card = CARD_SIZES[card_size]
    best = max(_orientations(paper), key=lambda wh: _fit(wh[0], card.width) * _fit(wh[1], card.height))
    page_w, page_h = best
    cols, rows = _fit(page_w, card.width), _fit(page_h, card.height)
    assert cols and rows, (paper, card_size)
    x0 = round((page_w - cols * card.width) / 2, 4)
    y0 = round((page_h - rows * card.height) / 2, 4)
    fronts = tuple(Rect(round(x0 + c * card.width, 4), round(y0 + r * card.height, 4), card.width, card.height)
                   for r in range(rows) for c in range(cols))
    portrait = page_h >= page_w
    mirror_columns = (flip == "long") == portrait
    backs = tuple(f.mirrored_x(page_w) if mirror_columns else f.mirrored_y(page_h) for f in fronts)
    xs = [x0 + c * card.width for c in range(cols + 1)]
    ys = [y0 + r * card.height for r in range(rows + 1)]
    return Sheet(paper, page_w, page_h, card, cols, rows, fronts, backs, cut_marks(xs, ys, page_w, page_h))


def foldover_sheet(paper: str, card_size: str) -> Sheet:
    """Fronts on one half of the page, backs mirrored across the fold line on the other half.

    The cards touch the fold, so after folding (printed sides out) the fold is one edge of
    every card and only the other three are cut. A vertical fold (book-like) wins ties.
    """
    _check(paper, card_size)
    card = CARD_SIZES[card_size]
    options = []
    for page_w, page_h in _orientations(paper):
        # vertical fold: each half is page_w/2 wide, cards butt against the fold
        cols = max(0, math.floor((page_w / 2 - MIN_MARGIN) / card.width + 1e-9))
        rows = _fit(page_h, card.height)
        options.append((cols * rows, 1, "vertical", page_w, page_h, cols, rows))
        cols = _fit(page_w, card.width)
        rows = max(0, math.floor((page_h / 2 - MIN_MARGIN) / card.height + 1e-9))
        options.append((cols * rows, 0, "horizontal", page_w, page_h, cols, rows))
    # most cards; then vertical fold; then portrait (listed first, so keep the first max)
    best = max(options, key=lambda o: (o[0], o[1]))
    _, _, fold_dir, page_w, page_h, cols, rows = best
    assert cols and rows, (paper, card_size)
    if fold_dir == "vertical":
        x0 = round(page_w / 2 - cols * card.width, 4)
        y0 = round((page_h - rows * card.height) / 2, 4)
    else:
        x0 = round((page_w - cols * card.width) / 2, 4)
        y0 = round(page_h / 2 - rows * card.height, 4)
    fronts = tuple(Rect(round(x0 + c * card.width, 4), round(y0 + r * card.height, 4), card.width, card.height)
                   for r in range(rows) for c in range(cols))
    if fold_dir == "vertical":
        backs = tuple(f.mirrored_x(page_w) for f in fronts)
        xs = [x0 + c * card.width for c in range(2 * cols + 1)]
        ys = [y0 + r * card.height for r in range(rows + 1)]
        fold = Rect(round(page_w / 2 - MARK_WIDTH / 2, 4), 0.0, MARK_WIDTH, page_h)
    else:
        backs = tuple(f.mirrored_y(page_h) for f in fronts)
        xs = [x0 + c * card.width for c in range(cols + 1)]
        ys = [y0 + r * card.height for r in range(2 * rows + 1)]
        fold = Rect(0.0, round(page_h / 2 - MARK_WIDTH / 2, 4), page_w, MARK_WIDTH)
    return Sheet(paper, page_w, page_h, card, cols, rows, fronts, backs,
                 cut_marks(xs, ys, page_w, page_h), fold)


def font_steps(card_size: str) -> tuple[float, ...]:
    """Body font sizes (pt) a side tries, largest first: from the card size's cap down to its base
    about 10 % apart (a probe lays a side out at each smaller step, so they are few), then as
    before the sides grew: 1 pt apart, 0.5 pt below 9 pt, down to the readable floor."""
    card = CARD_SIZES[card_size]
    steps = []
    size = card.cap_pt
    while size > card.base_pt * 1.05:
        steps.append(size)
        size = round(size * 0.9 * 2) / 2
    size = card.base_pt
    while size > FLOOR_PT + 1e-9:
        steps.append(size)
        size -= 1.0 if size > 9 else 0.5
    steps.append(FLOOR_PT)
    return tuple(steps)


def first_step(card_size: str, which: str) -> int:
    """The index in font_steps(CARD_SIZE) of the largest size a WHICH ("front" | "back") side gets."""
    card = CARD_SIZES[card_size]
    cap = card.cap_pt if which == "front" else card.cap_pt * BACK_CAP
    return next(i for i, pt in enumerate(font_steps(card_size)) if pt <= cap + 1e-9)


def base_step(card_size: str) -> int:
    """The index in font_steps(CARD_SIZE) of the largest size at or below the card size's base."""
    base = CARD_SIZES[card_size].base_pt
    return next(i for i, pt in enumerate(font_steps(card_size)) if pt <= base + 1e-9)
