"""True for which TensorFlow: `--python`, per-card ranges (`tensorflow`, `keras`, `requires`),
`tfcards matrix` on one machine and merged from per-release reports, and the stored "proven on"
result, on real interpreters: this venv (TensorFlow 2.21, Keras 3.15, LiteRT) and a second venv
with TensorFlow 2.15.1 (Keras 2, no LiteRT). Tests marked `matrix` also need the old-Keras venv
(TensorFlow 2.16.2 with Keras 3.0.0): `make test-matrix` runs them."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator.verify as verify_module
from generator.cache import Cache, card_key
from generator.cli import main
from generator.interpreter import probe
from generator.load import load_cards
from generator.matrix import matrix, table
from generator.render import status_line
from generator.runner import DEFAULT_MEMORY

from conftest import DATA

ROOT = Path(__file__).parent.parent
OLD_TF = "2.15.1"
OLD_KERAS = ("2.16.2", "3.0.0")  # the oldest Keras 3 TensorFlow 2.16 accepts
DECK = DATA / "versions" / "versions.yaml"
RANGES = DATA / "ranges" / "ranges.yaml"


def _venv(name: str) -> str:
    """A venv under build/, made once by the Makefile's own rule and reused by later runs."""
    subprocess.run(["make", "-s", f"build/{name}/.installed", f"PYTHON={sys.executable}"], cwd=ROOT, check=True)
    return str(ROOT / "build" / name / "bin" / "python")


@pytest.fixture(scope="session")
def old_python() -> str:
    return _venv(f"venv-tf{OLD_TF}")


@pytest.fixture(scope="session")
def old_keras_python() -> str:
    return _venv(f"venv-tf{OLD_KERAS[0]}-keras{OLD_KERAS[1]}")


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return Cache(tmp_path_factory.mktemp("versions-cache"))


@pytest.fixture(scope="session")
def result(old_python, cache):
    return matrix(load_cards([DECK]), [sys.executable, old_python], jobs=2, cache=cache)


def statuses(result):
    return {card.id: [v.status for v in verdicts] for card, verdicts in result.rows()}


def verdicts_of(path: Path, python: str, cache: Cache) -> dict:
    report = verify_module.verify(load_cards([path]), jobs=2, cache=cache, python=python)
    return {v.card_id: v for v in report.verdicts}


def without(path: Path, key: str, tmp_path: Path) -> Path:
    """A copy of the topic file PATH with every `KEY:` line removed."""
    copy = tmp_path / f"no-{key}" / path.name
    copy.parent.mkdir()
    copy.write_text("".join(l for l in path.read_text().splitlines(True) if not l.strip().startswith(f"{key}:")))
    return copy


def test_matrix_verdicts_per_version(result):
    new = probe().tensorflow
    assert result.versions == [OLD_TF, new]  # ordered by version, whatever the order of --python
    assert statuses(result) == {"both": ["passed", "passed"], "keras3-only": ["failed", "passed"],
                                "needs-216": ["skipped", "passed"]}
    skipped = dict(result.rows())[next(c for c in result.cards if c.id == "needs-216")][0]
    assert skipped.reason == f"holds for TensorFlow >=2.16; this is {OLD_TF}"
    assert result.failed, "keras3-only fails on a version its (absent) range says it holds for"


def test_matrix_table_shows_the_differing_cards_with_reasons(result):
    lines = table(result)
    assert re.split(r"\s{2,}", lines[0]) == ["card", OLD_TF, result.versions[1]]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"keras3-only", "needs-216"}
    assert "failed: output differs from 'output'" in rows["keras3-only"]
    assert f"skipped: holds for TensorFlow >=2.16; this is {OLD_TF}" in rows["needs-216"]


