"""Shared fixtures: small card trees written into tmp_path, and one verified engine deck."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def write_cards(tmp_path):
    """write_cards({"a.yaml": "..."}) -> the cards dir, with each text dedented."""
    def write(files: dict[str, str], root: Path | None = None) -> Path:
        root = root or tmp_path / "cards"
        for name, text in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return root
    return write


@pytest.fixture
def col(tmp_path):
    """An empty Anki collection of the real `anki` library, closed after the test."""
    from anki.collection import Collection

    (tmp_path / "user").mkdir()
    c = Collection(str(tmp_path / "user" / "collection.anki2"))
    yield c
    c.close()
