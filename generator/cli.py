"""The `tfcards` command: a thin click layer over load -> verify -> render -> write."""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Iterator

import click

from .cards import Card
from .errors import display_path
from .load import filter_cards, load_cards


def _paths(paths: tuple[str, ...]) -> list[Path]:
    return [Path(p) for p in paths] or [Path("cards")]


def selection(f):
    """PATHS plus the --topic/--tag filters shared by every command."""
    f = click.option("--tag", "tags", multiple=True, metavar="WORD",
                     help="Keep cards with this tag (repeat to OR several).")(f)
    f = click.option("--topic", "topics", multiple=True, metavar="NAME",
                     help="Keep cards of this topic, by name, slug or file stem (repeat to OR several).")(f)
    return click.argument("paths", nargs=-1, type=click.Path())(f)


def python_option(multiple: bool = False):
    return click.option("--python", "python", multiple=multiple, metavar="PYTHON",
                        help="An interpreter with TensorFlow to run the cards in" +
                             (" (repeat: one per TensorFlow to compare)." if multiple else
                              " [default: this one]."))


def running(multiple_pythons: bool = False):
    """Options of every command that verifies cards (matrix takes --python once per version)."""
    def decorate(f):
        f = python_option(multiple_pythons)(f)
        f = click.option("--strict", is_flag=True,
                         help="Fail cards whose prose breaks a strict check (api, deprecated, grounded, "
                              "atomic, duplicate, spoiler); without it findings are warnings.")(f)
        f = click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                         default=Path("build/.cache"), show_default=True,
                         help="Where verdicts of unchanged cards are remembered.")(f)
        f = click.option("--no-cache", is_flag=True, help="Run every card; neither read nor write the cache.")(f)
        return click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                            help="Processes that run cards (and lay out PDF pages) in parallel "
                                 "[default: the machine's cores].")(f)
    return decorate


def _output_file(ctx, param, value: Path | None) -> Path | None:
    """A report path must not be a card source: `--report cards/x.yaml` would overwrite it."""
    if value is not None and value.suffix.lower() in (".yaml", ".yml"):
        raise click.BadParameter(f"'{value}' looks like a topic file; {param.opts[0]} writes a report there "
                                 "(give it a .json or .xml name)", ctx, param)
    return value


def _select(paths, topics, tags) -> list[Card]:
    return filter_cards(load_cards(_paths(paths)), topics, tags)


@contextlib.contextmanager
def _progress(cards: list[Card], label: str) -> Iterator[dict]:
    """A progress bar on a terminal, naming the card that has been running longest; silence
    in CI and pipes. Yields the `progress`/`on_start` keyword arguments of `verify`."""
    show = sys.stderr.isatty() and not os.environ.get("CI") and len(cards) > 1
    if not show:
        yield {}
        return
    running: dict[str, None] = {}  # in start order

    def current(_item) -> str | None:
        return next(iter(running), None)

    def finished(card: Card, verdict) -> None:
        running.pop(card.id, None)
        bar.update(1)

    with click.progressbar(length=len(cards), label=label, file=sys.stderr,
                           show_pos=True, item_show_func=current) as bar:
        def started(card: Card) -> None:
            running.setdefault(card.id)
            bar.render_progress()  # redraw: name the card now, not when the next one finishes

        yield {"progress": finished, "on_start": started}


def _verify(cards: list[Card], jobs, no_cache: bool, cache_dir: Path, rerun: bool = False,
            strict: bool = False, python: str | None = None):
    from .cache import Cache
    from .runner import RunnerError
    from .verify import verify

    with _progress([c for c in cards if c.runs], "Verifying") as callbacks:
        try:
            return verify(cards, jobs=jobs, cache=None if no_cache else Cache(cache_dir),
                          rerun=rerun, strict=strict, python=python, **callbacks)
        except RunnerError as e:
            raise click.ClickException(str(e)) from None