def test_matrix_cli_prints_summaries_and_writes_json(old_python, cache, tmp_path):
    args = ["matrix", str(DECK), "--python", sys.executable, "--python", old_python,
            "--cache-dir", str(cache.directory), "--report", str(tmp_path / "m.json"), "--by-topic"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 1, out.output
    new, keras = probe().tensorflow, probe().keras
    assert f"TensorFlow {new} (Keras {keras}): 3 passed, 0 failed" in out.output
    assert f"TensorFlow {OLD_TF} (Keras 2.15.0): 1 passed, 1 failed, 1 skipped" in out.output
    assert "2 cards whose verdict differs:" in out.output
    assert re.search(r"^Versions\s+1 of 3\s+3 of 3$", out.output, re.M), out.output
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["versions"] == [OLD_TF, new]
    cards = {c["id"]: c for c in data["cards"]}
    assert cards["needs-216"]["results"][OLD_TF] == {
        "status": "skipped", "reason": f"holds for TensorFlow >=2.16; this is {OLD_TF}"}
    assert cards["keras3-only"]["results"][new] == {"status": "passed", "reason": ""}
    assert (cards["keras3-only"]["passed"], cards["keras3-only"]["failed"]) == ([new], [OLD_TF])
    assert (cards["needs-216"]["passed"], cards["needs-216"]["skipped"]) == ([new], [OLD_TF])
    assert cards["keras3-only"]["line"] == 8 and cards["keras3-only"]["file"].endswith("versions.yaml")


def test_a_fully_cached_matrix_imports_no_tensorflow(result, old_python, cache, monkeypatch):
    matrix(load_cards([RANGES]), [sys.executable, old_python], jobs=2, cache=cache)  # fill the cache

    class NoRunner:
        def __init__(self, *a, **k):
            raise AssertionError("a fully cached matrix started a TensorFlow runner")

    monkeypatch.setattr(verify_module, "Runner", NoRunner)
    again = matrix(load_cards([DECK]), [sys.executable, old_python], cache=cache)
    assert statuses(again) == statuses(result)
    ranges = matrix(load_cards([RANGES]), [old_python, sys.executable], cache=cache)  # probes `requires`
    assert statuses(ranges) == {"needs-litert": ["skipped", "passed"], "keras-37": ["skipped", "passed"]}
    assert "tensorflow" not in sys.modules


# --- requires: [module] ------------------------------------------------------------------------

def test_requires_skips_with_a_reason_where_the_module_is_missing_and_runs_where_present(
        old_python, cache, tmp_path):
    assert verdicts_of(RANGES, sys.executable, cache)["needs-litert"].status == "passed"
    old = verdicts_of(RANGES, old_python, cache)["needs-litert"]
    assert (old.status, old.reason) == ("skipped", "requires ai_edge_litert, which this interpreter cannot import")
    # Without `requires` the same card fails there: the skip is the field's doing.
    bare = verdicts_of(without(RANGES, "requires", tmp_path), old_python, cache)["needs-litert"]
    assert bare.status == "failed" and "ModuleNotFoundError" in bare.reason


def test_requires_names_every_missing_module_in_the_cli(write_cards):
    root = write_cards({"r.yaml": """
        topic: R
        requires: [no_such_module_a]
        cards:
          - id: two
            requires: [no_such_module_a, json, no_such_module_b]
            front: q
            back: a
            code: import no_such_module_a
            output: ""
        """})
    out = CliRunner().invoke(main, ["verify", str(root), "--no-cache", "--report", str(root.parent / "r.json")])
    assert out.exit_code == 0, out.output
    (card,) = json.loads((root.parent / "r.json").read_text())["cards"]
    assert (card["status"], card["reason"]) == (
        "skipped", "requires no_such_module_a, no_such_module_b, which this interpreter cannot import")


def test_probe_finds_modules_without_importing_them():
    here = probe(modules=["ai_edge_litert", "no_such_module_a"])
    assert dict(here.modules).keys() == {"ai_edge_litert"} and dict(here.modules)["ai_edge_litert"]
    assert here.missing(("ai_edge_litert", "no_such_module_a")) == ["no_such_module_a"]
    assert "ai_edge_litert" not in sys.modules and "tensorflow" not in sys.modules


# --- keras: ">=3.7" ----------------------------------------------------------------------------

def test_keras_range_skips_on_keras2_and_runs_on_keras3(old_python, cache, tmp_path):
    assert probe().keras.startswith("3.") and verdicts_of(RANGES, sys.executable, cache)["keras-37"].status == "passed"
    old = verdicts_of(RANGES, old_python, cache)["keras-37"]
    assert (old.status, old.reason) == ("skipped", "holds for Keras >=3.7; this interpreter has Keras 2.15.0")
    bare = verdicts_of(without(RANGES, "keras", tmp_path), old_python, cache)["keras-37"]
    assert bare.status == "failed", "without its range the card would fail on Keras 2"


@pytest.mark.matrix
def test_keras_range_at_its_low_end_the_oldest_keras_3(old_keras_python, cache, tmp_path):
    assert probe(old_keras_python).keras == OLD_KERAS[1]
    old = verdicts_of(RANGES, old_keras_python, cache)["keras-37"]
    assert (old.status, old.reason) == ("skipped", f"holds for Keras >=3.7; this interpreter has Keras {OLD_KERAS[1]}")
    bare = verdicts_of(without(RANGES, "keras", tmp_path), old_keras_python, cache)["keras-37"]
    assert bare.status == "failed" and "mean_with_sample_weight" in bare.reason + bare.detail


def test_keras_and_required_modules_key_the_cache():
    here = probe(modules=["ai_edge_litert"])
    litert, keras37 = sorted(load_cards([RANGES]), key=lambda c: c.id != "needs-litert")
    assert card_key(keras37, DEFAULT_MEMORY, replace(here, keras="3.7.0")) != card_key(keras37, DEFAULT_MEMORY, here)
    newer = replace(here, modules=(("ai_edge_litert", "9.9.9"),))
    assert card_key(litert, DEFAULT_MEMORY, newer) != card_key(litert, DEFAULT_MEMORY, here)
    assert card_key(keras37, DEFAULT_MEMORY, newer) == card_key(keras37, DEFAULT_MEMORY, here)  # needs none


def test_a_card_with_a_keras_range_and_no_keras_is_skipped(write_cards):
    from generator.cards import Card

    card = Card("k", "T", "q", Path("t.yaml"), 1, keras=">=3.7")
    here = probe()
    assert card.out_of_range(replace(here, keras="not-installed")) == \
        "holds for Keras >=3.7; this interpreter has no Keras"
    assert card.out_of_range(replace(here, keras="3.7.0")) is None


def test_verify_with_python_names_that_version(old_python, cache, tmp_path):
    out = CliRunner().invoke(main, ["verify", str(DECK), "--python", old_python, "--cache-dir",
                                    str(cache.directory), "--report", str(tmp_path / "r.json")])
    assert f"(TensorFlow {OLD_TF}" in out.output.splitlines()[-1]
    assert json.loads((tmp_path / "r.json").read_text())["tensorflow"] == OLD_TF


def test_update_against_another_version_rewrites_to_what_it_printed(old_python, tmp_path):
    path = tmp_path / "v.yaml"
    shutil.copy(DECK, path)
    out = CliRunner().invoke(main, ["verify", str(path), "--python", old_python, "--update", "--no-cache"])
    assert out.exit_code == 0, out.output
    assert path.read_text() == DECK.read_text().replace('    output: "3"\n', '    output: "2"\n')


@pytest.mark.parametrize("make, words", [
    (lambda tmp: "no-such-python", "--python 'no-such-python': no such interpreter"),
    (lambda tmp: "/bin/true", "--python '/bin/true': not a Python interpreter"),
    (lambda tmp: _bare_venv(tmp), "has no TensorFlow (Python 3."),
])
def test_bad_python_is_one_line_and_exit_2(tmp_path, make, words):
    out = CliRunner().invoke(main, ["verify", str(DECK), "--python", make(tmp_path), "--no-cache"])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert [l for l in out.output.splitlines() if l.strip()] == [l for l in out.output.splitlines() if words in l]


def _bare_venv(tmp: Path) -> str:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "bare")], check=True)
    return str(tmp / "bare" / "bin" / "python")


