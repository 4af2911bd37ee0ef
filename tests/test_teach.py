"""Cards that teach: `extra` under the answer, figures drawn by the verified code, the learning path,
and a safe upgrade, checked where learners meet them: the real `anki` library and real PDFs."""
from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator.verify as verify_module
from generator import channel, figures
from generator.anki import MODELS
from generator.build import build
from generator.cache import Cache
from generator.cli import main
from generator.load import load_cards

from test_anki import import_into, note_by_id

DATA = Path(__file__).parent / "data"
TEACH = DATA / "teach"
UPGRADE = DATA / "upgrade"
PNG = channel.PNG


@pytest.fixture(scope="module")
def teach(tmp_path_factory):
    """The teach deck, copied (its stamps file is written), built once into an .apkg: (cards dir,
    package, cache, report)."""
    root = tmp_path_factory.mktemp("teach")
    src = root / "cards"
    shutil.copytree(TEACH, src)
    cache = Cache(root / "cache")
    cards = load_cards([src])
    result = build(cards, out_dir=root / "out", formats="apkg", cache=cache, stamps_path=src / "anki-stamps.json",
                   jobs=2)
    (apkg,) = result.written
    return src, apkg, cache, result.report


def text(html: str) -> str:
    """What a reader sees of card HTML: tags and entities dropped, whitespace squashed."""
    import html as html_module
    import re
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- extra ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("card_id,extra", [
    ("t-constant", "not NumPy's 64-bit defaults"),
    ("t-reverse", "shape stays fixed unless"),
    ("t-cloze", "tf.bitcast reinterprets the bits instead"),
    ("act-relu", "the gradient there is 1"),
], ids=["basic", "reverse", "cloze", "figure"])
def test_extra_shows_under_every_answer_and_on_no_question(teach, col, card_id, extra):
    """Every card of the note (a reverse note's second card, each cloze deletion) shows the extra
    on its answer side, below the answer, and never on its question side."""
    import_into(col, teach[1])
    note = note_by_id(col, card_id)
    cards = note.cards()
    assert len(cards) == {"t-reverse": 2, "t-cloze": 2}.get(card_id, 1)
    for card in cards:
        question, answer = text(card.question()), text(card.answer())
        assert extra not in question, (card_id, card.ord)
        assert extra in answer, (card_id, card.ord)
        # set apart, below the line Anki scrolls to and the answer under it
        html = card.answer()
        rule, extra_at = html.index('<hr id="answer">'), html.index('<div class="extra">')
        assert rule < extra_at and text(html[rule:extra_at]), (card_id, card.ord)
    css = col.models.get(note.mid)["css"]
    assert ".extra {" in css and ".nightMode .extra" in css  # its own look in day and night mode


def test_extra_is_not_judged_by_the_atomic_rule(tmp_path, write_cards):
    """A one-fact answer with a long extra passes --strict; the same words in `back` fail it."""
    words = " ".join(["word"] * 45)
    deck = write_cards({"x.yaml": f"""
        topic: X
        cards:
          - id: short-answer
            front: Which dtype does a Python int become in a tensor?
            back: int32.
            extra: {words}.
        """})
    runner = CliRunner()
    ok = runner.invoke(main, ["verify", str(deck), "--strict", "--no-cache"])
    assert ok.exit_code == 0, ok.output
    (deck / "x.yaml").write_text((deck / "x.yaml").read_text().replace("back: int32.", f"back: int32, {words}."))
    bad = runner.invoke(main, ["verify", str(deck), "--strict", "--no-cache"])
    assert bad.exit_code == 1 and "[atomic] the answer has 46 words" in bad.output


# --- figures --------------------------------------------------------------------------------------

def test_figures_are_drawn_by_the_run_and_cached_with_it(teach):
    src, _, cache, report = teach
    outcome = report.outcomes["act-relu"]
    (png,) = figures.decode(outcome)
    assert png.startswith(PNG) and b"Software" not in png and b"tIME" not in png
    # 600 x 450 px: fixed size and DPI, whatever figsize the card chose
    assert int.from_bytes(png[16:20], "big") == 600 and int.from_bytes(png[20:24], "big") == 450
    assert {v.card_id: v.status for v in report.verdicts}["act-sigmoid"] == "passed"


