"""`tfcards templates DIR` and `tfcards new DIR`: start a restyle, or a deck of one's own, from
what the installed tfcards ships. Both write a new directory whole or not at all, and never into
one that holds files: an author's work is never overwritten.
"""
from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from . import __version__
from .errors import CardError
from .render import default_templates_dir

# The first line of every topic file `tfcards new` writes, so editors check a card as it is
# typed: "# yaml-language-server: $schema=<where `tfcards schema` puts the card schema>". None
# while tfcards publishes no schema; set it here once it does (tests/test_install.py checks it).
SCHEMA_LINE: str | None = None

# Each file of the skeleton (generator/skeleton/) and where `tfcards new` writes it. The dot
# names are stored without their dot: setuptools' package-data globs skip hidden files.
SKELETON = {
    "README.md": "README.md",
    "gitignore": ".gitignore",
    "verify.yml": ".github/workflows/verify.yml",
    "cards/deck.yaml": "cards/deck.yaml",
    "cards/first-steps.yaml": "cards/first-steps.yaml",
}


def copy_templates(dest: Path) -> list[Path]:
    """Write a copy of the shipped templates to DEST, to restyle with `--templates DEST`."""
    source = default_templates_dir()
    with _new_directory(dest) as tmp:
        shutil.copytree(source, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        written = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file())
    return [dest / p for p in written]


def new_deck(dest: Path) -> list[Path]:
    """Write a deck repository to DEST: an example topic whose card passes, its learning path, a
    README with the two commands, a .gitignore and a CI workflow over the TensorFlow releases."""
    name = json.dumps(dest.resolve().name)[1:-1]  # escaped as in a YAML double-quoted string
    values = {"@deck@": name, "@version@": __version__}
    skeleton = importlib.resources.files("generator") / "skeleton"
    with _new_directory(dest) as tmp:
        for source, target in SKELETON.items():
            text = skeleton.joinpath(*source.split("/")).read_text(encoding="utf-8")
            for token, value in values.items():
                text = text.replace(token, value)
            if SCHEMA_LINE and target.endswith(".yaml") and target != "cards/deck.yaml":
                text = f"{SCHEMA_LINE}\n{text}"
            path = tmp / target
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return [dest / target for target in SKELETON.values()]


@contextlib.contextmanager
def _new_directory(dest: Path) -> Iterator[Path]:
    """A temporary directory beside DEST, renamed onto it if the block succeeds. DEST may be
    missing or empty; one that holds anything is refused before a byte is written."""
    if dest.exists() and not dest.is_dir():
        raise CardError("exists and is not a directory; give a new or empty directory", dest)
    if dest.is_dir() and any(dest.iterdir()):
        raise CardError("exists and is not empty; tfcards writes only into a new or empty directory, "
                        "never over files", dest)
    dest = dest.resolve()  # `tfcards new .` in an empty directory: its parent holds the temporary one
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp"))
    try:
        yield tmp
        if dest.is_dir():  # empty, and maybe someone's working directory: fill it, keep it
            for entry in sorted(tmp.iterdir()):
                os.replace(entry, dest / entry.name)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)  # mkdtemp's 0o700 would hide the deck from the group
            os.replace(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