def test_rendered_cards_show_the_range_beside_the_version():
    card = next(c for c in load_cards([DECK]) if c.id == "needs-216")
    assert status_line(card, None, "2.21.0") == "verified with TensorFlow 2.21.0 · holds for TensorFlow >=2.16"
    assert status_line(card, None, "2.15.1") == "holds for TensorFlow >=2.16; not verified on 2.15.1"
    assert status_line(replace(card, code=None, output=None), None, "2.21.0") == "holds for TensorFlow >=2.16"


def test_names_of_a_card_outside_its_range_are_not_looked_up_here(write_cards):
    from generator.verify import verify

    root = write_cards({"c.yaml": "topic: T\ntensorflow: '<2'\ncards:\n  - id: c\n    front: q\n"
                                  "    back: '`tf.Session` runs a graph.'\n"})
    (verdict,) = verify(load_cards([root]), strict=True).verdicts
    assert verdict.status == "skipped" and verdict.findings == ()


def test_a_concept_card_outside_its_range_is_skipped_too(write_cards):
    from generator.verify import verify

    root = write_cards({"c.yaml": "topic: T\ntensorflow: '<2'\ncards:\n  - id: c\n    front: q\n    back: a\n"})
    (verdict,) = verify(load_cards([root])).verdicts
    assert verdict.status == "skipped" and verdict.reason.startswith("holds for TensorFlow <2; this is ")


