"""Verify the same cards under several TensorFlows and show where their verdicts part.

A matrix is a set of runs, one per interpreter: each is what `tfcards verify --report` writes
(TensorFlow and Keras versions, the card source's digest, every card's verdict), so a matrix run
on one machine (`matrix`) and one merged from reports made on many (`merge`) are built by the
same `combine` and give the same tables. Each run is a plain `verify`, so the cache keeps every
version's outcomes apart and a fully cached matrix imports no TensorFlow.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from packaging.version import InvalidVersion, Version

from .cache import Cache
from .cards import STATUSES, Card, Verdict
from .errors import CardError, display_path
from .proven import card_digest, source_digest, stored_data
from .verify import Report, verify

REPORT_FORMAT = 2  # of the `verify --report` JSON; 2 adds keras, source and each card's digest


@dataclass(frozen=True)
class CardRef:
    """Where a card of the matrix comes from: enough to name it in a table or a message."""

    id: str
    topic: str
    file: str
    line: int
    digest: str


@dataclass(frozen=True)
class Run:
    """One interpreter's verdicts on the deck. ORIGIN names where it came from (a report file)."""

    tensorflow: str
    keras: str
    source: str
    verdicts: tuple[Verdict, ...]  # in the order of the matrix's cards
    origin: str = ""

    @property
    def environment(self) -> tuple[str, str]:
        return (self.tensorflow, self.keras)

    def count(self, status: str) -> int:
        return sum(v.status == status for v in self.verdicts)

    def summary(self) -> str:
        """`394 passed, 0 failed, 10 skipped, 5 without code`."""
        parts = [f"{self.count('passed')} passed", f"{self.count('failed')} failed"]
        parts += [f"{self.count('skipped')} skipped"] if self.count("skipped") else []
        parts += [f"{self.count('no-code')} without code"] if self.count("no-code") else []
        return ", ".join(parts)


@dataclass(frozen=True)
class Matrix:
    """The runs over one card source, ordered by TensorFlow, then Keras version."""

    cards: tuple[CardRef, ...]
    runs: tuple[Run, ...]

    @property
    def versions(self) -> list[str]:
        """Column labels: the TensorFlow version, with the Keras one where two runs share it."""
        shared = {r.tensorflow for r in self.runs if sum(o.tensorflow == r.tensorflow for o in self.runs) > 1}
        return [f"{r.tensorflow} (Keras {r.keras})" if r.tensorflow in shared else r.tensorflow
                for r in self.runs]

    @property
    def failed(self) -> bool:
        """A card failed on a version its ranges say it holds for (outside them, it is skipped)."""
        return any(run.count("failed") for run in self.runs)

    def rows(self) -> list[tuple[CardRef, list[Verdict]]]:
        return [(card, [run.verdicts[i] for run in self.runs]) for i, card in enumerate(self.cards)]

    def differing(self) -> list[tuple[CardRef, list[Verdict]]]:
        return [(card, verdicts) for card, verdicts in self.rows() if len({v.status for v in verdicts}) > 1]

    def to_json(self) -> dict:
        """Every card's verdict per run, and the labels of the runs it passed, failed or skipped."""
        labels = self.versions
        return {
            "versions": labels,
            "runs": [{"label": label, "tensorflow": r.tensorflow, "keras": r.keras, "source": r.source}
                     for label, r in zip(labels, self.runs)],
            "cards": [{"id": card.id, "topic": card.topic, "file": card.file, "line": card.line,
                       **{status: [label for label, v in zip(labels, verdicts) if v.status == status]
                          for status in STATUSES},
                       "results": {label: {"status": v.status, "reason": v.reason,
                                           **({"detail": v.detail} if v.detail else {})}
                                   for label, v in zip(labels, verdicts)}}
                      for card, verdicts in self.rows()],
        }

    def stored(self) -> dict:
        """What `--store` writes (generator/proven.py): per card, the releases it passed on."""
        releases = sorted({r.tensorflow for r in self.runs}, key=_version)
        return stored_data(releases, {
            card.id: (card.digest, sorted({r.tensorflow for r, v in zip(self.runs, verdicts)
                                           if v.status == "passed"}, key=_version))
            for card, verdicts in self.rows()})


class MergeError(CardError):
    """Reports that cannot make one matrix: other card sources, or verdicts that disagree."""


def report_data(cards: Sequence[Card], report: Report) -> dict:
    """The `verify --report` JSON: what a matrix needs of this run, plus findings for people."""
    digests = [card_digest(c) for c in cards]
    return {
        "format": REPORT_FORMAT,
        "tensorflow": report.tensorflow,
        "keras": report.keras,
        "source": source_digest(zip((c.id for c in cards), digests)),
        "seconds": round(report.seconds, 3),
        "summary": {s: report.count(s) for s in STATUSES},
        "cards": [
            {"id": c.id, "topic": c.topic, "file": display_path(c.file), "line": c.line, "digest": d,
             "status": v.status, "reason": v.reason, **({"detail": v.detail} if v.detail else {}),
             # how long the card's process ran (checked where it came in: channel.py, cache.py)
             **{k: v for k, v in report.outcomes.get(c.id, {}).items() if k == "seconds"},
             "findings": [{"rule": f.rule, "message": f.message} for f in v.findings]}
            for c, d, v in zip(cards, digests, report.verdicts)
        ],
    }


def matrix(cards: Sequence[Card], pythons: Sequence[str], *, jobs: int | None = None,
           cache: Cache | None = None, strict: bool = False, sandbox: bool = False) -> Matrix:
    """Verify CARDS under each interpreter of PYTHONS (with SANDBOX, each confined), as `merge`
    would see their reports."""
    datas = [report_data(cards, verify(cards, jobs=jobs, cache=cache, strict=strict, python=python,
                                       sandbox=sandbox))
             for python in pythons]
    return combine([_parse(data, f"--python {python}") for data, python in zip(datas, pythons)])


