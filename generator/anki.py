"""Write verified cards as an Anki package that updates in place on re-import.

What makes re-import safe, and why each piece is here:

* Note types have fixed ids, field names and template names (`MODELS`). Anki compares an incoming
  note type with the one it has by id and by those names (its "schema"); if they differ it
  imports a *copy* and leaves every existing note alone. Changing them means a new id (see
  docs/anki.md). The templates' text, the rendered fields and the CSS may change freely: a newer
  note type with the same names replaces the old one in place. So `extra` lives in the `Status`
  field, the answer side's footer, which every answer template shows and no question does.
* Subdecks carry the learning path in their names (`TensorFlow::01 Tensors`): Anki lists
  subdecks by name and, with its default options, gathers new cards deck by deck in that order,
  each deck's in the order of their `due` position, which follows the cards' order.
* The note GUID comes from the card id alone, so any other edit updates the same note.
* Anki's default import updates a note only when the incoming one is newer, and genanki
  stamps a whole package with one time. We keep one stamp per note in a small JSON file
  beside the sources (`anki-stamps.json`, committed with them): a note whose rendered
  content changed gets max(now, old + 1); an unchanged one keeps its old stamp, so a user's
  own edit in Anki survives, and an unchanged deck rebuilds to a byte-identical package.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
import sqlite3
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import genanki
from genanki.util import guid_for
from markupsafe import Markup

from . import images, render
from .atomic import atomic_path, write_text
from .cards import Card, subdecks
from .errors import CardError

FIELDS = ("Id", "Topic", "Front", "Back", "Code", "Output", "Status")
CLOZE_FIELDS = ("Id", "Topic", "Text", "Extra", "Code", "Output", "Status")
QA = '{{FrontSide}}\n<hr id="answer">\n'
FOOTER = "\n{{Status}}"  # the answer's footer: the card's extra, then what verified it


@dataclass(frozen=True)
class NoteType:
    """The frozen identity of one Anki note type: never change it in place."""

    id: int
    name: str
    fields: tuple[str, ...]
    templates: tuple[tuple[str, str, str], ...]  # (name, question format, answer format)
    cloze: bool = False


MODELS = {
    "basic": NoteType(1746003100, "tfcards basic", FIELDS,
                      (("Card 1", "{{Front}}", QA + "{{Back}}" + FOOTER),)),
    "reverse": NoteType(1746003101, "tfcards reverse", FIELDS,
                        (("Card 1", "{{Front}}", QA + "{{Back}}" + FOOTER),
                         ("Card 2", "{{Back}}", QA + "{{Front}}" + FOOTER))),
    "cloze": NoteType(1746003102, "tfcards cloze", CLOZE_FIELDS,
                      (("Cloze", "{{cloze:Text}}", "{{cloze:Text}}\n<hr id=\"answer\">\n{{Extra}}" + FOOTER),),
                      cloze=True),
}
MAX_STAMP = 253_402_300_799  # 9999-12-31 23:59:59 UTC
FIXED_TIME = 1_700_000_000  # stamp of anything built without a stamps file: reproducible, and older than any edit


class _Model(genanki.Model):
    """A genanki model whose `mod` is its own stamp, not the package's build time."""

    def __init__(self, kind: NoteType, css: str, stamp: int) -> None:
        super().__init__(kind.id, kind.name, fields=[{"name": f} for f in kind.fields],
                         templates=[{"name": n, "qfmt": q, "afmt": a} for n, q, a in kind.templates],
                         css=css, model_type=genanki.Model.CLOZE if kind.cloze else genanki.Model.FRONT_BACK)
        self.stamp = stamp

    def to_json(self, timestamp: float, deck_id):
        return super().to_json(self.stamp, deck_id)


