"""The `tfcards` command: a thin click layer over load -> verify -> render -> write."""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

import click
from click.core import ParameterSource

from . import __version__, inert
from .cards import Card
from .errors import display_path
from .load import filter_cards, load_cards
from .plural import counted, noun


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


def _cache_dir(ctx, param, value: Path | None) -> Path:
    """The user's cache, not the working directory's: a deck never brings its own verdicts."""
    from .cache import default_directory

    return value if value is not None else default_directory()


def running(multiple_pythons: bool = False):
    """Options of every command that verifies cards (matrix takes --python once per version)."""
    def decorate(f):
        f = python_option(multiple_pythons)(f)
        f = click.option("--sandbox/--no-sandbox", "sandbox", default=None,
                         help="Run the cards confined by bubblewrap: no network, no home directory, no "
                              "deck sources, read-only files (docs/security.md). Default: confined where "
                              "bubblewrap works; --sandbox demands it; --no-sandbox for decks you trust.")(f)
        f = click.option("--strict", is_flag=True,
                         help="Fail cards whose prose breaks a strict check (api, deprecated, grounded, "
                              "atomic, duplicate, spoiler); without it findings are warnings.")(f)
        f = click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path),
                         callback=_cache_dir, show_default="your user cache directory, ~/.cache/tfcards on Linux",
                         help="Where outcomes of unchanged cards are remembered, signed with your own key "
                              "(docs/security.md).")(f)
        f = click.option("--no-cache", is_flag=True, help="Run every card; neither read nor write the cache.")(f)
        return click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                            help="Processes that run cards (and lay out PDF pages) in parallel "
                                 "[default: the machine's cores].")(f)
    return decorate


def _default_stays_here(ctx, param, value: Path | None) -> Path | None:
    """A default directory (`build/`) is tfcards' choice, but what sits at that path came with
    the deck: a committed symlink `build -> elsewhere` must not choose where tfcards writes.
    An explicit option is the user's choice and is taken as given."""
    if value is None or value.is_absolute() or ctx.get_parameter_source(param.name) is not ParameterSource.DEFAULT:
        return value
    here, target = Path.cwd().resolve(), value.resolve()
    if target != here and here not in target.parents:
        raise click.BadParameter(f"the default '{value}' leads to {target} through a symlink, outside the working "
                                 f"directory; pass {param.opts[0]} {value} to write there", ctx, param)
    return value


def _output_file(ctx, param, value: Path | None) -> Path | None:
    """A report path must not be a card source: `--report cards/x.yaml` would overwrite it."""
    if value is not None and value.suffix.lower() in (".yaml", ".yml"):
        raise click.BadParameter(f"'{value}' looks like a topic file; {param.opts[0]} writes a report there "
                                 "(give it a .json or .xml name)", ctx, param)
    return value


def _sandboxed(want: bool | None) -> bool:
    """Whether the cards run confined: --no-sandbox never, --sandbox always (bad input where
    bubblewrap cannot), by default wherever it works, with one warning where it cannot."""
    if want is False:
        return False
    from .errors import CardError
    from .sandbox import INSTALL, unavailable

    why = unavailable()
    if why is None:
        return True
    if want:
        raise CardError(f"--sandbox: {why}; {INSTALL}")
    click.secho(f"warning: cards run without a sandbox: {why}; {INSTALL}", fg="yellow", err=True)
    return False


def _select(paths, topics, tags) -> list[Card]:
    return filter_cards(load_cards(_paths(paths)), topics, tags)


