"""`verify --update`: rewrite failing cards' `output`/`raises` to what TensorFlow really did.

Only the bytes of those values change: we splice new scalars into the file's text at the
spans PyYAML reports for the old ones, so comments, quoting, order and every other card stay
byte for byte. A dump of the parsed YAML could not promise that.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import yaml

from . import compare
from .cards import Card
from .errors import CardError
from .verify import Report


@dataclass(frozen=True)
class Change:
    card: Card
    key: str  # "output" or "raises"
    new: str


@dataclass(frozen=True)
class UpdateResult:
    changed: tuple[Change, ...]
    refused: tuple[tuple[Card, str], ...]  # failing cards an update cannot fix, with why


def plan(cards: Sequence[Card], report: Report) -> UpdateResult:
    """What to rewrite, from the failing cards whose code ran to completion."""
    changes, refused = [], []
    verdicts = {v.card_id: v for v in report.verdicts}
    for card in cards:
        outcome = report.outcomes.get(card.id)
        if verdicts[card.id].status != "failed" or outcome is None:
            continue
        if outcome.get("status") != "completed":
            refused.append((card, verdicts[card.id].reason))
            continue
        exc = outcome.get("exception")
        if card.raises is None and exc is not None:
            refused.append((card, f"raised {exc['type']}: fix the code or add 'raises'"))
            continue
        if card.raises is not None:
            if exc is None:
                refused.append((card, "nothing was raised: remove 'raises' or fix the code"))
                continue
            want_type, sep, want_msg = card.raises.partition(":")
            type_ok = want_type.strip().rsplit(".", 1)[-1] in exc["mro"]
            msg_ok = not want_msg.strip() or _matches(want_msg.strip(), exc["message"], card)
            if not (type_ok and msg_ok):
                new_type = want_type.strip() if type_ok else exc["type"]
                new = f"{new_type}: {compare.normalize(exc['message'])}" if sep else new_type
                changes.append(Change(card, "raises", new))
        if card.output is not None and not _matches(card.output, outcome["stdout"], card):
            changes.append(Change(card, "output", compare.normalize(outcome["stdout"]) + "\n"))
    return UpdateResult(tuple(changes), tuple(refused))


def _matches(expected: str, actual: str, card: Card) -> bool:
    """An expectation too ambiguous to check is rewritten like a wrong one: with what ran."""
    try:
        return compare.matches(expected, actual, card.tolerance, card.whitespace)
    except compare.Unmatchable:
        return False


def apply(changes: Sequence[Change]) -> None:
    """Rewrite each touched file atomically; nothing is written unless every edit re-reads right."""
    by_file: dict[Path, list[Change]] = defaultdict(list)
    for change in changes:
        by_file[change.card.file].append(change)
    for path, file_changes in by_file.items():
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        new_text = _splice(path, text, file_changes)
        _check(path, new_text, file_changes)
        _write_atomic(path, new_text)


def _splice(path: Path, text: str, changes: list[Change]) -> str:
    nodes = _value_nodes(text)
    newline = "\r\n" if "\r\n" in text else "\n"
    edits = []
    for change in changes:
        key_node, value_node = nodes[(change.card.id, change.key)]
        edits.append((value_node.start_mark.index, value_node.end_mark.index,
                      _scalar(change.new, text, key_node, value_node, newline)))
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _value_nodes(text: str) -> dict[tuple[str, str], tuple[yaml.Node, yaml.Node]]:
    root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    found = {}
    for key, value in root.value:
        if key.value == "cards":
            for card in value.value:
                fields = {k.value: (k, v) for k, v in card.value}
                card_id = fields["id"][1].value
                for name in ("output", "raises"):
                    if name in fields:
                        found[(card_id, name)] = fields[name]
    return found


def _scalar(value: str, text: str, key: yaml.Node, old: yaml.Node, newline: str) -> str:
    """VALUE as YAML text to stand where OLD stood: a block scalar stays a block scalar."""
    single = value.rstrip("\n")
    if old.style not in ("|", ">"):
        if re.fullmatch(r"[A-Za-z_][\w.]*", single):
            return single
        if "\n" not in single:
            return json.dumps(single, ensure_ascii=False)  # JSON strings are valid YAML
        return _block(single, key.start_mark.column + 2, key.start_mark.column, newline).rstrip("\r\n")
    span = text[old.start_mark.index:old.end_mark.index]
    content = re.search(r"\n([ \t]*)\S", span)
    indent = len(content.group(1)) if content else key.start_mark.column + 2
    tail = re.search(r"\r?\n(?:[ \t]*\r?\n)*\Z", span)
    kept = span[tail.start():].split("\n", 1)[1] if tail else ""  # blank lines after the block
    if not single:
        return "''" + newline + kept
    return _block(single, indent, key.start_mark.column, newline) + kept


def _block(value: str, indent: int, parent: int, newline: str) -> str:
    lines = value.split("\n")
    header = "|" + (str(indent - parent) if lines[0][:1] in (" ", "\t") else "")
    return header + newline + "".join((" " * indent + line if line else "") + newline for line in lines)


def _check(path: Path, text: str, changes: list[Change]) -> None:
    nodes = _value_nodes(text)
    for change in changes:
        got = nodes[(change.card.id, change.key)][1].value
        if compare.normalize(got) != compare.normalize(change.new):
            raise CardError(f"could not rewrite '{change.key}' safely; file left unchanged", path,
                            change.card.line, change.card.id)


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