def _report_failures(cards: list[Card], report) -> None:
    by_id = {c.id: c for c in cards}
    for v in report.verdicts:
        if v.status == "failed":
            continue
        card = by_id[v.card_id]
        for finding in v.findings:
            click.secho(f"warning: {display_path(card.file)}:{card.line}: card '{card.id}': {finding}",
                        fg="yellow", err=True)
    for v in report.failed:
        card = by_id[v.card_id]
        click.secho(f"FAILED {display_path(card.file)}:{card.line}: card '{card.id}': {v.reason}",
                    fg="red", err=True)
        for line in v.detail.splitlines():
            click.echo(f"    {line}", err=True)
        run_was_fine = bool(v.findings) and v.reason == str(v.findings[0])  # failed on its prose alone
        if v.stderr.strip() and "Traceback" not in v.detail and not run_was_fine:
            click.echo("    stderr (last lines):", err=True)
            for line in v.stderr.rstrip().splitlines()[-8:]:
                click.echo(f"    | {line}", err=True)


def _summary(report, updated: int = 0) -> str:
    """`6 passed, 1 failed ...`; after `--update`, the rewritten cards count as updated."""
    parts = [f"{report.count('passed')} passed", f"{report.count('failed') - updated} failed"]
    if updated:
        parts.insert(1, f"{updated} updated")
    if report.count("skipped"):
        parts.append(f"{report.count('skipped')} skipped")
    if report.count("no-code"):
        parts.append(f"{report.count('no-code')} without code")
    cached = sum(v.cached for v in report.verdicts)
    seconds = f"{report.seconds:.1f}" if report.seconds >= 0.1 else f"{report.seconds:.2f}"
    return (f"{', '.join(parts)} in {seconds} s "
            f"(TensorFlow {report.tensorflow}{f', {cached} cached' if cached else ''})")


def _write_report(path: Path, cards: list[Card], report) -> None:
    from .atomic import write_text

    data = {
        "tensorflow": report.tensorflow,
        "seconds": round(report.seconds, 3),
        "summary": {s: report.count(s) for s in ("passed", "failed", "skipped", "no-code")},
        "cards": [
            {"id": c.id, "topic": c.topic, "file": display_path(c.file), "line": c.line,
             "status": v.status, "reason": v.reason,
             "findings": [{"rule": f.rule, "message": f.message} for f in v.findings]}
            for c, v in zip(cards, report.verdicts)
        ],
    }
    write_text(path, json.dumps(data, indent=2) + "\n")