@contextlib.contextmanager
def _progress(cards: list[Card], label: str, clock: Callable[[], float] = time.monotonic) -> Iterator[dict]:
    """A progress bar on a terminal, naming the card that has been running longest, and the time
    left once it can be told; silence in CI and pipes. Yields the `progress`/`on_start` keyword
    arguments of `verify`."""
    show = sys.stderr.isatty() and not os.environ.get("CI") and len(cards) > 1
    if not show:
        yield {}
        return
    running: dict[str, None] = {}  # in start order
    ran: list[float] = []  # when each card that really ran finished (a cached one takes no time)

    def current(_item) -> str | None:
        return " ".join(s for s in (next(iter(running), None), left()) if s) or None

    def left() -> str | None:
        """From the pace since the first run card finished: before it, TensorFlow was importing."""
        if len(ran) < 2 or bar.pos >= len(cards):
            return None
        seconds = round((ran[-1] - ran[0]) / (len(ran) - 1) * (len(cards) - bar.pos))
        return f"(~{seconds // 60}:{seconds % 60:02d} left)"

    def finished(card: Card, verdict) -> None:
        running.pop(card.id, None)
        if not getattr(verdict, "cached", False):
            ran.append(clock())
        bar.update(1)

    with click.progressbar(length=len(cards), label=label, file=sys.stderr, show_eta=False,
                           show_pos=True, item_show_func=current) as bar:
        def started(card: Card) -> None:
            running.setdefault(card.id)
            bar.render_progress()  # redraw: name the card now, not when the next one finishes

        yield {"progress": finished, "on_start": started}


def _verify(cards: list[Card], jobs, no_cache: bool, cache_dir: Path, rerun: bool = False,
            strict: bool = False, python: str | None = None, sandbox: bool | None = None):
    from .cache import Cache
    from .runner import RunnerError
    from .verify import verify

    with _progress([c for c in cards if c.runs], "Verifying") as callbacks:
        try:
            return verify(cards, jobs=jobs, cache=None if no_cache else Cache(cache_dir),
                          rerun=rerun, strict=strict, python=python, sandbox=_sandboxed(sandbox), **callbacks)
        except RunnerError as e:
            raise click.ClickException(str(e)) from None


def _report_failures(cards: list[Card], report, reasons: dict[str, str] | None = None) -> None:
    """Findings of cards that pass as warnings, then each failed card (with REASONS' word for it
    where given: why `--update` could not fix it)."""
    by_id = {c.id: c for c in cards}
    for v in report.verdicts:
        if v.status == "failed":
            continue
        card = by_id[v.card_id]
        for finding in v.findings:
            click.secho(inert.line(f"warning: {display_path(card.file)}:{card.line}: card '{card.id}': {finding}"),
                        fg="yellow", err=True)
    for v in report.failed:
        card = by_id[v.card_id]
        reason = (reasons or {}).get(card.id, v.reason)
        click.secho(inert.line(f"FAILED {display_path(card.file)}:{card.line}: card '{card.id}': {reason}"),
                    fg="red", err=True)
        for line in inert.lines(v.detail.rstrip("\n")) if v.detail else ():
            click.echo(f"    {line}", err=True)
        run_was_fine = bool(v.findings) and v.reason == str(v.findings[0])  # failed on its prose alone
        if v.stderr.strip() and "Traceback" not in v.detail and not run_was_fine:
            click.echo("    stderr (last lines):", err=True)
            for line in inert.lines(v.stderr.rstrip())[-8:]:
                click.echo(f"    | {line}", err=True)


def _summary(report, updated: int = 0) -> str:
    """`6 passed, 1 failed ...`; after `--update`, the rewritten cards that now pass count as updated."""
    parts = [f"{report.count('passed') - updated} passed", f"{report.count('failed')} failed"]
    if updated:
        parts.insert(1, f"{updated} updated")
    if report.count("skipped"):
        parts.append(f"{report.count('skipped')} skipped")
    if report.count("no-code"):
        parts.append(f"{report.count('no-code')} without code")
    cached = sum(v.cached for v in report.verdicts)
    seconds = f"{report.seconds:.1f}" if report.seconds >= 0.1 else f"{report.seconds:.2f}"
    confined = "sandboxed" if report.sandboxed else "not sandboxed"
    return (f"{', '.join(parts)} in {seconds} s "
            f"(TensorFlow {report.tensorflow}{f', {cached} cached' if cached else ''}, {confined})")


def _write_report(path: Path, cards: list[Card], report) -> None:
    from .atomic import write_text
    from .matrix import report_data

    write_text(path, json.dumps(report_data(cards, report), indent=2) + "\n")