def test_figure_media_ship_on_the_declared_side(teach, col):
    _, apkg, _, report = teach
    import_into(col, apkg)
    media = Path(col.media.dir())
    for card_id, side in (("act-relu", "back"), ("act-sigmoid", "front")):
        (png,) = figures.decode(report.outcomes[card_id])
        (name,) = [p.name for p in media.iterdir() if card_id in p.name]
        assert (media / name).read_bytes() == png
        (card,) = note_by_id(col, card_id).cards()
        tag = f'<img src="{name}"'
        assert (tag in card.question()) == (side == "front"), card_id
        assert tag in card.answer()  # the answer side repeats the question above it
        if side == "back":
            assert tag not in note_by_id(col, card_id)["Front"]


def test_a_figure_card_whose_code_draws_nothing_fails(write_cards):
    deck = write_cards({"x.yaml": """
        topic: X
        cards:
          - id: no-drawing
            figure: back
            front: What is 1 + 1?
            back: "2"
            code: print(1 + 1)
            output: "2"
        """})
    result = CliRunner().invoke(main, ["verify", str(deck), "--no-cache"])
    assert result.exit_code == 1
    assert "no-drawing" in result.output and "left no matplotlib figure open" in result.output


class NoRunner:
    def __init__(self, *a, **k):
        raise AssertionError("a cached build started the TensorFlow runner")


def test_two_builds_with_figures_are_byte_identical_and_the_cached_one_runs_nothing(teach, tmp_path,
                                                                                      monkeypatch):
    src, apkg, cache, _ = teach
    monkeypatch.setattr(verify_module, "Runner", NoRunner)
    cards = load_cards([src])
    again = build(cards, out_dir=tmp_path, formats="apkg", cache=cache, stamps_path=src / "anki-stamps.json")
    assert again.written[0].read_bytes() == apkg.read_bytes()
    assert all(v.cached for v in again.report.verdicts if v.status == "passed")
    assert "tensorflow" not in sys.modules and "matplotlib" not in sys.modules
    with zipfile.ZipFile(apkg) as zf:
        assert sum(zf.read(n).startswith(PNG) for n in zf.namelist() if n.isdigit()) == 2


# --- the learning path ------------------------------------------------------------------------------

def test_new_cards_come_topic_by_topic_in_learning_path_order(teach, col):
    """Imported with Anki's default options and studied from the top deck, new cards come in the
    order of deck.yaml, and of the cards within each topic file. Anki's default "new card sort
    order" is "card type, then order gathered": a note's second card (a reversed card, a cloze's
    second deletion) comes after the day's first cards, as Anki keeps siblings apart."""
    src, apkg, _, _ = teach
    import_into(col, apkg)
    assert col.v3_scheduler()
    names = sorted(n.name for n in col.decks.all_names_and_ids() if n.name.startswith("TensorFlow::"))
    assert names == ["TensorFlow::01 Tensors", "TensorFlow::02 Keras layers", "TensorFlow::03 Activations"]
    col.decks.select(col.decks.id("TensorFlow"))
    queue = [col.get_card(q.card.id) for q in col.sched.get_queued_cards(fetch_limit=100).cards]
    shown = [(c.note()["Id"], c.ord) for c in queue]
    path = [c.id for c in load_cards([src])]
    assert path == ["t-constant", "t-reverse", "t-cloze", "k-dense", "k-reverse", "act-relu", "act-sigmoid"]
    assert [i for i, ord_ in shown if ord_ == 0] == path
    assert shown == [(i, 0) for i in path] + [("t-reverse", 1), ("t-cloze", 1), ("k-reverse", 1)]


