"""Shared fixtures: small card trees written into tmp_path, and one verified engine deck; the
user's cache directory (the default --cache-dir and the cache key) kept inside tmp dirs."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session", autouse=True)
def session_user_cache(tmp_path_factory):
    """Module- and session-scoped fixtures run before function-scoped ones: they verify with a
    user cache directory of the session's, never the real user's. One signing key for the
    session (TFCARDS_CACHE_KEY, as CI would give), so a cache a module shares between its own
    calls and the CLI's is believed by both; tests of the key file unset it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        mp.setenv("TFCARDS_CACHE_KEY", "tfcards-tests-" + os.urandom(16).hex())
        yield Path(os.environ["XDG_CACHE_HOME"]) / "tfcards"


@pytest.fixture(autouse=True)
def user_cache(tmp_path, monkeypatch):
    """Each test its own user cache directory, as each had its own `build/.cache` before."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    return tmp_path / "xdg-cache" / "tfcards"


@pytest.fixture
def own_key(user_cache, monkeypatch):
    """The user's own key file, as outside the tests: no TFCARDS_CACHE_KEY."""
    monkeypatch.delenv("TFCARDS_CACHE_KEY")
    return user_cache / "key"


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