def _write_junit(path: Path, cards: list[Card], report) -> None:
    """One test case per card, grouped in a suite per topic file: what CI systems display. What
    came from a card is made well-formed XML (inert.xml)."""
    from xml.etree import ElementTree as ET

    from .atomic import write_text

    x = inert.xml
    suites = ET.Element("testsuites", name="tfcards", tests=str(len(cards)),
                        failures=str(report.count("failed")), time=f"{report.seconds:.3f}")
    by_file: dict[Path, ET.Element] = {}
    for card, v in zip(cards, report.verdicts):
        suite = by_file.get(card.file)
        if suite is None:
            suite = by_file[card.file] = ET.SubElement(suites, "testsuite", name=x(display_path(card.file)))
        case = ET.SubElement(suite, "testcase", classname=x(card.topic), name=card.id,
                             file=x(display_path(card.file)), line=str(card.line), time=f"{v.seconds:.3f}")
        if v.status == "failed":
            ET.SubElement(case, "failure", message=x(v.reason)).text = x(v.detail or v.reason)
        elif v.status in ("skipped", "no-code"):
            ET.SubElement(case, "skipped", message=x(v.reason))
        if v.stdout:
            ET.SubElement(case, "system-out").text = x(v.stdout)
    for suite in by_file.values():
        cases = list(suite)
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
        suite.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))
    ET.indent(suites)
    write_text(path, '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tfcards")
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
def verify(paths, topics, tags, jobs, no_cache, cache_dir, strict, python, sandbox, update, report_path,
           junit_path) -> None:
    """Run every card's example and check its claimed output.

    Exit status: 0 all verified, 1 some card failed, 2 bad input.
    """
    cards = _select(paths, topics, tags)
    report = _verify(cards, jobs, no_cache, cache_dir, rerun=update, strict=strict, python=python,
                     sandbox=sandbox)
    updated, refused = 0, {}
    if update:
        from .update import apply, plan
        from .verify import rejudge

        result = plan(cards, report)
        apply(result.changed)
        for change in result.changed:
            card = change.card
            click.echo(inert.line(f"updated {display_path(card.file)}:{card.line}: card '{card.id}': {change.key}"))
        rewritten = sorted({c.card.file for c in result.changed})
        moved = {c.id: c for c in load_cards(rewritten)} if rewritten else {}
        cards = [moved.get(c.id, c) for c in cards]  # the rewrite may have shifted lines
        report = rejudge(cards, report, strict)  # what the sources claim now: a strict finding still fails
        refused = {card.id: why for card, why in result.refused}
        passing = {v.card_id for v in report.verdicts if v.status == "passed"}
        updated = len({c.card.id for c in result.changed} & passing)
        click.echo(f"updated {counted(len(result.changed), 'value')} of "
                   f"{counted(len({c.card.id for c in result.changed}), 'card')} in {counted(len(rewritten), 'file')}")
    _report_failures(cards, report, refused)
    if report_path:
        _write_report(report_path, cards, report)
    if junit_path:
        _write_junit(junit_path, cards, report)
    click.echo(_summary(report, updated))
    sys.exit(1 if report.failed else 0)


@main.command()
@selection
@running(multiple_pythons=True)
@click.option("--merge", is_flag=True,
              help="PATHS are `verify --report` JSON files (one per release, made anywhere): build the "
                   "matrix from them instead of running cards.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Also write every card's verdict per version as JSON to this file.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write the releases each card passed on to this file (cards/proven.json), which "
                   "rendered cards read for their 'proven on' line.")
@click.option("--by-topic", is_flag=True, help="Also show, per topic, how many cards hold on each version.")
@click.option("--markdown", is_flag=True, help="Print the tables as Markdown.")
def matrix(paths, topics, tags, jobs, no_cache, cache_dir, strict, python, sandbox, merge, report_path, store_path,
           by_topic, markdown) -> None:
    """Verify the cards under several TensorFlows (one --python each) and show where they differ.

    With --merge, PATHS are `verify --report` files made elsewhere and nothing runs.

    Exit status: 1 if a card fails on a version its ranges say it holds for; 2 for bad input,
    including merged reports that come from different card sources or disagree on a card for
    the same TensorFlow and Keras.
    """
    from .atomic import write_text
    from .cache import Cache
    from .matrix import diffs, matrix as run_matrix, merge as merge_reports, table, topic_table
    from .runner import RunnerError

    if merge:
        if python or topics or tags or not paths:
            raise click.UsageError("--merge takes report files only (no --python, --topic or --tag)")
        result = merge_reports([Path(p) for p in paths])
    else:
        if not python:
            raise click.UsageError("give each interpreter to compare with --python (at least one)")
        if store_path and (topics or tags):
            raise click.UsageError("--store records the whole deck: drop --topic and --tag")
        cards = _select(paths, topics, tags)
        try:
            result = run_matrix(cards, python, jobs=jobs, cache=None if no_cache else Cache(cache_dir),
                                strict=strict, sandbox=_sandboxed(sandbox))
        except RunnerError as e:
            raise click.ClickException(str(e)) from None
    for run in result.runs:
        click.echo(f"TensorFlow {run.tensorflow} (Keras {run.keras}): {run.summary()}")
    if by_topic:
        click.echo("\n".join(["", "cards that hold, per topic:"] + [inert.line(r) for r in topic_table(result, markdown)]))
    rows = [inert.line(r) for r in table(result, markdown=markdown)]
    click.echo("\n".join(["", f"{counted(len(rows) - 1 - markdown, 'card')} whose verdict differs:"] + rows) if rows
               else "every card has the same verdict on every version")
    if rows and diffs(result):
        click.echo("\n".join(["", "why, where a card fails:"] + [inert.line(r) for r in diffs(result)]))
    if report_path:
        write_text(report_path, json.dumps(result.to_json(), indent=2) + "\n")
    if store_path:
        from .proven import dumps

        write_text(store_path, dumps(result.stored()))
    sys.exit(1 if result.failed else 0)


@main.command("list")
@selection
@click.option("--tags", "by_tag", is_flag=True, help="Show the tags instead: how many cards carry each, in which topics.")
def list_(paths, topics, tags, by_tag) -> None:
    """Show the topics, in the order of the learning path (cards/deck.yaml), and how many cards each
    holds, numbered as the Anki subdecks are (with --tags: the tags)."""
    from .cards import subdecks

    every = load_cards(_paths(paths))
    cards = filter_cards(every, topics, tags)
    if by_tag:
        return _list_tags(cards)
    names = subdecks(every)
    topics_seen: dict[tuple[str, str], list[Card]] = {}
    for card in cards:
        topics_seen.setdefault((card.deck, card.topic), []).append(card)
    labels = {key: names[key].split("::", 1)[1] for key in topics_seen}
    width = max(len(label) for label in labels.values())
    for key, members in topics_seen.items():
        files = ", ".join(sorted({display_path(c.file) for c in members}))
        with_code = sum(c.code is not None for c in members)
        click.echo(inert.line(f"{labels[key]:<{width}}  {len(members):>4} {noun(len(members), 'card'):<5}  "
                              f"{with_code:>4} with code  {files}"))
    click.echo(f"{counted(len(cards), 'card')} in {counted(len(topics_seen), 'topic')}")


def _list_tags(cards: list[Card]) -> None:
    by_tag: dict[str, list[Card]] = {}
    for card in cards:
        for tag in card.tags:
            by_tag.setdefault(tag, []).append(card)
    width = max((len(t) for t in by_tag), default=0)
    for tag, members in sorted(by_tag.items()):
        topics = ", ".join(dict.fromkeys(c.topic for c in members))
        click.echo(inert.line(f"{tag:<{width}}  {len(members):>4} {noun(len(members), 'card'):<5}  {topics}"))
    untagged = sum(not c.tags for c in cards)
    click.echo(f"{counted(len(by_tag), 'tag')} on {counted(len(cards) - untagged, 'card')}"
               + (f"; {counted(untagged, 'card')} without a tag" if untagged else ""))


@main.command()
@selection
@running()
@click.option("--format", "formats", type=click.Choice(["apkg", "pdf", "all"]), default="apkg",
              show_default=True, help="What to write: an Anki deck, a printable PDF, or both.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
              show_default=True, callback=_default_stays_here, help="Directory the outputs are written to.")
@click.option("--templates", "templates_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of templates to render with; each file it lacks comes from the shipped templates/.")
@click.option("--layout", type=click.Choice(["duplex", "foldover", "sheet"]), default="duplex",
              show_default=True, help="PDF: cut-out cards printed double-sided, fold-over cards, or a study sheet.")
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True,
              help="PDF: paper size.")