def test_serve_runs_the_cards_under_another_python(old_python, tmp_path):
    """`tfcards serve --python`: the live page verifies with that interpreter's TensorFlow."""
    import signal
    import time
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "serve", str(DECK), "--port", "0",
                             "--python", old_python, "--cache-dir", str(tmp_path / "cache")],
                            cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        url = re.search(r"http://\S+/", line).group(0)
        deadline = time.monotonic() + 120
        while True:  # the rows fill in as the 2.15 fork server runs the cards
            page = urllib.request.urlopen(url, timeout=10).read().decode()
            if 'data-id="keras3-only" data-status="failed"' in page or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert f"TensorFlow {OLD_TF}" in page
        assert 'data-id="keras3-only" data-status="failed"' in page, "keras3-only prints 2 on Keras 2"
        assert 'data-id="both" data-status="passed"' in page
        assert f"holds for TensorFlow &gt;=2.16; this is {OLD_TF}" in page
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def test_serve_with_a_bad_python_is_one_line_and_exit_2():
    out = CliRunner().invoke(main, ["serve", str(DECK), "--port", "0", "--python", "no-such-python"])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert [l for l in out.output.splitlines() if l.strip()] == ["error: --python 'no-such-python': no such interpreter"]


def test_matrix_prints_and_reports_each_differing_cards_diff(old_python, cache, tmp_path):
    """The table's one-line reason ("output differs from 'output'") did not say how."""
    out = CliRunner().invoke(main, ["matrix", str(DECK), "--python", sys.executable, "--python", old_python,
                                    "--cache-dir", str(cache.directory), "--report", str(tmp_path / "m.json")])
    assert out.exit_code == 1, out.output
    lines = out.output.splitlines()
    at = lines.index("why, where a card fails:")
    assert re.fullmatch(rf"keras3-only on TensorFlow {OLD_TF} \(.*versions\.yaml:8\): output differs from 'output'",
                        lines[at + 1])
    assert "    -3" in lines[at + 2:] and "    +2" in lines[at + 2:]
    assert not any(line.startswith(("both ", "needs-216 ")) for line in lines[at + 1:])
    result = json.loads((tmp_path / "m.json").read_text())
    keras = next(c for c in result["cards"] if c["id"] == "keras3-only")["results"][OLD_TF]
    assert "-3" in keras["detail"].splitlines() and "+2" in keras["detail"].splitlines()


# --- the stored result and the "proven on" line ------------------------------------------------

def test_rendered_status_line_names_both_ranges():
    card = next(c for c in load_cards([RANGES]) if c.id == "keras-37")
    assert status_line(card, None, "2.21.0") == "verified with TensorFlow 2.21.0 · holds for Keras >=3.7"
    both = replace(card, tensorflow=">=2.16")
    assert status_line(both, None, "2.21.0") == \
        "verified with TensorFlow 2.21.0 · holds for TensorFlow >=2.16 with Keras >=3.7"


