"""What a card looks like where it is studied: every card of its Anki note as Anki renders it
(the note type's own templates, fields and CSS), and its two printed sides as the PDF prints them."""
from __future__ import annotations

import html
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from .. import anki
from ..cards import Card, clozes, sub_clozes

FIELD_RE = re.compile(r"\{\{([^{}]+)\}\}")
PRINT_DPI = 200


@dataclass(frozen=True)
class AnkiView:
    """One card of a note: the question and answer HTML Anki shows (without its `<style>`)."""

    name: str
    ordinal: int  # Anki's `card1`, `card2`... class on the body
    question: str
    answer: str


@dataclass(frozen=True)
class Note:
    """A card's note as Anki stores it: CSS, the cards it makes, and its media files by name."""

    css: str
    views: tuple[AnkiView, ...]
    media: dict[str, Path | bytes]  # image files, and the PNGs of the figures the code drew


def note(card: Card, env, tf_version: str, figures: Sequence[bytes] = ()) -> Note:
    """Render CARD's note through the same templates and note types as `tfcards build`, with the
    FIGURES its code drew."""
    values, media = anki.render_fields(card, env, tf_version, figures)
    kind = anki.MODELS[card.type]
    fields = dict(zip(kind.fields, values))
    css = env.get_template("anki/style.css").render().strip() + "\n"
    views = []
    if kind.cloze:
        (name, qfmt, afmt), = kind.templates
        for n in cloze_ordinals(fields["Text"]):
            question = fill(qfmt, fields, n)
            views.append(AnkiView(f"cloze c{n}", n, question, fill(afmt, fields, n, question)))
    else:
        for i, (name, qfmt, afmt) in enumerate(kind.templates, start=1):
            question = fill(qfmt, fields, i)
            label = name + (" (reversed)" if i == 2 else "")
            views.append(AnkiView(label, i, question, fill(afmt, fields, i, question)))
    return Note(css, tuple(views), media)


def cloze_ordinals(text: str) -> list[int]:
    """The deletions' numbers, each one card in Anki: `{{c1::..}} {{c3::..}}` -> [1, 3]."""
    return sorted({int(m.group(1)) for m in clozes(text)})


def fill(template: str, fields: dict[str, str], ordinal: int, question: str | None = None) -> str:
    """Anki's template substitution for the replacements our note types use: `{{Field}}`,
    `{{FrontSide}}` (the rendered question) and `{{cloze:Field}}` (card ORDINAL's deletions)."""
    def replace(m: re.Match) -> str:
        name = m.group(1).strip()
        if name == "FrontSide":
            return question or ""
        if name.startswith("cloze:"):
            return cloze(fields[name[len("cloze:"):]], ordinal, answer=question is not None)
        return fields[name]
    return FIELD_RE.sub(replace, template)


def cloze(text: str, ordinal: int, answer: bool) -> str:
    """Anki's `cloze:` filter: card ORDINAL's deletions hidden (`[...]` or the hint) on the
    question, revealed on the answer; the other deletions shown as inactive text."""
    def sub(m: re.Match) -> str:
        n, content, hint = int(m.group(1)), m.group(2), m.group(3)
        if n != ordinal:
            return f'<span class="cloze-inactive" data-ordinal="{n}">{content}</span>'
        if answer:
            return f'<span class="cloze" data-ordinal="{n}">{content}</span>'
        shown = f"[{hint}]" if hint else "[...]"
        return f'<span class="cloze" data-cloze="{_attribute(content)}" data-ordinal="{n}">{shown}</span>'
    return sub_clozes(sub, text)


NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}


def _attribute(text: str) -> str:
    """Escaped as Anki escapes an attribute (the htmlescape crate's `encode_attribute`): ASCII
    letters and digits kept, `&<>"` named, every other character as `&#xHH;`."""
    return "".join(c if c.isascii() and c.isalnum() else NAMED.get(c, f"&#x{ord(c):02X};") for c in text)


def document(body: str, css_url: str, ordinal: int, night: bool, media_url: str) -> str:
    """The page Anki's reviewer shows: the card's CSS (linked from CSS_URL: the live page's policy
    allows no inline style sheet), `card cardN` (and night mode's classes) on the body, relative
    media links resolved against MEDIA_URL."""
    classes = f"card card{ordinal}" + (" nightMode night_mode" if night else "")
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><base href="{html.escape(media_url)}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<link rel="stylesheet" href="{html.escape(css_url)}"></head>'
            f'<body class="{classes}"><div id="qa">{body}</div></body></html>')


class PrintUnavailable(RuntimeError):
    """The printed sides cannot be shown here (poppler's pdftoppm is missing)."""


def printed_sides(card: Card, tf_version: str, templates_dir: Path | None, out_dir: Path,
                  card_size: str | None = None, figures: Sequence[bytes] = ()) -> tuple[Path, Path]:
    """PNG images of CARD's front and back as `tfcards build --format pdf` prints them (duplex,
    A4), with the FIGURES its code drew, cut out of the real PDF at the card's slots. Runs in a
    worker process: WeasyPrint takes about a second and must not hold the server's event loop."""
    from PIL import Image

    from ..pdf import DEFAULT_CARD_SIZE, write_pdf
    from ..pdf.geometry import duplex_sheet

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise PrintUnavailable("install poppler-utils (pdftoppm) to see the printed sides here")
    size = card_size or DEFAULT_CARD_SIZE
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tfcards-print-") as tmp:
        result = write_pdf([card], Path(tmp) / "card.pdf", tf_version=tf_version, templates_dir=templates_dir,
                           layout="duplex", card_size=size, jobs=1, figures={card.id: tuple(figures)})
        pages = result.pages
        first = pages - 1 if result.overflowing else 1  # a card too long for its slot prints whole, last
        subprocess.run([pdftoppm, "-png", "-r", str(PRINT_DPI), "-f", str(first), "-l", str(first + 1),
                        str(result.path), str(Path(tmp) / "page")], check=True, capture_output=True)
        images = sorted(Path(tmp).glob("page-*.png"))
        sheet = duplex_sheet("a4", size, "long")
        outs = []
        for which, image, rect in (("front", images[0], sheet.fronts[0]), ("back", images[1], sheet.backs[0])):
            with Image.open(image) as page:
                if not result.overflowing:
                    px = PRINT_DPI / 25.4
                    page = page.crop((round(rect.x * px), round(rect.y * px),
                                      round((rect.x + rect.w) * px), round((rect.y + rect.h) * px)))
                target = out_dir / f"{card.id}-{which}.png"
                page.save(target)
                outs.append(target)
    return outs[0], outs[1]