@click.option("--card-size", type=click.Choice(["business", "3x5", "4x6"]), default="3x5", show_default=True,
              help="PDF: card size preset (business card, 3x5 in or 4x6 in index card).")
@click.option("--flip", type=click.Choice(["long", "short"]), default="long", show_default=True,
              help="PDF duplex: the edge your printer flips the sheet on.")
@click.option("--stamps", "stamps_path", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Where the Anki notes' modification times are kept [default: anki-stamps.json beside the "
                   "cards]; another file builds a copy of a deck without rewriting its committed one.")
def build(paths, topics, tags, jobs, no_cache, cache_dir, strict, python, sandbox, formats, out_dir,
          templates_dir, layout, paper, card_size, flip, stamps_path) -> None:
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
                stamps_path=stamps_path or stamps_file(_paths(paths)), strict=strict, python=python,
                sandbox=_sandboxed(sandbox), pdf_options=pdf_options, path=every, **callbacks)
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
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to listen on (0: any free port; the URL is printed) "
                   "[default: 8000, or a free port if 8000 is taken].")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; the default serves this machine only (elsewhere: no "
                   "authentication, see docs/serve.md).")
@click.option("--open", "open_browser", is_flag=True, help="Open the deck page in a web browser.")
@running()
@click.option("--templates", "templates_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder of templates to preview the cards with; each file it lacks comes from the shipped ones.")
@click.option("--card-size", type=click.Choice(["business", "3x5", "4x6"]), default="3x5", show_default=True,
              help="Card size preset of the printed preview.")
