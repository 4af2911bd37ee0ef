"""The serve pages and the fragments pushed to them, rendered from templates/serve/."""
from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from pathlib import Path

from markupsafe import Markup

from .. import figures, render
from ..errors import display_path
from . import preview
from .workspace import Update, Workspace

CLIP = 20_000  # characters of a diff or stderr shown: a flooding card must not flood the page


class Pages:
    """Renders the deck page, card pages and their updates. CARD_ENV renders the cards
    themselves (the user's `--templates`); the pages' own templates are always the shipped ones."""

    def __init__(self, ws: Workspace, card_env=None, card_size: str | None = None) -> None:
        self.ws = ws
        self.card_env = card_env or render.environment()
        self.card_size = card_size
        self.env = render.environment(render.default_templates_dir())
        self.env.filters["markdown_inline"] = lambda text: Markup(render.markdown_inline(text))
        self.env.globals.update(where=_where, clip=_clip, diff_class=_diff_class, count=_count,
                                topics=_topics, tags=_tags)
        self.media: dict[str, Path] = {}  # media name -> file, for the cards shown so far
        self.templates_generation = 0    # bumped when the card templates change
        self._figures = tempfile.TemporaryDirectory(prefix="tfcards-figures-")  # served as media

    def deck(self) -> str:
        return self.env.get_template("serve/deck.html").render(self._context("deck"))

    def card(self, card_id: str) -> str:
        return self.env.get_template("serve/card.html").render(self._card_context(card_id))

    def deck_update(self, update: Update) -> dict:
        """What a deck page needs to catch up with UPDATE: changed rows, removed rows, the order."""
        row = self.env.get_template("serve/parts.html").module.row
        rows: dict[str, str | None] = {i: str(row(self.ws.entries[i])) for i in sorted(update.changed)}
        rows.update({i: None for i in sorted(update.removed)})
        data: dict = {"version": self.ws.version, "rows": rows, "summary": self._part("summary")}
        if update.order:
            data["order"] = [c.id for c in self.ws.cards]
            data["filters"] = self._part("filters")
        if update.errors:
            data["errors"] = self._part("errors")
        return data

    def card_main(self, card_id: str) -> dict:
        """A card page's whole content, for a card (or templates) that changed."""
        html = self.env.get_template("serve/card.html").render(self._card_context(card_id))
        return {"version": self.ws.version, "main": _between(html, '<main id="main">', "</main>")}

    def deck_main(self) -> dict:
        html = self.deck()
        return {"version": self.ws.version, "main": _between(html, '<main id="main">', "</main>"),
                "summary": self._part("summary")}

    def print_token(self, card_id: str) -> str:
        """Changes whenever the printed sides of CARD_ID may have: its source, the templates, or the
        figures its code drew (a figure arrives with its run's outcome)."""
        entry = self.ws.entry(card_id)
        drawn = hashlib.sha256(b"".join(self.figures(card_id))).hexdigest() if entry else ""
        material = f"{entry.card!r}|{self.templates_generation}|{self.ws.tensorflow}|{drawn}" if entry else ""
        return hashlib.sha256(material.encode()).hexdigest()[:12]

    def _part(self, name: str) -> str:
        return str(getattr(self.env.get_template("serve/parts.html").module, name)(self.ws))

    def _context(self, page: str, card_id: str | None = None) -> dict:
        return {"ws": self.ws, "page": page, "card_id": card_id, "root": "/"}

    def _card_context(self, card_id: str) -> dict:
        context = self._context("card", card_id)
        entry = self.ws.entry(card_id)
        context["entry"] = entry
        if entry is not None:
            note = preview.note(entry.card, self.card_env, self.ws.tensorflow, self.figures(card_id))
            self.media.update(self._files(note.media))
            from ..anki import MODELS

            def anki_document(view, side, night):
                body = view.question if side == "question" else view.answer
                return preview.document(body, f"/note.css?v={self.templates_generation}", view.ordinal, night,
                                        "/media/")

            context.update(note=note, note_type=MODELS[entry.card.type].name, anki_document=anki_document,
                           print_token=self.print_token(card_id),
                           card_size=self.card_size or "the default card size")
        return context


    def figures(self, card_id: str) -> tuple[bytes, ...]:
        """The PNGs the card's last run drew, if it has `figure` and its run is known."""
        entry = self.ws.entry(card_id)
        if entry is None or entry.card.figure is None or not entry.card.runs:
            return ()
        return figures.decode(self.ws.outcome(entry.card))

    def _files(self, media: dict[str, Path | bytes]) -> dict[str, Path]:
        """MEDIA as files: a figure's bytes are written once, under their content-named file."""
        out = {}
        for name, data in media.items():
            if isinstance(data, bytes):
                path = Path(self._figures.name) / name
                if not path.exists():
                    path.write_bytes(data)
                data = path
            out[name] = data
        return out


def _between(html: str, start: str, end: str) -> str:
    i = html.index(start)
    j = html.rindex(end) + len(end)
    return html[i:j]


def _where(card) -> str:
    return f"{display_path(card.file)}:{card.line}"


def _clip(text: str) -> str:
    if len(text) <= CLIP:
        return text
    return text[:CLIP] + f"\n[... {len(text) - CLIP} more characters not shown]"


def _diff_class(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "head"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "")


def _count(ws: Workspace) -> Counter:
    return Counter(ws.entries[c.id].status for c in ws.cards)


def _topics(ws: Workspace) -> list[str]:
    return list(dict.fromkeys(c.topic for c in ws.cards))


def _tags(ws: Workspace) -> list[str]:
    return sorted({t for c in ws.cards for t in c.tags})
