"""The TensorFlow names a card's prose mentions, and whether each exists in a given TensorFlow.

`mentioned` runs in the main process; `resolve` runs in a forked child of the fork server
(it imports TensorFlow and Keras by attribute lookup). Standard library only, so the server
of any interpreter can import it.
"""
from __future__ import annotations

import difflib
import importlib
import re

ROOTS = {"tf": "tensorflow", "keras": "keras"}
NAME_RE = re.compile(r"(?<![\w.])(?:tf|keras)(?:\.[A-Za-z_]\w*)+")


def mentioned(*texts: str) -> list[str]:
    """Dotted `tf.`/`keras.` names in TEXTS, sorted; names on objects (`v.assign`) never match."""
    return sorted({m.group(0) for text in texts for m in NAME_RE.finditer(text or "")})


def resolve(names: list[str]) -> dict[str, str | None]:
    """None for each name that resolves by attribute lookup; else why not, with the closest name."""
    versions: dict[str, str] = {}
    out: dict[str, str | None] = {}
    for name in names:
        root, *parts = name.split(".")
        try:
            obj = importlib.import_module(ROOTS[root])
        except ImportError as e:
            out[name] = f"`{root}` cannot be imported ({e})"
            continue
        if root not in versions:
            label = "TensorFlow" if root == "tf" else "Keras"
            versions[root] = f"{label} {getattr(obj, '__version__', '?')}"
        out[name] = None
        for i, part in enumerate(parts):
            try:
                obj = getattr(obj, part)
            except Exception:  # AttributeError, or a lazy loader failing: either way, not there
                known = [a for a in dir(obj) if not a.startswith("_")]
                close = difflib.get_close_matches(part, known, n=1, cutoff=0.75)
                where = ".".join([root, *parts[:i + 1]])
                message = f"`{name}` does not exist in {versions[root]}"
                if where != name:
                    message += f" (there is no `{where}`)"
                if close:
                    message += f"; did you mean `{'.'.join([root, *parts[:i], close[0], *parts[i + 1:]])}`?"
                out[name] = message
                break
    return out
