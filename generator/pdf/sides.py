"""Side content: one card's front and back as the PDF templates receive them (HTML rendered)."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

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
    centred: bool = False      # set in the middle of its slot, its blocks as wide as their lines
    code_width: str = ""       # CSS width of the code block, if centred (only fronts are: no output)
    output_label: str = "Output"  # says when the output is compared within a tolerance
    code_text: str = ""        # the code as printed: wrapped between tokens if it had to be
    code_pts: tuple[float, ...] = ()  # the code's own size (pt) at each font step; () = 0.88 em
    extra: Markup | None = None  # context under the answer, not graded
    extra_source: str = ""
    figures: tuple[str, ...] = ()  # URLs of the figures the card's code drew, shown on this side
    figure_h: str = ""         # CSS height of each figure

    @property
    def code_pt(self) -> float | None:
        """The code's size at this side's font step, if it has one of its own."""
        return self.code_pts[self.step] if self.code_pts else None


# The space between a word and the inline code that follows it
_BEFORE_INLINE_RE = re.compile(r"(?<=[^\s<>])([ \t\n]+)(?=<code>)")


def keep_lines_full(html: str) -> Markup:
    """HTML whose every space before inline code is a box of its own. WeasyPrint, breaking a line
    before an inline element that does not fit on it, breaks the text run before that element at
    the run's first opportunity instead of its last: the question "How do you keep only the last
    few `tf.train.Checkpoint` saves on disk?" printed "How" alone on its first line. With the
    space in a box of its own, the break falls there, just before the element. (Only before code,
    and only on questions: each box costs layout time, code spans are the long inline elements of
    a card, and a large centred question is where a line broken too early shows.)"""
    return Markup(_BEFORE_INLINE_RE.sub(r"<span>\1</span>", str(html)))


def _image_src(card: Card):
    return lambda target: render.image_path(card, target).as_uri()


def png_url(png: bytes) -> str:
    """A figure as a `data:` URL: the PDF needs no file the card chose."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def sides(card: Card, index: int, tf_version: str, figures: Sequence[bytes] = ()) -> tuple[Side, Side]:
    """The front and back of CARD, the INDEX-th card of the deck (the key the fitting measures by);
    FIGURES are the PNGs its code drew."""
    src = _image_src(card)
    code = Markup(render.highlight_code(card.code)) if card.code is not None else None
    if card.type == "cloze":
        front_md, back_md = render.cloze(card.front, reveal=False), render.cloze(card.front, reveal=True)
        if card.back.strip():
            back_md += "\n\n" + card.back
    else:
        front_md, back_md = card.front, card.back
    code_front = card.code_on == "front"
    urls = tuple(png_url(png) for png in figures)
    extra = Markup(render.markdown_html(card.extra, src)) if card.extra.strip() else None
    # the question, set large and centred, is where a line broken too early shows
    front = Side("front", card.id, card.topic, f"{index}f", keep_lines_full(render.markdown_html(front_md, src)),
                 code if code_front else None, None, None, "", source=front_md,
                 code_text=(card.code or "") if code_front else "",
                 figures=urls if card.figure == "front" else ())
    back = Side("back", card.id, card.topic, f"{index}b", Markup(render.markdown_html(back_md, src)),
                None if code_front else code, card.output, card.raises,
                render.status_line(card, None, tf_version), source=back_md,
                output_label=render.output_label(card), code_text="" if code_front else (card.code or ""),
                extra=extra, extra_source=card.extra, figures=urls if card.figure == "back" else ())
    return front, back


def card_sides(cards: Iterable[Card], tf_version: str,
               figures: Mapping[str, Sequence[bytes]] | None = None) -> list[tuple[Side, Side]]:
    """The rendered sides of CARDS, as the templates receive them (for tests and tools)."""
    return [sides(card, i, tf_version, (figures or {}).get(card.id, ())) for i, card in enumerate(cards)]
