"""The study sheet: every question and answer in reading order, grouped by topic."""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Sequence

from markupsafe import Markup

from .. import render
from ..cards import Card
from ..plural import counted
from . import codefit
from .deck import mmv
from .fetch import DeckFetcher
from .fit import MM_PER_PT
from .geometry import CODE_FLOOR_PT, PAPER_LABELS, PAPERS
from .sides import Side, sides


def _fitted(side: Side, width_pt: float) -> Side:
    """SIDE with its code set as large as the sheet's code (0.88 of the text) or as its widest line
    allows, down to the floor, then wrapped between tokens."""
    if not side.code_text:
        return side
    code = codefit.fit(side.code_text, width_pt, CODE_FLOOR_PT)
    return replace(side, code=code.html or side.code, code_text=code.text, code_pts=(round(min(code.cap_pt, 0.88 * TEXT_PT), 2),))


TEXT_PT = 8.5           # the sheet's body size (sheet.css)
MARGINS_MM = 14 + 14     # its page's left and right margins (sheet.css)
INDENT_MM = 5            # an answer's indent (sheet.css)


def sheet_document(env, cards: Sequence[Card], tf_version: str, paper: str, card_size: str, fetcher: DeckFetcher,
                   figures: Mapping[str, Sequence[bytes]] | None = None):
    """The study sheet's laid-out document and its description; topics in the cards' order (the
    learning path), each card's code fitted to the page's width as on the cards."""
    w, h = PAPERS[paper]
    topics: dict[str, list[dict]] = {}
    for i, card in enumerate(cards):
        front, back = (_fitted(side, (w - MARGINS_MM - (INDENT_MM if side.which == "back" else 0)) / MM_PER_PT)
                       for side in sides(card, i, tf_version, (figures or {}).get(card.id, ())))
        topics.setdefault(card.topic, []).append({"front": front, "back": back, "card": card})
    groups = [{"name": name, "anchor": f"topic-{n}", "cards": items} for n, (name, items) in enumerate(topics.items())]
    description = (f"tfcards study sheet: {PAPER_LABELS[paper]} portrait {w:g} x {h:g} mm, "
                   f"{counted(len(cards), 'card')} in {counted(len(groups), 'topic')}")
    doc = {
        "title": f"TensorFlow flashcards: {', '.join(list(topics)[:3])}{', ...' if len(topics) > 3 else ''}",
        "description": description,
        "keywords": ", ".join(topics),
        "custom_metadata": [("layout", "sheet"), ("paper", f"{PAPER_LABELS[paper]} portrait {w:g} x {h:g} mm"),
                            ("tensorflow", tf_version)],
        "page_css": Markup(f"@page {{ size: {mmv(w)} {mmv(h)}; }}"),
        "pygments_css": Markup(render.pygments_css()),
        "footer": f"tfcards · {PAPER_LABELS[paper]} {w:g} x {h:g} mm · TensorFlow {tf_version}",
        "toc": len(groups) > 1,
        "tf_version": tf_version,
    }
    html = env.get_template("pdf/sheet.html").render(doc=doc, groups=groups)
    return fetcher.render(html), description