class _Note(genanki.Note):
    """A genanki note written with its own modification time (see the module docstring)."""

    def __init__(self, *, stamp: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.stamp = stamp

    def write_to_db(self, cursor, timestamp: float, deck_id, id_gen):
        super().write_to_db(cursor, self.stamp, deck_id, id_gen)


def deck_id(name: str) -> int:
    """A stable deck id from the deck path, in the range genanki recommends."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return (1 << 30) + digest % (1 << 30)


def note_guid(card: Card) -> str:
    """The note's identity: the card id alone (the format's promise)."""
    return guid_for("tfcards", card.id)


def media_name(path: Path) -> str:
    """A collision-free media file name that changes when the image does; the suffix is the
    type its content has (images.read), the rest of the name only letters, digits, `-`, `_`."""
    data, kind = images.read(path)
    digest = hashlib.sha256(data).hexdigest()[:10]
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem)[:40]
    return f"tfcards-{digest}-{stem}{kind.suffix}"


def figure_name(card: Card, n: int, png: bytes) -> str:
    """The media file name of the N-th figure CARD's code drew: changes when the picture does."""
    return f"tfcards-{hashlib.sha256(png).hexdigest()[:10]}-{card.id}-figure{n}.png"


def render_fields(card: Card, env, tf_version: str,
                  figures: Sequence[bytes] = ()) -> tuple[list[str], dict[str, Path | bytes]]:
    """The note's field values, rendered through the user's Jinja templates, and its media (image
    files by name, and the PNGs of FIGURES, the figures the card's code drew)."""
    figure_media = {figure_name(card, n, png): png for n, png in enumerate(figures, 1)}
    context = dict(
        card=card,
        code=Markup(render.highlight_code(card.code)) if card.code is not None else None,
        status=render.status_line(card, None, tf_version),
        image_src=lambda target: media_name(render.image_path(card, target)),
        figures=list(figure_media),
    )
    front = env.get_template("anki/front.html").render(context).strip()
    back = env.get_template("anki/back.html").render(context).strip()
    footer = env.get_template("anki/footer.html").render(context).strip()
    output = card.output if card.output is not None else (card.raises or "")
    media: dict[str, Path | bytes] = {media_name(path): path for path in card.images}
    return ([card.id, _plain(card.topic), front, back, _plain(card.code or ""), _plain(output), footer],
            {**media, **figure_media})


def _plain(text: str) -> str:
    """Source text as a field: escaped, with line breaks Anki keeps, searchable as written."""
    return str(Markup.escape(text.rstrip("\n"))).replace("\n", "<br>")


def _hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()[:16]