def _write_junit(path: Path, cards: list[Card], report) -> None:
    """One test case per card, grouped in a suite per topic file: what CI systems display."""
    from xml.etree import ElementTree as ET

    from .atomic import write_text

    suites = ET.Element("testsuites", name="tfcards", tests=str(len(cards)),
                        failures=str(report.count("failed")), time=f"{report.seconds:.3f}")
    by_file: dict[Path, ET.Element] = {}
    for card, v in zip(cards, report.verdicts):
        suite = by_file.get(card.file)
        if suite is None:
            suite = by_file[card.file] = ET.SubElement(suites, "testsuite", name=display_path(card.file))
        case = ET.SubElement(suite, "testcase", classname=card.topic, name=card.id,
                             file=display_path(card.file), line=str(card.line), time=f"{v.seconds:.3f}")
        if v.status == "failed":
            ET.SubElement(case, "failure", message=v.reason).text = v.detail or v.reason
        elif v.status in ("skipped", "no-code"):
            ET.SubElement(case, "skipped", message=v.reason)
        if v.stdout:
            ET.SubElement(case, "system-out").text = v.stdout
    for suite in by_file.values():
        cases = list(suite)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
        suite.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))
    ET.indent(suites)
    write_text(path, '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tfcards")
def main() -> None:
    """Flashcards about TensorFlow whose every example is proven against the installed TensorFlow.

    Card sources are YAML topic files (default: cards/). See docs/card-format.md.
    """


@main.command()
@selection
@running()
@click.option("--update", is_flag=True,
              help="Rewrite failing cards' 'output'/'raises' in their sources to what TensorFlow did.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Also write the verdicts and findings as JSON to this file.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Also write a JUnit XML report (one test case per card) to this file.")
def verify(paths, topics, tags, jobs, no_cache, cache_dir, strict, python, update, report_path,
           junit_path) -> None:
    """Run every card's example and check its claimed output.

    Exit status: 0 all verified, 1 some card failed, 2 bad input.
    """
    cards = _select(paths, topics, tags)
    report = _verify(cards, jobs, no_cache, cache_dir, rerun=update, strict=strict, python=python)
    failed = bool(report.failed)
    updated = 0
    if update:
        from .update import apply, plan

        result = plan(cards, report)
        apply(result.changed)
        for change in result.changed:
            card = change.card
            click.echo(f"updated {display_path(card.file)}:{card.line}: card '{card.id}': {change.key}")
        rewritten = sorted({c.card.file for c in result.changed})
        moved = {c.id: c for c in load_cards(rewritten)} if rewritten else {}
        for card, why in result.refused:
            card = moved.get(card.id, card)  # the rewrite may have shifted its line
            click.secho(f"FAILED {display_path(card.file)}:{card.line}: card '{card.id}': {why}",
                        fg="red", err=True)
        updated = len({c.card.id for c in result.changed})
        failed = bool(result.refused)
        click.echo(f"updated {len(result.changed)} value(s) of {updated} card(s) in {len(rewritten)} file(s)")
    else:
        _report_failures(cards, report)
    if report_path:
        _write_report(report_path, cards, report)
    if junit_path:
        _write_junit(junit_path, cards, report)
    click.echo(_summary(report, updated))
    sys.exit(1 if failed else 0)


@main.command()
@selection
@running(multiple_pythons=True)
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Also write every card's verdict per version as JSON to this file.")
@click.option("--by-topic", is_flag=True, help="Also show, per topic, how many cards hold on each version.")
def matrix(paths, topics, tags, jobs, no_cache, cache_dir, strict, python, report_path, by_topic) -> None:
    """Verify the cards under several TensorFlows (one --python each) and show where they differ.

    Exit status: 1 if a card fails on a version its `tensorflow` range says it holds for.
    """
    from .atomic import write_text
    from .cache import Cache
    from .matrix import matrix as run_matrix, table, topic_table
    from .runner import RunnerError

    if not python:
        raise click.UsageError("give each interpreter to compare with --python (at least one)")
    cards = _select(paths, topics, tags)
    try:
        result = run_matrix(cards, python, jobs=jobs, cache=None if no_cache else Cache(cache_dir), strict=strict)
    except RunnerError as e:
        raise click.ClickException(str(e)) from None
    for label, report in zip(result.versions, result.reports):
        click.echo(f"TensorFlow {label}: {_summary(report).split(' in ')[0]}")
    if by_topic:
        click.echo("\n".join(["", "cards that hold, per topic:"] + topic_table(result)))
    rows = table(result)
    click.echo("\n".join(["", f"{len(rows) - 1} card(s) whose verdict differs:"] + rows) if rows
               else "every card has the same verdict on every version")
    if report_path:
        write_text(report_path, json.dumps(result.to_json(), indent=2) + "\n")
    sys.exit(1 if result.failed else 0)


@main.command("list")
@selection
def list_(paths, topics, tags) -> None:
    """Show the topics, in the order of the learning path (cards/deck.yaml), and how many cards each
    holds; numbered as the Anki subdecks are."""
    from .cards import subdecks

    every = load_cards(_paths(paths))
    cards = filter_cards(every, topics, tags)
    names = subdecks(every)
    topics_seen: dict[tuple[str, str], list[Card]] = {}
    for card in cards:
        topics_seen.setdefault((card.deck, card.topic), []).append(card)
    labels = {key: names[key].split("::", 1)[1] for key in topics_seen}
    width = max(len(label) for label in labels.values())
    for key, members in topics_seen.items():
        files = ", ".join(sorted({display_path(c.file) for c in members}))
        with_code = sum(c.code is not None for c in members)
        click.echo(f"{labels[key]:<{width}}  {len(members):>4} cards  {with_code:>4} with code  {files}")
    click.echo(f"{len(cards)} cards in {len(topics_seen)} topics")


@main.command()
@selection
@running()
@click.option("--format", "formats", type=click.Choice(["apkg", "pdf", "all"]), default="apkg",
              show_default=True, help="What to write: an Anki deck, a printable PDF, or both.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
              show_default=True, help="Directory the outputs are written to.")
@click.option("--templates", "templates_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A copy of templates/ to render with instead of the shipped one.")
@click.option("--layout", type=click.Choice(["duplex", "foldover", "sheet"]), default="duplex",
              show_default=True, help="PDF: cut-out cards printed double-sided, fold-over cards, or a study sheet.")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True,
              help="PDF: paper size.")
