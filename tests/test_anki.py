"""The .apkg, checked the way users meet it: imported by the real `anki` library into a collection."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from anki.collection import Collection, ImportAnkiPackageOptions, ImportAnkiPackageRequest

from generator.anki import MODELS, subdecks, write_apkg
from generator.build import build, output_stem
from generator.cache import Cache
from generator.cli import main
from generator.load import filter_cards, load_cards

DATA = Path(__file__).parent / "data" / "anki"


@pytest.fixture
def deck_dir(tmp_path):
    src = tmp_path / "cards"
    shutil.copytree(DATA, src)
    return src


def make(deck_dir: Path, out: Path, **kw) -> Path:
    cards = load_cards([deck_dir])
    cache = Cache(deck_dir.parent / "cache")
    result = build(cards, out_dir=out, formats="apkg", cache=cache, stamps_path=deck_dir / "anki-stamps.json",
                   jobs=2, **kw)
    (path,) = result.written
    return path


def import_into(col: Collection, apkg: Path):
    """Import as a person would: Anki's own default options (update notes only if newer)."""
    options = col._backend.get_import_anki_package_presets()
    assert options.update_notes == ImportAnkiPackageOptions().update_notes  # IF_NEWER
    return col.import_anki_package(ImportAnkiPackageRequest(package_path=str(apkg), options=options))


def note_by_id(col: Collection, card_id: str):
    (nid,) = col.find_notes(f'"Id:{card_id}"')
    return col.get_note(nid)


def test_import_gives_one_note_per_card_in_the_topic_decks(deck_dir, tmp_path, col):
    apkg = make(deck_dir, tmp_path / "out")
    log = import_into(col, apkg).log
    cards = load_cards([deck_dir])
    assert len(log.new) == len(cards) and col.note_count() == len(cards)
    names = {d.name for d in col.decks.all_names_and_ids()}
    # numbered in the order of the learning path (no deck.yaml here: sorted file order)
    assert {"TensorFlow", "TensorFlow::01 Keras layers", "TensorFlow::02 Tensors"} <= names
    for card in cards:
        note = note_by_id(col, card.id)
        assert set(note.tags) == {card.topic_slug, *card.tags}
        assert {col.decks.name(c.did) for c in note.cards()} == {subdecks(cards)[card.deck, card.topic]}
    # cloze c1 + c2 -> two cards; reverse -> two cards; basic -> one.
    assert len(note_by_id(col, "a-cloze").cards()) == 2
    assert len(note_by_id(col, "a-reverse").cards()) == 2
    assert len(note_by_id(col, "a-dense").cards()) == 1
    assert {m.name for m in col.models.all_names_and_ids()} >= {m.name for m in MODELS.values()}


def test_fields_hold_the_rendered_verified_card(deck_dir, tmp_path, col):
    import_into(col, make(deck_dir, tmp_path / "out"))
    const = note_by_id(col, "a-constant")
    assert const["Code"] == "print(tf.constant(4))"
    assert const["Output"] == "tf.Tensor(4, shape=(), dtype=int32)"
    assert 'class="highlight"' in const["Front"]
    # inline code may break only between tokens
    assert "<code>print(<wbr>tf<wbr>.constant(<wbr>4))</code>" in const["Front"]
    assert "tf.Tensor(4, shape=(), dtype=int32)" in const["Back"]
    # the provenance line is the answer's footer (the Status field), under the answer
    assert "verified with TensorFlow 2." in const["Status"] and "verified with" not in const["Back"]
    reshape = note_by_id(col, "a-reshape")  # code_on: back
    assert "highlight" not in reshape["Front"] and 'class="highlight"' in reshape["Back"]
    skipped = note_by_id(col, "a-skipped")
    assert "not verified: needs a trained model" in skipped["Status"]
    raises = note_by_id(col, "a-raises")
    assert "InvalidArgumentError" in raises["Back"] and raises["Output"] == "InvalidArgumentError"
    cloze = note_by_id(col, "a-cloze")
    assert "{{c1::dtype}}" in cloze["Text"] and "truncates toward zero" in cloze["Extra"]
    # The question as Anki renders it hides the deletion; the answer shows it.
    card1 = sorted(cloze.cards(), key=lambda c: c.ord)[0]
    assert ">[...]</span>" in card1.question() and ">dtype</span>" not in card1.question()
    assert ">dtype</span>" in card1.answer()
    # Night mode and phones: a dark code theme, and code that scrolls instead of breaking a line.
    css = col.models.get(const.mid)["css"]
    assert ".nightMode .highlight" in css and "overflow-x: auto" in css