def test_a_filtered_build_keeps_each_topic_in_its_numbered_subdeck(teach, tmp_path, col):
    src = teach[0]
    result = CliRunner().invoke(main, ["build", str(src), "--topic", "activations", "--format", "apkg",
                                       "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    import_into(col, tmp_path / "out" / "tensorflow--activations.apkg")
    assert {col.decks.name(c.did) for n in col.find_notes("") for c in col.get_note(n).cards()} == \
        {"TensorFlow::03 Activations"}


# --- upgrading ------------------------------------------------------------------------------------

def test_upgrading_from_the_package_main_built_keeps_history_and_note_types(tmp_path, col):
    """A learner imported the deck as main built it at e72f6c6 and studied; the new package (the
    same cards, some with extra now) updates every note in place, keeps every card's scheduling and
    review history, adds no note type, and its extra shows."""
    log = import_into(col, UPGRADE / "tensorflow-e72f6c6.apkg").log
    assert len(log.new) == 7
    notetypes = sorted((m.id, m.name) for m in col.models.all_names_and_ids())
    # The learner studies: a basic card, a reversed card's second card, a cloze's first deletion.
    studied = [note_by_id(col, "a-constant").cards()[0],
               sorted(note_by_id(col, "a-reverse").cards(), key=lambda c: c.ord)[1],
               sorted(note_by_id(col, "a-cloze").cards(), key=lambda c: c.ord)[0]]
    for card in studied:
        card.start_timer()
        col.sched.answerCard(card, 3)
    before = {c.id: (c.did, c.type, c.queue, c.due, c.ivl, c.reps)
              for n in col.find_notes("") for c in col.get_note(n).cards()}
    revlog = col.db.all("select id, cid, ease, ivl from revlog order by id")
    assert len(revlog) == 3

    src = tmp_path / "cards"
    shutil.copytree(DATA / "anki", src)
    shutil.copy(UPGRADE / "anki-stamps-e72f6c6.json", src / "anki-stamps.json")
    for path, card_id, extra in ((src / "tensors.yaml", "a-constant", "Python ints become int32."),
                                 (src / "keras.yaml", "a-reverse", "Dropout is off at inference."),
                                 (src / "tensors.yaml", "a-cloze", "tf.bitcast keeps the bits.")):
        path.write_text(path.read_text().replace(f"  - id: {card_id}\n", f"  - id: {card_id}\n    extra: {extra}\n"))
    result = build(load_cards([src]), out_dir=tmp_path / "out", formats="apkg", cache=Cache(tmp_path / "cache"),
                   stamps_path=src / "anki-stamps.json", jobs=2)
    log = import_into(col, result.written[0]).log

    assert not log.new and not log.conflicting and not log.duplicate
    assert len(log.updated) == col.note_count() == 7
    assert sorted((m.id, m.name) for m in col.models.all_names_and_ids()) == notetypes
    assert {col.models.get(note_by_id(col, i).mid)["id"] for i in ("a-constant", "a-reverse", "a-cloze")} == \
        {MODELS[k].id for k in ("basic", "reverse", "cloze")}
    after = {c.id: (c.did, c.type, c.queue, c.due, c.ivl, c.reps)
             for n in col.find_notes("") for c in col.get_note(n).cards()}
    assert after == before  # every card kept: its deck, its scheduling
    assert col.db.all("select id, cid, ease, ivl from revlog order by id") == revlog
    for card_id, extra in (("a-constant", "Python ints become int32."), ("a-reverse", "Dropout is off at inference."),
                           ("a-cloze", "tf.bitcast keeps the bits.")):
        for card in note_by_id(col, card_id).cards():
            assert extra in text(card.answer()) and extra not in text(card.question()), (card_id, card.ord)


# --- the spoiler rule on reverse cards --------------------------------------------------------------

SPOILERS = """
    topic: Spoilers
    cards:
      - id: padding-in-code
        type: reverse
        front: Padding that keeps a convolution's output as large as its input
        back: "`padding=\\"same\\"`"
        skip: shown, not run, in this test
        code: |
          layer = Conv2D(4, 3, padding='same')
        output: ""
      - id: formula-in-code
        type: reverse
        front: Parameters of a Dense layer with `units` units and `n` inputs
        back: "`n * units + units`"
        skip: shown, not run, in this test
        code: |
          print(count(Dense(5), inputs=10), 10 * 5 + 5)
        output: 55 55
      - id: front-in-code
        type: reverse
        front: "`@function`"
        back: Wraps a Python function in a callable that traces it into a graph.
        code_on: back
        skip: shown, not run, in this test
        code: |
          f = function(plus_one)
        output: ""
      - id: code-on-the-answer-side
        type: reverse
        code_on: back
        front: Parameters of a Dense layer with `units` units and `m` inputs
        back: "`m * units + units`"
        skip: shown, not run, in this test
        code: |
          print(count(Dense(5), inputs=10), 10 * 5 + 5)
        output: 55 55
    """


def test_a_reverse_card_that_shows_its_answer_on_a_question_side_fails_strict(write_cards):
    """The first card's question side is the front and the code under it; the second card's is the
    back, with its code and output. Neither may show the other's answer: in other quotes and case
    (`padding='same'`), as a formula with values in (`10 * 5 + 5`), or as code (`function(...)`)."""
    result = CliRunner().invoke(main, ["verify", str(write_cards({"s.yaml": SPOILERS})), "--strict"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert len(lines) == 3, result.output
    found = "\n".join(lines)
    assert "'padding-in-code': [spoiler] the answer's `padding=\"same\"` also shows on the question side" in found
    assert "'formula-in-code': [spoiler] the question's code shows `10 * 5 + 5`, the answer's `n * units + units`" \
        in found
    assert "'front-in-code': [spoiler] the reversed card asks for `@function`" in found
    assert "code-on-the-answer-side" not in result.output


def test_list_follows_the_learning_path_and_numbers_topics_as_anki_does(teach):
    result = CliRunner().invoke(main, ["list", str(teach[0])])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split("  ")[0] for line in lines[:3]] == ["01 Tensors", "02 Keras layers", "03 Activations"]
    only = CliRunner().invoke(main, ["list", str(teach[0]), "--topic", "activations"])
    assert only.output.startswith("03 Activations")  # its number in the whole path


def test_the_shipped_deck_goes_from_tensors_to_deployment():
    from generator.load import topic_files

    stems = [f.stem for f in topic_files([DATA.parent.parent / "cards"])]
    assert stems[:3] == ["tensors", "tensor-ops", "variables"]
    assert stems[-3:] == ["ragged-sparse", "migration", "compat-v1"]  # the deep and legacy topics last
    assert stems.index("autodiff") < stems.index("keras") < stems.index("data") < stems.index("training-loops")
    assert stems.index("cnn") < stems.index("transfer-learning") < stems.index("deployment")


# --- print ------------------------------------------------------------------------------------------

PT_PER_MM = 72 / 25.4
LONG_LINE = ('model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), '
             'loss="sparse_categorical_crossentropy", metrics=["accuracy"], jit_compile=False)')
LONG_CARD = f"""
    topic: Long lines
    cards:
      - id: long-line
        front: Which loss does this compile call choose?
        back: "`sparse_categorical_crossentropy`"
        skip: printed, not run, in this test
        code: |
          import keras
          model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3)])
          {LONG_LINE}
          print(model.loss)
        output: sparse_categorical_crossentropy
    """


def slot_words(path: Path, page: int, rect) -> list[dict]:
    import pdfplumber

    with pdfplumber.open(path) as doc:
        box = (rect.x * PT_PER_MM, rect.y * PT_PER_MM, (rect.x + rect.w) * PT_PER_MM, (rect.y + rect.h) * PT_PER_MM)
        return doc.pages[page].crop(box).extract_words(extra_attrs=["size", "fontname"])


def test_a_130_character_code_line_prints_with_every_token_whole_and_a_large_question(write_cards, tmp_path):
    """On a 3x5 card the long line is wrapped between tokens: every name, number and string of it
    is printed whole (read back from the PDF), the continued line starts with the mark, further
    right than its line, and the question stays at 14 pt or more."""
    import tokenize
    import io

    from generator import pdf
    from generator.pdf.geometry import duplex_sheet

    assert len(LONG_LINE) >= 130
    cards = load_cards([write_cards({"long.yaml": LONG_CARD})])
    path = pdf.write_pdf(cards, tmp_path / "long.pdf", tf_version="2.21.0").path
    sheet = duplex_sheet("a4", "3x5")
    words = slot_words(path, 0, sheet.fronts[0])
    mono = [w for w in words if "Mono" in w["fontname"]]
    texts = [w["text"] for w in mono]
    tokens = [t.string for t in tokenize.generate_tokens(io.StringIO(LONG_LINE).readline)
              if t.type in (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)]
    for token in tokens:
        assert any(token in text for text in texts), (token, texts)
    assert "\u21aa" in texts  # the continuation mark
    mark = next(w for w in mono if w["text"] == "\u21aa")
    line_start = min(w["x0"] for w in mono)
    assert mark["x0"] > line_start  # a hanging indent
    question = [w for w in words if "Mono" not in w["fontname"] and w["size"] > 7]
    assert question and min(w["size"] for w in question) >= 14
    assert min(w["size"] for w in mono) >= 6.5 - 0.05  # the code's floor


def test_figures_and_extra_print_on_their_side(teach, tmp_path):
    from generator import pdf
    from generator.pdf.geometry import duplex_sheet
    import pdfplumber

    src, _, _, report = teach
    cards = load_cards([src])
    drawn = {c.id: figures.decode(report.outcomes.get(c.id)) for c in cards if c.figure}
    path = pdf.write_pdf(cards, tmp_path / "teach.pdf", tf_version="2.21.0", figures=drawn).path
    again = pdf.write_pdf(cards, tmp_path / "again.pdf", tf_version="2.21.0", figures=drawn).path
    assert again.read_bytes() == path.read_bytes()  # figures and all
    sheet = duplex_sheet("a4", "3x5")
    per = sheet.per_page

    def where(card_id, which):
        n = [c.id for c in cards].index(card_id)
        page = 2 * (n // per) + (which == "back")
        rect = (sheet.fronts if which == "front" else sheet.backs)[n % per]
        return page, rect

    with pdfplumber.open(path) as doc:
        def images(card_id, which):
            page, rect = where(card_id, which)
            return [i for i in doc.pages[page].images
                    if rect.x * PT_PER_MM <= i["x0"] and i["x1"] <= (rect.x + rect.w) * PT_PER_MM
                    and rect.y * PT_PER_MM <= i["top"] and i["bottom"] <= (rect.y + rect.h) * PT_PER_MM]
        assert len(images("act-relu", "back")) == 1 and not images("act-relu", "front")
        assert len(images("act-sigmoid", "front")) == 1 and not images("act-sigmoid", "back")
        assert not images("t-constant", "back")
    for card_id, extra in (("t-constant", "64-bit"), ("t-reverse", "TensorShape(None)")):
        front = " ".join(w["text"] for w in slot_words(path, *where(card_id, "front")))
        back = slot_words(path, *where(card_id, "back"))
        assert extra not in front and extra in " ".join(w["text"] for w in back)
        # under the answer (both answers here are a code span: the back's first code) and smaller
        answer = min((w for w in back if "Mono" in w["fontname"] and w["size"] > 7), key=lambda w: w["top"])
        (word,) = [w for w in back if extra in w["text"]]
        assert word["top"] > answer["bottom"] and word["size"] < answer["size"]


def test_pdf_names_say_the_flip_edge_and_not_how_the_topic_was_spelt(teach, tmp_path):
    src, _, cache, _ = teach
    for topic, flip in (("keras", "long"), ("Keras layers", "long"), ("KERAS-LAYERS", "short")):
        result = CliRunner().invoke(main, ["build", str(src), "--topic", topic, "--format", "pdf", "--flip", flip,
                                           "--out", str(tmp_path), "--cache-dir", str(cache.directory)])
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.pdf")) == [
        "tensorflow--keras-layers-duplex-a4-3x5-flip-long.pdf", "tensorflow--keras-layers-duplex-a4-3x5-flip-short.pdf"]


# --- the live page ------------------------------------------------------------------------------------

def test_the_live_page_shows_extra_and_the_figure(teach):
    """A served card's page previews its note with the extra under the answer and the figure its
    run drew, served as media (the run's outcome here is the one the build's real run gave)."""
    import html

    from generator.serve.pages import Pages
    from generator.serve.workspace import API_JOB, Workspace

    src, _, _, report = teach
    jobs: list[dict] = []
    ws = Workspace([src], jobs.append, topics=["activations"])
    ws.scan()
    for job in jobs:
        if not job["key"].startswith(API_JOB):
            card_id = next(c.id for c in ws.cards if c.code == job["code"])
            ws.received({**report.outcomes[card_id], "key": job["key"]})
    assert ws.entry("act-relu").status == "passed"
    pages = Pages(ws)
    page = html.unescape(pages.card("act-relu"))
    (png,) = figures.decode(report.outcomes["act-relu"])
    (name,) = [n for n in pages.media if "act-relu" in n]
    assert pages.media[name].read_bytes() == png
    assert f'<img src="{name}"' in page and "the gradient there is 1" in page
    assert '<div class="extra">' in page


def test_a_business_card_question_does_not_start_with_a_word_alone(write_cards, tmp_path):
    """WeasyPrint broke this question after "How" (its first space) because the code span did not
    fit at the end of the line; the first line must hold as many words as fit."""
    from generator import pdf
    from generator.pdf.geometry import duplex_sheet

    deck = write_cards({"q.yaml": """
        topic: Saving
        cards:
          - id: keep-last
            front: How do you keep only the last few `tf.train.Checkpoint` saves on disk?
            back: "`tf.train.CheckpointManager(checkpoint, directory, max_to_keep=3)`"
        """})
    path = pdf.write_pdf(load_cards([deck]), tmp_path / "b.pdf", tf_version="2.21.0", card_size="business").path
    words = [w for w in slot_words(path, 0, duplex_sheet("a4", "business").fronts[0]) if w["size"] > 7]
    first = min(w["top"] for w in words)
    assert [w["text"] for w in words if abs(w["top"] - first) < 2][:4] == ["How", "do", "you", "keep"]


def test_a_copy_of_the_templates_made_before_the_footer_still_builds(teach, tmp_path, col):
    src, _, cache, _ = teach
    templates = tmp_path / "templates"
    shutil.copytree(Path(__file__).parent.parent / "templates", templates)
    (templates / "anki" / "footer.html").unlink()
    back = templates / "anki" / "back.html"
    back.write_text(back.read_text().replace('<div class="tfcards a">', '<div class="tfcards a mine">'))
    result = CliRunner().invoke(main, ["build", str(src), "--format", "apkg", "--out", str(tmp_path / "out"),
                                       "--templates", str(templates), "--cache-dir", str(cache.directory)])
    assert result.exit_code == 0, result.output
    import_into(col, tmp_path / "out" / "tensorflow.apkg")
    note = note_by_id(col, "t-constant")
    assert "mine" in note["Back"] and "not NumPy's 64-bit defaults" in text(note["Status"])


def test_the_study_sheet_lists_topics_in_learning_path_order(teach, tmp_path):
    import pdfplumber

    from generator import pdf

    path = pdf.write_pdf(load_cards([teach[0]]), tmp_path / "sheet.pdf", tf_version="2.21.0", layout="sheet").path
    with pdfplumber.open(path) as doc:
        first = doc.pages[0].extract_text()
    toc = [line for line in first.splitlines() if "cards)" in line]
    assert [line.split(" (")[0] for line in toc] == ["1. Tensors", "2. Keras layers", "3. Activations"]
