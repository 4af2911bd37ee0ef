"""Counts as a person writes them: "1 card", "2 cards", never "1 cards" or "card(s)"."""
from __future__ import annotations


def noun(n: int, singular: str, plural: str | None = None) -> str:
    """SINGULAR for one, else PLURAL (default: SINGULAR + "s")."""
    return singular if n == 1 else plural or singular + "s"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """`1 card`, `3 cards`."""
    return f"{n} {noun(n, singular, plural)}"
