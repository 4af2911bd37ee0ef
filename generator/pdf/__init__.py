"""Render verified cards to a printable PDF: duplex or fold-over cut-out cards, or a study sheet.

One module per job: `sides` (a card's front and back as HTML), `fit` (the width model and the
probing that fits each side to its slot), `code_style` (lean highlighted code), `chunks` (the
deck laid out in chunks, in parallel worker processes, merged into one PDF), `geometry` (paper,
card grids, mirroring, cut marks), `deck` (the cut-out cards' document) and `sheet` (the study
sheet). Speed: see docs/benchmarks.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .. import render
from ..atomic import atomic_path
from ..cards import Card
from ..errors import CardError
from .chunks import fixed_font_timestamps, gc_paused
from .fetch import DeckFetcher
from .geometry import CARD_SIZES, DEFAULT_CARD_SIZE, FLIPS, PAPER_LABELS
from .geometry import PAPERS as PAPER_MM
from .sides import Side, card_sides

LAYOUTS = ("duplex", "foldover", "sheet")
PAPERS = tuple(PAPER_MM)
__all__ = ["LAYOUTS", "PAPERS", "CARD_SIZES", "DEFAULT_CARD_SIZE", "FLIPS", "PdfResult", "Side", "card_sides",
           "describe", "pdf_filename", "write_pdf"]


@dataclass(frozen=True)
class PdfResult:
    """What was written: the file, and the cards printed as full-page cards at the end."""

    path: Path
    overflowing: tuple[str, ...] = ()
    pages: int = 0
    layout: str = "duplex"
    description: str = ""


def write_pdf(cards: Sequence[Card], out_path: Path, *, tf_version: str, templates_dir: Path | None = None,
              layout: str = "duplex", paper: str = "a4", card_size: str = DEFAULT_CARD_SIZE,
              flip: str = "long", jobs: int | None = None,
              figures: Mapping[str, Sequence[bytes]] | None = None) -> PdfResult:
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
    fetcher = DeckFetcher([image for card in cards for image in card.images],
                          templates_dir or render.default_templates_dir())
    out_path = Path(out_path)
    with gc_paused():
        if layout == "sheet":
            from .sheet import sheet_document
            document, description = sheet_document(env, cards, tf_version, paper, card_size, fetcher, figures)
            overflowing: tuple[str, ...] = ()
            with fixed_font_timestamps():
                # custom_metadata: paper and card size go into the PDF's info dictionary too
                data, pages = document.write_pdf(custom_metadata=True), len(document.pages)
        else:
            from .deck import cards_pdf
            data, pages, overflowing, description = cards_pdf(env, cards, tf_version, layout, paper,
                                                              card_size, flip, jobs or os.cpu_count() or 1,
                                                              fetcher, figures)
        with atomic_path(out_path) as tmp:
            tmp.write_bytes(data)
    return PdfResult(out_path, overflowing, pages, layout, description)


def pdf_filename(stem: str, layout: str = "duplex", paper: str = "a4", card_size: str | None = None,
                 flip: str = "long") -> str:
    """The PDF's file name, saying what it prints: `tensorflow-duplex-a4-3x5-flip-long.pdf`.

    Builds for other paper, card sizes or (duplex) flip edges get other names, instead of
    overwriting each other. The study sheet has no card size: `tensorflow-sheet-letter.pdf`.
    CARD_SIZE None is the default."""
    if layout == "sheet":
        return f"{stem}-{layout}-{paper}.pdf"
    name = f"{stem}-{layout}-{paper}-{card_size or DEFAULT_CARD_SIZE}"
    return f"{name}-flip-{flip}.pdf" if layout == "duplex" else f"{name}.pdf"


def describe(layout: str = "duplex", paper: str = "a4", card_size: str = DEFAULT_CARD_SIZE,
             flip: str = "long") -> str:
    """One line on what a layout prints, for `--help` text or a build summary."""
    if layout == "sheet":
        w, h = PAPER_MM[paper]
        return f"study sheet on {PAPER_LABELS[paper]} {w:g} x {h:g} mm"
    from .deck import geometry
    return geometry(layout, paper, card_size, flip).sheet.describe()