class Stamps:
    """Modification times by content: old stamp if unchanged, else a newer one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, dict] = {}
        if path is not None and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            try:
                data = json.loads(text)
                self.entries = {k: v for k, v in data.get("stamps", {}).items() if isinstance(v, dict)}
            except (ValueError, AttributeError):
                self.entries = {}  # a corrupt file only costs one round of "everything is newer"
            for key, entry in self.entries.items():
                _check_stamp(entry.get("mod"), key, path, text)
        self.now = int(time.time())
        self.changed = False

    @classmethod
    def check(cls, path: Path | None, cards: Sequence[Card] = ()) -> None:
        """Read PATH only to refuse a bad stamp, or a card whose kind changed, before anything
        runs (a CardError naming it)."""
        cls(path).refuse_kind_changes(cards)

    def refuse_kind_changes(self, cards: Sequence[Card]) -> None:
        """A shipped note keeps its note type: Anki skips an update that changes it ("note type
        has changed"), so learners would keep the old card, and every later edit of it, silently.
        A card that becomes a cloze (or stops being one) needs a new id."""
        for card in cards:
            was = self.entries.get(f"note:{card.id}", {}).get("kind")
            if was is not None and was != card.type:
                raise CardError(f"was shipped as a {was} card and is now a {card.type} card: Anki does not "
                                f"update a note whose type changed, so learners would keep the old one; give it "
                                f"a new id (or delete its entry from {self.path.name} if it never shipped)",
                                card.file, card.line, card.id)

    def stamp(self, key: str, digest: str, kind: str | None = None) -> int:
        old = self.entries.get(key)
        if old is not None and old.get("hash") == digest:
            if kind is not None and old.get("kind") != kind:
                old["kind"] = kind  # recorded from now on (files written before kinds were kept)
                self.changed = True
            return old["mod"]
        if self.path is None:
            return FIXED_TIME
        mod = max(self.now, old["mod"] + 1) if old else self.now
        self.entries[key] = {"hash": digest, "mod": mod, **({"kind": kind} if kind else {})}
        self.changed = True
        return mod

    def save(self) -> None:
        if self.path is not None and self.changed:
            lines = ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}"
                                for k, v in sorted(self.entries.items()))
            write_text(self.path, '{"about": "Anki modification times of tfcards notes: commit with the cards.",\n'
                                  f' "stamps": {{\n{lines}\n}}}}\n')


def _check_stamp(mod, key: str, path: Path, text: str) -> None:
    """A stamp is a whole number of seconds Anki can store and show (1970 to 9999): the file comes
    with the deck, and a stamp of 1e29 would overflow the collection's 64-bit integers."""
    if isinstance(mod, int) and not isinstance(mod, bool) and 0 <= mod <= MAX_STAMP:
        return
    at = text.find(json.dumps(key))
    raise CardError(f"stamp {key!r} has 'mod' {str(mod)[:40]!r}: it must be a whole number of seconds from 0 to "
                    f"{MAX_STAMP} (the year 9999); delete the entry to re-stamp the note", path,
                    text.count("\n", 0, at) + 1 if at >= 0 else None)


def write_apkg(cards: Sequence[Card], out_path: Path, *, tf_version: str, templates_dir: Path | None = None,
               stamps_path: Path | None = None, figures: Mapping[str, Sequence[bytes]] | None = None,
               path: Sequence[Card] | None = None) -> Path:
    """Render CARDS into OUT_PATH (atomically) and update the stamps file if content changed.

    FIGURES: the PNGs each card's code drew, by card id. PATH: the whole deck in learning-path
    order, when CARDS is a selection of it, so that a topic's subdeck and a card's position are
    the same in every build (default: CARDS)."""
    env = render.environment(templates_dir)
    css = env.get_template("anki/style.css").render().strip() + "\n"
    stamps = Stamps(stamps_path)
    stamps.refuse_kind_changes(cards)
    models = {kind: _Model(nt, css, stamps.stamp(f"notetype:{nt.name}", _hash(nt.id, nt.fields, nt.templates, css)))
              for kind, nt in MODELS.items()}
    path = cards if path is None else path
    names = subdecks(path)
    positions = {card.id: n for n, card in enumerate(path, 1)}
    decks: dict[str, genanki.Deck] = {}
    media: dict[str, Path | bytes] = {}
    for card in cards:
        fields, card_media = render_fields(card, env, tf_version, (figures or {}).get(card.id, ()))
        media.update(card_media)
        tags = [card.topic_slug, *card.tags]
        model = models[card.type]
        name = names[(card.deck, card.topic)]
        stamp = stamps.stamp(f"note:{card.id}", _hash(model.model_id, name, tags, fields), card.type)
        deck = decks.get(name)
        if deck is None:
            deck = decks[name] = genanki.Deck(deck_id(name), name)
        # due: the position of a new card, by which Anki gathers a deck's new cards
        deck.add_note(_Note(model=model, fields=fields, tags=tags, guid=note_guid(card), stamp=stamp,
                            due=positions[card.id]))
    for deck in decks.values():
        deck.models = {m.model_id: m for m in models.values()}  # every note type, in a fixed order
    package = genanki.Package([decks[name] for name in sorted(decks)])
    timestamp = max([m.stamp for m in models.values()] + [n.stamp for d in decks.values() for n in d.notes])
    with atomic_path(out_path) as tmp:
        _write_package(package, sorted(media.items()), timestamp, tmp)
    stamps.save()
    return out_path


def _write_package(package: genanki.Package, media: list[tuple[str, Path | bytes]], timestamp: int,
                   out: Path) -> None:
    """genanki's Package.write_to_file with fixed zip times, so equal input gives equal bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "collection.anki2"
        conn = sqlite3.connect(db_path)
        package.write_to_db(conn.cursor(), timestamp, itertools.count(timestamp * 1000))
        conn.commit()
        conn.close()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            _add(zf, "collection.anki2", db_path.read_bytes())
            _add(zf, "media", json.dumps({str(i): name for i, (name, _) in enumerate(media)}).encode())
            for i, (_, data) in enumerate(media):
                # an image is checked again (what ships is what was checked); a figure is the run's PNG bytes
                _add(zf, str(i), data if isinstance(data, bytes) else images.read(data)[0])


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)