def test_the_stored_matrix_gives_the_proven_on_line(old_python, cache, tmp_path):
    from generator import anki, render

    deck = tmp_path / "cards"
    shutil.copytree(DECK.parent, deck)
    out = CliRunner().invoke(main, ["matrix", str(deck), "--python", sys.executable, "--python", old_python,
                                    "--cache-dir", str(cache.directory), "--store", str(deck / "proven.json")])
    assert out.exit_code == 1, out.output  # keras3-only fails on 2.15.1: it is proven on 2.21 only
    stored = json.loads((deck / "proven.json").read_text())
    new = probe().tensorflow
    assert stored["releases"] == [OLD_TF, new]
    assert stored["cards"]["both"]["passed"] == [OLD_TF, new]
    cards = {c.id: c for c in load_cards([deck])}
    minor = ".".join(new.split(".")[:2])
    assert status_line(cards["both"], None, new) == f"proven on TensorFlow 2.15, {minor}"
    assert status_line(cards["keras3-only"], None, new) == f"proven on TensorFlow {minor}"
    assert status_line(cards["needs-216"], None, new) == f"proven on TensorFlow {minor} · holds for TensorFlow >=2.16"
    # The stored result speaks for the card whatever TensorFlow renders it, in its range or not.
    assert status_line(cards["needs-216"], None, OLD_TF) == status_line(cards["needs-216"], None, new)
    fields, _ = anki.render_fields(cards["both"], render.environment(), new)  # the Anki note's fields
    assert any(f"proven on TensorFlow 2.15, {minor}" in field for field in fields)
    # A card edited since the matrix ran is not proven by it: the line falls back to this build.
    edited = replace(cards["both"], output="tf.Tensor(4, shape=(), dtype=int32)\n")
    assert status_line(edited, None, new) == f"verified with TensorFlow {new}"


def test_store_records_the_whole_deck_only(tmp_path):
    out = CliRunner().invoke(main, ["matrix", str(DECK), "--python", sys.executable, "--topic", "Versions",
                                    "--store", str(tmp_path / "proven.json")])
    assert out.exit_code == 2 and "--store records the whole deck" in out.output
    assert not (tmp_path / "proven.json").exists()


# --- matrix --merge: the matrix from reports made on other machines ---------------------------

@pytest.fixture(scope="session")
def reports(old_python, cache, tmp_path_factory):
    """One `verify --report` per release, as CI jobs on separate machines make them."""
    folder = tmp_path_factory.mktemp("reports")
    paths = []
    for name, python in (("new", sys.executable), ("old", old_python)):
        path = folder / f"{name}.json"
        out = CliRunner().invoke(main, ["verify", str(DECK), str(RANGES), "--python", python,
                                        "--cache-dir", str(cache.directory), "--report", str(path)])
        assert out.exit_code in (0, 1) and path.exists(), out.output
        paths.append(path)
    return paths


def test_a_verify_report_carries_what_a_merge_needs(reports):
    data = json.loads(reports[1].read_text())
    assert (data["format"], data["tensorflow"], data["keras"]) == (2, OLD_TF, "2.15.0")
    assert re.fullmatch(r"[0-9a-f]{16}", data["source"])
    assert data["source"] == json.loads(reports[0].read_text())["source"]
    assert {c["id"]: c["status"] for c in data["cards"]} == {
        "both": "passed", "keras3-only": "failed", "needs-216": "skipped", "needs-litert": "skipped",
        "keras-37": "skipped"}
    assert all(re.fullmatch(r"[0-9a-f]{16}", c["digest"]) for c in data["cards"])


