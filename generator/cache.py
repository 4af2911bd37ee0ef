"""Remember what a card's code did, so an unchanged card is never run twice.

We cache the run's outcome (stdout, exception), not the verdict: the verdict is recomputed
from it on every run, so editing a card's expectations or tolerance costs no re-run while
still changing the verdict. The key covers everything that can change the outcome: setup,
code, timeout, memory cap, and the interpreter's TensorFlow, Keras and Python versions and the
runner's code (so outcomes under `--python` another interpreter are kept apart). Looking a key up
never imports TensorFlow. Entries are checked before they are trusted: anything unreadable,
foreign or keyed differently is ignored and recomputed.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path

from .cards import Card
from .interpreter import Interpreter

FORMAT = 1


@lru_cache(maxsize=None)
def runner_version() -> str:
    """A digest of the code that runs cards: changing the runner invalidates old outcomes."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in ("zygote.py", "runner.py", "apinames.py", "figures.py"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:16]


def api_key(name: str, interpreter: Interpreter) -> str:
    """The key of one name lookup (`tf.lite.Optimize.DEFAULT` in TensorFlow 2.21.0)."""
    material = json.dumps({"format": FORMAT, "api": name, "tensorflow": interpreter.tensorflow,
                           "keras": interpreter.keras, "runner": runner_version()}, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


def card_key(card: Card, memory: int, interpreter: Interpreter) -> str:
    material = json.dumps({
        "format": FORMAT, "setup": card.setup, "code": card.code, "timeout": card.timeout,
        "memory": memory, "tensorflow": interpreter.tensorflow, "keras": interpreter.keras,
        "python": interpreter.python_version, "runner": runner_version(),
    }, sort_keys=True)
    return hashlib.sha256(material.encode()).hexdigest()


class Cache:
    """Outcomes stored as one small JSON file per key under DIRECTORY."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict | None:
        outcome = self._read(key).get("outcome")
        if not isinstance(outcome, dict) or outcome.get("status") != "completed" \
                or not isinstance(outcome.get("stdout"), str):
            return None
        return outcome

    def get_value(self, key: str):
        """A stored plain value (a name lookup's answer), or None."""
        return self._read(key).get("value")

    def _read(self, key: str) -> dict:
        """The entry stored under KEY, or {} if it is missing, unreadable or someone else's."""
        try:
            entry = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return entry if isinstance(entry, dict) and entry.get("key") == key else {}

    def put_value(self, key: str, value) -> None:
        self._write(key, {"key": key, "value": value})

    def put(self, key: str, outcome: dict) -> None:
        """Store OUTCOME if it is a property of the code, not of the moment (no timeouts or kills)."""
        if outcome.get("status") == "completed":
            self._write(key, {"key": key, "outcome": outcome})

    def _write(self, key: str, entry: dict) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f)
        os.replace(tmp, path)
