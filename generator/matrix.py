"""Verify the same cards under several TensorFlows and show where their verdicts part.

Each interpreter is a plain `verify` run, so the cache keeps every version's outcomes apart
and a re-run costs only the changed cards; a fully cached matrix imports no TensorFlow.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .cache import Cache
from .cards import Card, Verdict
from .errors import display_path
from .verify import Report, verify


@dataclass(frozen=True)
class Matrix:
    """One report per interpreter, in the order they were given."""

    cards: tuple[Card, ...]
    reports: tuple[Report, ...]

    @property
    def versions(self) -> list[str]:
        """Column labels: the TensorFlow versions (made unique if two interpreters share one)."""
        labels: list[str] = []
        for report in self.reports:
            label = report.tensorflow
            while label in labels:
                label += "'"
            labels.append(label)
        return labels

    @property
    def failed(self) -> bool:
        """A card failed on a version its range says it holds for (outside it, it is skipped)."""
        return any(report.failed for report in self.reports)

    def rows(self) -> list[tuple[Card, list[Verdict]]]:
        return [(card, [report.verdicts[i] for report in self.reports]) for i, card in enumerate(self.cards)]

    def differing(self) -> list[tuple[Card, list[Verdict]]]:
        return [(card, verdicts) for card, verdicts in self.rows() if len({v.status for v in verdicts}) > 1]

    def to_json(self) -> dict:
        return {
            "versions": self.versions,
            "cards": [{"id": card.id, "file": display_path(card.file), "line": card.line,
                       "results": {label: {"status": v.status, "reason": v.reason,
                                           **({"detail": v.detail} if v.detail else {})}
                                   for label, v in zip(self.versions, verdicts)}}
                      for card, verdicts in self.rows()],
        }


def matrix(cards: Sequence[Card], pythons: Sequence[str], *, jobs: int | None = None,
           cache: Cache | None = None, strict: bool = False, sandbox: bool = False) -> Matrix:
    """Verify CARDS under each interpreter of PYTHONS (with SANDBOX, each confined)."""
    reports = tuple(verify(cards, jobs=jobs, cache=cache, strict=strict, python=python, sandbox=sandbox)
                    for python in pythons)
    return Matrix(tuple(cards), reports)


def topic_table(result: Matrix) -> list[str]:
    """Per topic, how many of its cards hold on each version (passed, or concept cards in range)."""
    topics: dict[str, list[int]] = {}
    sizes: dict[str, int] = {}
    for card, verdicts in result.rows():
        counts = topics.setdefault(card.topic, [0] * len(verdicts))
        sizes[card.topic] = sizes.get(card.topic, 0) + 1
        for i, v in enumerate(verdicts):
            counts[i] += v.status in ("passed", "no-code")
    header = ["topic"] + [f"TensorFlow {label}" for label in result.versions]
    cells = [[topic] + [f"{n} of {sizes[topic]}" for n in counts] for topic, counts in topics.items()]
    widths = [max(len(row[i]) for row in [header] + cells) for i in range(len(header))]
    return ["  ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip() for row in [header] + cells]


def diffs(result: Matrix) -> list[str]:
    """Each differing card's failure detail (its diff, or its trimmed traceback) on each version it
    fails on: what the table's one-line reason leaves out."""
    lines = []
    for card, verdicts in result.differing():
        for label, v in zip(result.versions, verdicts):
            if v.status == "failed" and v.detail:
                lines.append(f"{card.id} on TensorFlow {label} ({display_path(card.file)}:{card.line}): {v.reason}")
                lines.extend(f"    {line}" for line in v.detail.splitlines())
    return lines


def table(result: Matrix, width: int = 60) -> list[str]:
    """The cards whose verdicts differ: one row each, the reason on every failing side."""
    rows = result.differing()
    if not rows:
        return []
    cell = lambda v: v.status if v.status not in ("failed", "skipped") else f"{v.status}: {v.reason}"[:width]
    cells = [[card.id] + [cell(v) for v in verdicts] for card, verdicts in rows]
    header = ["card"] + [f"TensorFlow {label}" for label in result.versions]
    widths = [max(len(row[i]) for row in [header] + cells) for i in range(len(header))]
    fmt = lambda row: "  ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip()
    return [fmt(header)] + [fmt(row) for row in cells]