def test_merge_of_per_release_reports_equals_the_one_machine_matrix(reports, old_python, cache, tmp_path):
    common = ["--by-topic", "--report"]
    one = CliRunner().invoke(main, ["matrix", str(DECK), str(RANGES), "--python", sys.executable,
                                    "--python", old_python, "--cache-dir", str(cache.directory),
                                    *common, str(tmp_path / "one.json"), "--store", str(tmp_path / "one-proven.json")])
    merged = CliRunner().invoke(main, ["matrix", "--merge", str(reports[1]), str(reports[0]),
                                       *common, str(tmp_path / "merged.json"),
                                       "--store", str(tmp_path / "merged-proven.json")])
    assert (one.exit_code, merged.exit_code) == (1, 1), merged.output  # keras3-only fails on 2.15.1
    assert merged.output == one.output
    assert re.search(r"^Ranges\s+0 of 2\s+2 of 2$", merged.output, re.M), merged.output
    assert (tmp_path / "merged.json").read_text() == (tmp_path / "one.json").read_text()
    assert (tmp_path / "merged-proven.json").read_text() == (tmp_path / "one-proven.json").read_text()


def test_merge_matches_cards_by_id_whatever_order_a_report_lists_them(reports, old_python, cache, tmp_path):
    from generator.matrix import merge

    reordered = tmp_path / "old-reordered.json"
    out = CliRunner().invoke(main, ["verify", str(RANGES), str(DECK), "--python", old_python,
                                    "--cache-dir", str(cache.directory), "--report", str(reordered)])
    assert reordered.exists(), out.output
    assert [c["id"] for c in json.loads(reordered.read_text())["cards"]][0] == "needs-litert"
    assert statuses(merge([reports[0], reordered])) == statuses(merge(reports)) == {
        "both": ["passed", "passed"], "keras3-only": ["failed", "passed"], "needs-216": ["skipped", "passed"],
        "needs-litert": ["skipped", "passed"], "keras-37": ["skipped", "passed"]}


def test_merge_of_reports_that_disagree_is_one_line_and_exit_2(reports, tmp_path):
    data = json.loads(reports[1].read_text())
    data["cards"][0]["status"] = "failed"  # as a flaky run on another machine would report it
    rerun = tmp_path / "old-rerun.json"
    rerun.write_text(json.dumps(data))
    out = CliRunner().invoke(main, ["matrix", "--merge", str(reports[0]), str(reports[1]), str(rerun)])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert out.output.splitlines() == [
        f"error: {reports[1]} and {rerun} disagree on card 'both' for TensorFlow {OLD_TF} (Keras 2.15.0): "
        "passed vs failed"]
    # The same report twice agrees with itself: one column, as if it were given once.
    twice = CliRunner().invoke(main, ["matrix", "--merge", str(reports[0]), str(reports[1]), str(reports[1])])
    once = CliRunner().invoke(main, ["matrix", "--merge", str(reports[0]), str(reports[1])])
    assert twice.exit_code == once.exit_code == 1 and twice.output == once.output


def test_merge_of_reports_from_different_card_sources_is_one_line_and_exit_2(reports, cache, tmp_path):
    edited = tmp_path / "cards" / DECK.name
    edited.parent.mkdir()
    edited.write_text(DECK.read_text().replace("print(tf.constant(4))", "print(tf.constant(5))")
                      .replace("tf.Tensor(4,", "tf.Tensor(5,"))
    other = tmp_path / "other.json"
    CliRunner().invoke(main, ["verify", str(edited), str(RANGES), "--cache-dir", str(cache.directory),
                              "--report", str(other)])
    out = CliRunner().invoke(main, ["matrix", "--merge", str(reports[1]), str(other)])
    assert out.exit_code == 2
    assert out.output.splitlines() == [
        f"error: {other} and {reports[1]} come from different card sources (card 'both' differs)"]


@pytest.mark.parametrize("args, words", [
    (["matrix", "--merge"], "--merge takes report files only"),
    (["matrix", "--merge", "--python", sys.executable, "x.json"], "--merge takes report files only"),
])
def test_merge_usage_errors(args, words):
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 2 and words in out.output


def test_merge_of_something_else_than_a_report_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps({"tensorflow": "2.21.0", "cards": []}))
    (tmp_path / "junk.json").write_text("not json")
    for name, words in (("old.json", "not a tfcards verify report of format 2"), ("junk.json", "not a readable JSON report")):
        out = CliRunner().invoke(main, ["matrix", "--merge", str(tmp_path / name)])
        assert out.exit_code == 2 and len(out.output.splitlines()) == 1 and words in out.output, out.output
