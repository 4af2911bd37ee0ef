"""Which releases each card was proven on: the stored result of `tfcards matrix --store`.

`make matrix` writes it as `cards/proven.json`, committed beside the cards, and every renderer
reads it through `proven_on` for the card's status line ("proven on TensorFlow 2.16-2.21"). Each
entry carries the digest of the card's claim (its code and everything that judges it), so a card
edited since the matrix ran is not said to be proven by it.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

from .cards import Card

FILENAME = "proven.json"
FORMAT = 1
# What decides a card's verdict on a given interpreter (its prose does not, without --strict).
CLAIM_FIELDS = ("setup", "code", "output", "raises", "tolerance", "whitespace", "timeout", "skip",
                "tensorflow", "keras", "requires")


def card_digest(card: Card) -> str:
    """A digest of CARD's claim: equal digests, equal verdicts on the same interpreter."""
    claim = {name: getattr(card, name) for name in CLAIM_FIELDS}
    return hashlib.sha256(json.dumps(claim, sort_keys=True).encode()).hexdigest()[:16]


def source_digest(digests: Iterable[tuple[str, str]]) -> str:
    """A digest of a deck's (card id, card digest) pairs: two reports with different ones were
    made from different card sources."""
    return hashlib.sha256(json.dumps(sorted(digests)).encode()).hexdigest()[:16]


def stored_data(releases: list[str], cards: Mapping[str, tuple[str, list[str]]]) -> dict:
    """The file's content: the TensorFlow releases the matrix ran and, per card id, its digest
    and the releases it passed on."""
    return {"format": FORMAT, "releases": releases,
            "cards": {card_id: {"digest": digest, "passed": passed}
                      for card_id, (digest, passed) in sorted(cards.items())}}


def dumps(data: dict) -> str:
    """The stored file's text: one line per card, so a re-run's diff shows the cards that moved."""
    cards = [f"  {json.dumps(card_id)}: {json.dumps(entry)}" for card_id, entry in data["cards"].items()]
    return (f'{{"format": {data["format"]}, "releases": {json.dumps(data["releases"])}, "cards": {{\n'
            + ",\n".join(cards) + "\n}}\n")


def proven_on(card: Card) -> str | None:
    """`2.16-2.21`: the TensorFlow minor releases CARD passed on in the stored matrix beside its
    topic file (or a folder above), or None if there is none or the card changed since."""
    path = _find(card.file.parent.resolve())
    if path is None:
        return None
    stat = path.stat()
    data = _load(str(path), stat.st_mtime_ns, stat.st_size)
    entry = data.get("cards", {}).get(card.id)
    if not isinstance(entry, dict) or entry.get("digest") != card_digest(card) or not entry.get("passed"):
        return None
    return span(entry["passed"])


def span(passed: list[str]) -> str:
    """Minor releases as runs of consecutive ones: `2.16-2.21`, or `2.15, 2.17-2.21` where the
    card was not proven on 2.16 (not run there, or skipped)."""
    minors = sorted({_minor(v) for v in passed})
    groups: list[list[tuple[int, int]]] = []
    for minor in minors:
        if groups and groups[-1][-1] == (minor[0], minor[1] - 1):
            groups[-1].append(minor)
        else:
            groups.append([minor])
    text = lambda m: f"{m[0]}.{m[1]}"
    return ", ".join(text(g[0]) if len(g) == 1 else f"{text(g[0])}-{text(g[-1])}" for g in groups)


def _minor(version: str) -> tuple[int, int]:
    major, minor = (version.split(".") + ["0"])[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def _find(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / FILENAME).is_file():
            return candidate / FILENAME
    return None


@lru_cache(maxsize=8)
def _load(path: str, _mtime: int, _size: int) -> dict:
    """The stored file, read once per version of it (a live page sees a new matrix result)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == FORMAT else {}