def test_images_ship_as_media(deck_dir, tmp_path, col):
    apkg = make(deck_dir, tmp_path / "out")
    import_into(col, apkg)
    back = note_by_id(col, "a-reshape")["Back"]
    (name,) = [n for n in Path(col.media.dir()).iterdir()]
    assert f'src="{name.name}"' in back and name.name.endswith("grid.png")
    assert name.read_bytes() == (DATA / "images" / "grid.png").read_bytes()


def test_reimport_updates_in_place_and_keeps_history_and_user_edits(deck_dir, tmp_path, col):
    import_into(col, make(deck_dir, tmp_path / "out1"))
    count = col.note_count()
    # The user studies one card ...
    studied = note_by_id(col, "a-constant").cards()[0]
    studied.start_timer()
    col.sched.answerCard(studied, 3)
    reviewed = col.get_card(studied.id)
    assert col.db.scalar("select count() from revlog where cid = ?", studied.id) == 1
    # ... and edits a card in Anki that the source will not change.
    mine = note_by_id(col, "a-dense")
    mine["Back"] = "my own words"
    col.update_note(mine)
    # The author edits two cards (one the user studied) and rebuilds seconds later.
    path = deck_dir / "tensors.yaml"
    text = path.read_text()
    text = text.replace("An eager tensor with value 4 and shape `()`.", "A scalar tensor with value 4, shape `()`.")
    text = text.replace("No implicit promotion", "TensorFlow never promotes dtypes")
    path.write_text(text)
    log = import_into(col, make(deck_dir, tmp_path / "out2")).log
    assert col.note_count() == count and not log.new and not log.conflicting
    assert {n.fields[0] for n in log.updated} == {"a-constant", "a-raises"}
    assert "A scalar tensor" in note_by_id(col, "a-constant")["Back"]
    assert "TensorFlow never promotes dtypes" in note_by_id(col, "a-raises")["Back"]
    assert note_by_id(col, "a-dense")["Back"] == "my own words"
    after = col.get_card(studied.id)
    assert (after.ivl, after.due, after.type, after.queue, after.reps) == \
        (reviewed.ivl, reviewed.due, reviewed.type, reviewed.queue, reviewed.reps)
    assert col.db.scalar("select count() from revlog where cid = ?", studied.id) == 1
    assert len(col.models.all_names_and_ids()) == len({m.name for m in col.models.all_names_and_ids()})


def test_unchanged_sources_rebuild_byte_identical(deck_dir, tmp_path):
    first = make(deck_dir, tmp_path / "a").read_bytes()
    stamps = (deck_dir / "anki-stamps.json").read_text()
    assert make(deck_dir, tmp_path / "b").read_bytes() == first
    assert (deck_dir / "anki-stamps.json").read_text() == stamps
    # Stamps survive a fresh clone because they live beside the sources, not under build/.
    clone = tmp_path / "clone" / "cards"
    shutil.copytree(deck_dir, clone)
    assert make(clone, tmp_path / "c").read_bytes() == first


def test_a_changed_card_gets_a_newer_stamp_and_the_rest_keep_theirs(deck_dir, tmp_path):
    cards = load_cards([deck_dir])
    stamps = deck_dir / "anki-stamps.json"
    write_apkg(cards, tmp_path / "a.apkg", tf_version="2.21.0", stamps_path=stamps)
    before = json.loads(stamps.read_text())["stamps"]
    write_apkg(cards, tmp_path / "b.apkg", tf_version="2.21.1", stamps_path=stamps)  # every status line changes
    after = json.loads(stamps.read_text())["stamps"]
    changed = {k for k in after if after[k]["hash"] != before[k]["hash"]}
    assert all(after[k]["mod"] > before[k]["mod"] for k in changed)
    unchanged = {k for k in after if k.startswith("note:")} - changed
    # No code, or skipped: their status line does not name the TensorFlow version.
    assert unchanged == {"note:a-cloze", "note:a-reverse", "note:a-skipped"}
    assert all(after[k] == before[k] for k in unchanged)


def test_filtered_build_holds_exactly_the_matching_cards(deck_dir, tmp_path, col):
    cards = filter_cards(load_cards([deck_dir]), topics=["keras-layers"], tags=[])
    stem = output_stem(cards, ["keras-layers"], [])
    result = build(cards, out_dir=tmp_path / "out", formats="apkg", stem=stem, cache=Cache(tmp_path / "cache"),
                   stamps_path=deck_dir / "anki-stamps.json")
    (apkg,) = result.written
    assert apkg.name == "tensorflow--keras-layers.apkg"
    import_into(col, apkg)
    assert sorted(col.get_note(n)["Id"] for n in col.find_notes("")) == ["a-dense", "a-reverse", "a-skipped"]


