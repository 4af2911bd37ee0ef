"""Run the pipeline for `tfcards build`: verify everything first, then write each output."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from . import figures
from .cache import Cache
from .cards import Card, Verdict, slugify
from .plural import counted
from .verify import Report, verify

FORMATS = ("apkg", "pdf", "all")


class BuildRefused(Exception):
    """Some selected card failed verification: nothing is written."""

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(f"{counted(len(report.failed), 'card')} failed verification; nothing was built")


@dataclass(frozen=True)
class BuildResult:
    report: Report
    written: tuple[Path, ...]
    overflowing: tuple[str, ...] = field(default=())


def output_stem(cards: Sequence[Card], topics: Sequence[str] = (), tags: Sequence[str] = ()) -> str:
    """`tensorflow`, or for a filtered build a name that says what it holds: the slugs of the
    topics its cards have, however TOPICS spelt them (`quantization`, `Post-training quantization`)."""
    stem = slugify(cards[0].deck) if cards else "deck"
    if topics:
        stem += "--" + "+".join(sorted({c.topic_slug for c in cards} or {slugify(t) for t in topics}))
    if tags:
        stem += "--tag-" + "+".join(sorted(set(tags)))
    return stem


def stamps_file(paths: Sequence[Path]) -> Path:
    """Where Anki modification times live: beside the sources, so they survive a fresh clone."""
    first = Path(paths[0]) if paths else Path("cards")
    return (first if first.is_dir() else first.parent) / "anki-stamps.json"


def build(cards: Sequence[Card], *, out_dir: Path, formats: str = "apkg", stem: str = "tensorflow",
          templates_dir: Path | None = None, jobs: int | None = None, cache: Cache | None = None,
          stamps_path: Path | None = None, pdf_options: dict | None = None, strict: bool = False,
          python: str | None = None, sandbox: bool = False, path: Sequence[Card] | None = None,
          progress: Callable[[Card, Verdict], None] | None = None,
          on_start: Callable[[Card], None] | None = None) -> BuildResult:
    """Verify CARDS, refuse if any fails (with STRICT, a strict-check finding fails a card), then
    write the requested outputs atomically. PATH: the whole deck, in learning-path order, when
    CARDS is a selection of it (a topic keeps its Anki subdeck in every build)."""
    if formats in ("apkg", "all"):
        from .anki import Stamps
        Stamps.check(stamps_path, cards)  # bad input (a bad stamp, a kind change): say so before running anything
    report = verify(cards, jobs=jobs, cache=cache, strict=strict, python=python, sandbox=sandbox,
                    progress=progress, on_start=on_start)
    if report.failed:
        raise BuildRefused(report)
    drawn = {c.id: figures.decode(report.outcomes.get(c.id)) for c in cards if c.figure is not None}
    written: list[Path] = []
    overflowing: tuple[str, ...] = ()
    if formats in ("apkg", "all"):
        from .anki import write_apkg

        written.append(write_apkg(cards, out_dir / f"{stem}.apkg", tf_version=report.tensorflow,
                                  templates_dir=templates_dir, stamps_path=stamps_path, figures=drawn,
                                  path=path))
    if formats in ("pdf", "all"):
        from .pdf import pdf_filename, write_pdf

        options = dict(pdf_options or {})
        layout = options.get("layout", "duplex")
        name = pdf_filename(stem, layout, options.get("paper", "a4"), options.get("card_size"),
                            options.get("flip", "long"))
        result = write_pdf(cards, out_dir / name, tf_version=report.tensorflow,
                           templates_dir=templates_dir, jobs=jobs, figures=drawn, **options)
        written.append(result.path)
        overflowing = tuple(result.overflowing)
    return BuildResult(report, tuple(written), overflowing)