def merge(paths: Sequence[Path]) -> Matrix:
    """The matrix of `verify --report` files made on other machines (one per release, say)."""
    parsed = []
    for path in paths:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise MergeError(f"{display_path(Path(path))}: not a readable JSON report ({e})") from None
        parsed.append(_parse(data, display_path(Path(path))))
    return combine(parsed)


def _parse(data, origin: str) -> tuple[Run, tuple[CardRef, ...]]:
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise MergeError(f"{origin}: not a tfcards verify report of format {REPORT_FORMAT} "
                         "(write it with `tfcards verify --report`)")
    try:
        refs = tuple(CardRef(c["id"], c["topic"], c["file"], int(c["line"]), c["digest"]) for c in data["cards"])
        verdicts = tuple(Verdict(c["id"], c["status"], c.get("reason", ""), c.get("detail", ""))
                         for c in data["cards"])
        run = Run(str(data["tensorflow"]), str(data["keras"]), str(data["source"]), verdicts, origin)
    except (KeyError, TypeError, ValueError) as e:
        raise MergeError(f"{origin}: a verify report without {e}") from None
    return run, refs


def combine(parsed: Sequence[tuple[Run, tuple[CardRef, ...]]]) -> Matrix:
    """One matrix of runs over the same card source, one column per TensorFlow and Keras; runs
    of the same environment must agree on every card (then they count once)."""
    if not parsed:
        raise MergeError("no reports to merge")
    first, refs = parsed[0]
    for run, other in parsed[1:]:
        if run.source != first.source:
            raise MergeError(f"{run.origin} and {first.origin} come from different card sources"
                             f"{_first_difference(refs, other)}")
    order = {ref.id: i for i, ref in enumerate(refs)}  # a report may list the same cards in another order
    runs: dict[tuple[str, str], Run] = {}
    for run, _ in parsed:
        run = replace(run, verdicts=tuple(sorted(run.verdicts, key=lambda v: order[v.card_id])))
        seen = runs.setdefault(run.environment, run)
        for a, b in zip(seen.verdicts, run.verdicts):
            if a.status != b.status:
                raise MergeError(f"{seen.origin} and {run.origin} disagree on card '{a.card_id}' for "
                                 f"TensorFlow {run.tensorflow} (Keras {run.keras}): {a.status} vs {b.status}")
    ordered = sorted(runs.values(), key=lambda r: (_version(r.tensorflow), _version(r.keras)))
    return Matrix(refs, tuple(ordered))


def _first_difference(a: Sequence[CardRef], b: Sequence[CardRef]) -> str:
    mine, theirs = {r.id: r.digest for r in a}, {r.id: r.digest for r in b}
    for card_id in sorted(set(mine) | set(theirs)):
        if mine.get(card_id) != theirs.get(card_id):
            where = "is in one only" if card_id not in mine or card_id not in theirs else "differs"
            return f" (card '{card_id}' {where})"
    return ""


def _version(text: str) -> tuple:
    try:
        return (0, Version(text))
    except InvalidVersion:  # "not-installed" Keras: before every version
        return (-1, text)


def topic_table(result: Matrix, markdown: bool = False) -> list[str]:
    """Per topic, how many of its cards hold on each run (passed, or concept cards in range)."""
    topics: dict[str, list[int]] = {}
    sizes: dict[str, int] = {}
    for card, verdicts in result.rows():
        counts = topics.setdefault(card.topic, [0] * len(verdicts))
        sizes[card.topic] = sizes.get(card.topic, 0) + 1
        for i, v in enumerate(verdicts):
            counts[i] += v.status in ("passed", "no-code")
    header = ["topic"] + result.versions
    cells = [[topic] + [f"{n} of {sizes[topic]}" for n in counts] for topic, counts in topics.items()]
    return _layout(header, cells, markdown)


def diffs(result: Matrix) -> list[str]:
    """Each differing card's failure detail (its diff, or its trimmed traceback) on each version it
    fails on: what the table's one-line reason leaves out."""
    lines = []
    for card, verdicts in result.differing():
        for label, v in zip(result.versions, verdicts):
            if v.status == "failed" and v.detail:
                lines.append(f"{card.id} on TensorFlow {label} ({card.file}:{card.line}): {v.reason}")
                lines.extend(f"    {line}" for line in v.detail.splitlines())
    return lines


def table(result: Matrix, width: int = 60, markdown: bool = False) -> list[str]:
    """The cards whose verdicts differ: one row each, the reason on every failing side."""
    rows = result.differing()
    if not rows:
        return []
    cell = lambda v: v.status if v.status not in ("failed", "skipped") else f"{v.status}: {v.reason}"[:width]
    cells = [[card.id] + [cell(v) for v in verdicts] for card, verdicts in rows]
    return _layout(["card"] + result.versions, cells, markdown)


def _layout(header: list[str], cells: list[list[str]], markdown: bool) -> list[str]:
    if markdown:
        row = lambda r: "| " + " | ".join(text.replace("|", "\\|") for text in r) + " |"
        return [row(header), row(["---"] * len(header))] + [row(r) for r in cells]
    widths = [max(len(row[i]) for row in [header] + cells) for i in range(len(header))]
    fmt = lambda row: "  ".join(text.ljust(w) for text, w in zip(row, widths)).rstrip()
    return [fmt(header)] + [fmt(row) for row in cells]