def serve(paths, topics, tags, port, host, open_browser, jobs, no_cache, cache_dir, strict, python,
          sandbox, templates_dir, card_size) -> None:
    """Serve a live page of the cards: verdicts, diffs, findings and previews, updated on save.

    Open the printed URL; edits to the card files show within a second, without reloading.
    """
    from .cache import Cache
    from .serve import serve as run_serve

    confined = _sandboxed(sandbox)
    run_serve(_paths(paths), topics=topics, tags=tags, host=host, port=port, open_browser=open_browser,
              jobs=jobs, cache=None if no_cache else Cache(cache_dir), templates_dir=templates_dir,
              card_size=card_size, python=python, strict=strict, sandbox=confined,
              announce=lambda url: click.echo(f"serving {url}  ({'sandboxed' if confined else 'not sandboxed'}"
                                              "; Ctrl-C stops)"))


@main.command()
@click.argument("kind", type=click.Choice(["topic", "deck"]), default="topic")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), callback=_output_file,
              help="Write the schema to this file instead of printing it.")
def schema(kind, output) -> None:
    """Print the JSON Schema (draft 2020-12) of a topic file, or of deck.yaml, for editors.

    Made from the loader's own field table. The shipped files name the committed copy in their
    first line: `# yaml-language-server: $schema=../schema/topic.schema.json`.
    """
    from .atomic import write_text
    from .schema import text

    if output:
        write_text(output, text(kind))
    else:
        click.echo(text(kind), nl=False)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
def templates(directory: Path) -> None:
    """Write a copy of the shipped templates to DIRECTORY, to restyle with `build --templates`.

    DIRECTORY must be new or empty: nothing is ever overwritten (exit 2).
    """
    from .scaffold import copy_templates

    written = copy_templates(directory)
    click.echo(f"wrote {len(written)} templates to {display_path(directory)}; edit them, then: "
               f"tfcards build --templates {directory}")


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
def new(directory: Path) -> None:
    """Start a deck repository in DIRECTORY: an example topic, its learning path, a README, a
    .gitignore and a GitHub Actions workflow that verifies it on each TensorFlow release.

    DIRECTORY must be new or empty: nothing is ever overwritten (exit 2).
    """
    from .scaffold import new_deck

    for path in new_deck(directory):
        click.echo(f"wrote {display_path(path)}")
    click.echo(f"next: cd {directory} && tfcards verify --strict && tfcards build --format all")


if __name__ == "__main__":  # python -m generator.cli, as the tests run it in a process of its own
    main()
