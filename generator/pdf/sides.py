"""Side content: one card's front and back as the PDF templates receive them (HTML rendered)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from markupsafe import Markup

from .. import render
from ..cards import Card


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
    centred: bool = False      # set in the middle of its slot, its blocks as wide as their lines
    code_width: str = ""       # CSS width of the code block, output and raises blocks, if centred
    output_width: str = ""
    raises_width: str = ""
    output_label: str = "Output"  # says when the output is compared within a tolerance


def _image_src(card: Card):
    return lambda target: render.image_path(card, target).as_uri()


def sides(card: Card, index: int, tf_version: str) -> tuple[Side, Side]:
    """The front and back of CARD, the INDEX-th card of the deck (the key the fitting measures by)."""
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
                source_code=tuple(x for x in (back_code, card.output, card.raises) if x is not None),
                output_label=render.output_label(card))
    return front, back


def card_sides(cards: Iterable[Card], tf_version: str) -> list[tuple[Side, Side]]:
    """The rendered sides of CARDS, as the templates receive them (for tests and tools)."""
    return [sides(card, i, tf_version) for i, card in enumerate(cards)]
