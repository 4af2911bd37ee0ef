"""The study sheet: every question and answer in reading order, grouped by topic."""
from __future__ import annotations

from typing import Sequence

from markupsafe import Markup

from .. import render
from ..cards import Card
from ..plural import counted
from .deck import mmv
from .fetch import DeckFetcher
from .geometry import PAPER_LABELS, PAPERS
from .sides import sides


def sheet_document(env, cards: Sequence[Card], tf_version: str, paper: str, card_size: str, fetcher: DeckFetcher):
    w, h = PAPERS[paper]
    topics: dict[str, list[dict]] = {}
    for i, card in enumerate(cards):
        front, back = sides(card, i, tf_version)
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