def test_cli_build_with_tag_and_own_templates(deck_dir, tmp_path, col):
    from click.testing import CliRunner

    templates = tmp_path / "templates"
    shutil.copytree(Path(__file__).parent.parent / "templates", templates)
    front = templates / "anki" / "front.html"
    front.write_text(front.read_text().replace('<div class="tfcards q">', '<div class="tfcards q mine">'))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["build", str(deck_dir), "--tag", "keras", "--format", "apkg",
                                       "--out", str(out), "--templates", str(templates),
                                       "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "tensorflow--tag-keras.apkg" in result.output
    import_into(col, out / "tensorflow--tag-keras.apkg")
    notes = [col.get_note(n) for n in col.find_notes("")]
    assert sorted(n["Id"] for n in notes) == ["a-dense", "a-reverse"]
    assert all("mine" in n["Front"] for n in notes)


def test_a_failed_build_leaves_no_package(deck_dir, tmp_path):
    from click.testing import CliRunner

    out = tmp_path / "out"
    out.mkdir()
    (out / "tensorflow.apkg").write_bytes(b"previous good deck")
    path = deck_dir / "keras.yaml"
    path.write_text(path.read_text().replace("(2, 3)\n", "(2, 4)\n"))
    result = CliRunner().invoke(main, ["build", str(deck_dir), "--format", "apkg", "--out", str(out),
                                       "--cache-dir", str(tmp_path / "cache")])
    assert result.exit_code == 1
    assert "a-dense" in result.output
    assert (out / "tensorflow.apkg").read_bytes() == b"previous good deck"
    assert [p.name for p in out.iterdir()] == ["tensorflow.apkg"]


def test_package_is_a_plain_zip_with_fixed_times(deck_dir, tmp_path):
    apkg = write_apkg(load_cards([deck_dir]), tmp_path / "d.apkg", tf_version="2.21.0")
    with zipfile.ZipFile(apkg) as zf:
        assert zf.namelist()[:2] == ["collection.anki2", "media"]
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_an_output_compared_with_a_tolerance_says_so(deck_dir):
    from dataclasses import replace

    from generator import render
    from generator.anki import render_fields

    card = next(c for c in load_cards([deck_dir]) if c.output is not None)
    env = render.environment()
    exact = render_fields(card, env, "2.21.0")[0]
    approx = render_fields(replace(card, tolerance=1e-6), env, "2.21.0")[0]
    assert any('<div class="label">Output</div>' in f for f in exact)
    assert any('<div class="label">Output, numbers within 1e-06</div>' in f for f in approx)


BASIC = """topic: Dtypes
cards:
  - id: {id}
    front: Which dtype does `tf.constant(1.0)` have?
    back: float32
"""
CLOZE = """topic: Dtypes
cards:
  - id: {id}
    type: cloze
    front: "`tf.constant(1.0)` has dtype {{{{c1::float32}}}}."
"""


def test_a_card_that_changes_kind_is_refused_because_anki_would_keep_the_old_note(tmp_path, monkeypatch, col):
    from click.testing import CliRunner

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cards").mkdir()
    topic, stamps, apkg = tmp_path / "cards" / "t.yaml", tmp_path / "cards" / "anki-stamps.json", tmp_path / "build" / "tensorflow.apkg"

    def build_apkg():
        return CliRunner().invoke(main, ["build", "--format", "apkg", "--no-cache"])

    topic.write_text(BASIC.format(id="k"))
    assert build_apkg().exit_code == 0
    assert json.loads(stamps.read_text())["stamps"]["note:k"]["kind"] == "basic"
    shipped, shipped_stamps = apkg.read_bytes(), stamps.read_text()
    import_into(col, apkg)

    # Why: a stamps file that cannot tell (no kind) lets the cloze through, and real Anki keeps the old note.
    stamps.write_text(shipped_stamps.replace(', "kind": "basic"', ""))
    topic.write_text(CLOZE.format(id="k"))
    assert build_apkg().exit_code == 0
    log = import_into(col, apkg).log
    assert not log.updated and not log.new
    note = note_by_id(col, "k")
    assert note.note_type()["name"] == "tfcards basic" and "<p>float32</p>" in note["Back"]

    # The guard: one located line, exit 2, and the shipped package is left as it was.
    stamps.write_text(shipped_stamps)
    apkg.write_bytes(shipped)
    result = build_apkg()
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = [l for l in result.output.splitlines() if l.startswith("error:")]
    assert line.startswith("error: cards/t.yaml:3: card 'k': was shipped as a basic card and is now a cloze card"), line
    assert "give it a new id" in line
    assert apkg.read_bytes() == shipped and stamps.read_text() == shipped_stamps

    # The fix the message names: a new id arrives as a new cloze note.
    topic.write_text(CLOZE.format(id="k-cloze"))
    assert build_apkg().exit_code == 0
    assert import_into(col, apkg).log.new
    assert note_by_id(col, "k-cloze").note_type()["name"] == "tfcards cloze"