@click.option("--card-size", type=click.Choice(["business", "3x5", "4x6"]), default="3x5", show_default=True,
              help="PDF: card size preset (business card, 3x5 in or 4x6 in index card).")
@click.option("--flip", type=click.Choice(["long", "short"]), default="long", show_default=True,
              help="PDF duplex: the edge your printer flips the sheet on.")
def build(paths, topics, tags, jobs, no_cache, cache_dir, strict, python, formats, out_dir, templates_dir,
          layout, paper, card_size, flip) -> None:
    """Verify the selected cards, then render them to an Anki deck and/or a PDF.

    Nothing is written if any selected card fails verification (exit 1).
    """
    from .build import BuildRefused, build as run_build, output_stem, stamps_file
    from .cache import Cache

    every = load_cards(_paths(paths))
    cards = filter_cards(every, topics, tags)
    pdf_options = {"layout": layout, "paper": paper, "flip": flip}
    if card_size:
        pdf_options["card_size"] = card_size
    with _progress([c for c in cards if c.runs], "Verifying") as callbacks:
        try:
            result = run_build(
                cards, out_dir=out_dir, formats=formats, stem=output_stem(cards, topics, tags),
                templates_dir=templates_dir, jobs=jobs, cache=None if no_cache else Cache(cache_dir),
                stamps_path=stamps_file(_paths(paths)), strict=strict, python=python,
                pdf_options=pdf_options, path=every, **callbacks)
        except BuildRefused as e:
            _report_failures(cards, e.report)
            click.echo(_summary(e.report))
            click.secho(f"error: {e}", fg="red", err=True)
            sys.exit(1)
    _report_failures(cards, result.report)  # no failures here: the findings, as warnings
    for card_id in result.overflowing:
        click.secho(f"warning: card '{card_id}' does not fit its slot even at the smallest font; "
                    "printed whole (see docs/pdf.md)", fg="yellow", err=True)
    click.echo(_summary(result.report))
    for path in result.written:
        click.echo(f"wrote {display_path(path)}")


@main.command()
@selection
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port; the URL is printed).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default serves this machine only.")
@click.option("--open", "open_browser", is_flag=True, help="Open the deck page in a web browser.")
@running()
@click.option("--templates", "templates_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A copy of templates/ to preview the cards with instead of the shipped one.")
@click.option("--card-size", type=click.Choice(["business", "3x5", "4x6"]), default="3x5", show_default=True,
              help="Card size preset of the printed preview.")
def serve(paths, topics, tags, port, host, open_browser, jobs, no_cache, cache_dir, strict, python,
          templates_dir, card_size) -> None:
    """Serve a live page of the cards: verdicts, diffs, findings and previews, updated on save.

    Open the printed URL; edits to the card files show within a second, without reloading.
    """
    from .cache import Cache
    from .serve import serve as run_serve

    run_serve(_paths(paths), topics=topics, tags=tags, host=host, port=port, open_browser=open_browser,
              jobs=jobs, cache=None if no_cache else Cache(cache_dir), templates_dir=templates_dir,
              card_size=card_size, python=python, strict=strict,
              announce=lambda url: click.echo(f"serving {url}  (Ctrl-C stops)"))


if __name__ == "__main__":  # python -m generator.cli, as the tests run it in a process of its own
    main()
