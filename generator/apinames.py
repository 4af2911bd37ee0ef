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
    """None for each name that resolves by attribute lookup; else why not, with the closest name.

    Each name is judged alone: a lookup that raises anything (a lazy loader importing a module
    that is not installed) is a finding on that name, never the end of the others."""
    versions: dict[str, str] = {}
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = _resolve(name, versions)
        except Exception as e:  # TensorFlow's code runs on lookup: whatever it raises is this name's
            out[name] = f"`{name}` could not be looked up ({_why(e)})"
    return out


def _resolve(name: str, versions: dict[str, str]) -> str | None:
    root, *parts = name.split(".")
    try:
        obj = importlib.import_module(ROOTS[root])
    except ImportError as e:
        return f"`{root}` cannot be imported ({e})"
    if root not in versions:
        label = "TensorFlow" if root == "tf" else "Keras"
        versions[root] = f"{label} {getattr(obj, '__version__', '?')}"
    for i, part in enumerate(parts):
        where = ".".join([root, *parts[:i + 1]])
        try:
            obj = getattr(obj, part)
        except AttributeError as e:
            message = f"`{name}` does not exist in {versions[root]}"
            if where != name:
                message += f" (there is no `{where}`)"
            reason = str(e).strip()
            if reason and reason != part and "has no attribute" not in reason:  # a lazy loader's own
                message += f": {reason.splitlines()[0]}"
            close = difflib.get_close_matches(part, _public(obj), n=1, cutoff=0.75)
            if close:
                message += f"; did you mean `{'.'.join([root, *parts[:i], close[0], *parts[i + 1:]])}`?"
            return message
        except Exception as e:  # a lazy loader failing: the name may exist, but not here
            return f"`{name}` could not be looked up in {versions[root]} (looking up `{where}` raised {_why(e)})"
    return None


def _public(obj) -> list[str]:
    """OBJ's public attribute names; none when listing them fails (TensorFlow's lazy loaders
    import on `dir()`, and may raise anything)."""
    try:
        return [a for a in dir(obj) if not a.startswith("_")]
    except Exception:  # no suggestion is the honest answer when the names cannot be listed
        return []


def _why(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__
