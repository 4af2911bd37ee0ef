"""True for which TensorFlow: `--python`, per-card ranges and `tfcards matrix`, on real
interpreters (this venv's TensorFlow and a second venv with TensorFlow 2.15.1, Keras 2)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator.verify as verify_module
from generator.cache import Cache
from generator.cli import main
from generator.interpreter import probe
from generator.load import load_cards
from generator.matrix import matrix, table

from conftest import DATA

ROOT = Path(__file__).parent.parent
OLD_TF = "2.15.1"
DECK = DATA / "versions" / "versions.yaml"


@pytest.fixture(scope="session")
def old_python() -> str:
    """A venv with TensorFlow 2.15.1 under build/, made once by the Makefile's own rule and
    reused by later runs (pip's cache makes a rebuild quick)."""
    subprocess.run(["make", "-s", f"build/venv-tf{OLD_TF}/.installed", f"PYTHON={sys.executable}"],
                   cwd=ROOT, check=True)
    return str(ROOT / "build" / f"venv-tf{OLD_TF}" / "bin" / "python")


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return Cache(tmp_path_factory.mktemp("versions-cache"))


@pytest.fixture(scope="session")
def result(old_python, cache):
    return matrix(load_cards([DECK]), [sys.executable, old_python], jobs=2, cache=cache)


def statuses(result):
    return {card.id: [v.status for v in verdicts] for card, verdicts in result.rows()}


def test_matrix_verdicts_per_version(result):
    new = probe().tensorflow
    assert result.versions == [new, OLD_TF]
    assert statuses(result) == {"both": ["passed", "passed"], "keras3-only": ["passed", "failed"],
                                "needs-216": ["passed", "skipped"]}
    skipped = dict(result.rows())[next(c for c in result.cards if c.id == "needs-216")][1]
    assert skipped.reason == f"holds for TensorFlow >=2.16; this is {OLD_TF}"
    assert result.failed, "keras3-only fails on a version its (absent) range says it holds for"


def test_matrix_table_shows_the_differing_cards_with_reasons(result):
    lines = table(result)
    assert re.split(r"\s{2,}", lines[0]) == ["card", f"TensorFlow {result.versions[0]}", f"TensorFlow {OLD_TF}"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {"keras3-only", "needs-216"}
    assert "failed: output differs from 'output'" in rows["keras3-only"]
    assert f"skipped: holds for TensorFlow >=2.16; this is {OLD_TF}" in rows["needs-216"]


def test_matrix_cli_prints_summaries_and_writes_json(old_python, cache, tmp_path):
    args = ["matrix", str(DECK), "--python", sys.executable, "--python", old_python,
            "--cache-dir", str(cache.directory), "--report", str(tmp_path / "m.json"), "--by-topic"]
    out = CliRunner().invoke(main, args)
    assert out.exit_code == 1, out.output
    new = probe().tensorflow
    assert f"TensorFlow {new}: 3 passed, 0 failed" in out.output
    assert f"TensorFlow {OLD_TF}: 1 passed, 1 failed, 1 skipped" in out.output
    assert "2 cards whose verdict differs:" in out.output
    assert re.search(r"^Versions\s+3 of 3\s+1 of 3$", out.output, re.M), out.output
    data = json.loads((tmp_path / "m.json").read_text())
    assert data["versions"] == [new, OLD_TF]
    cards = {c["id"]: c for c in data["cards"]}
    assert cards["needs-216"]["results"][OLD_TF] == {
        "status": "skipped", "reason": f"holds for TensorFlow >=2.16; this is {OLD_TF}"}
    assert cards["keras3-only"]["results"][new] == {"status": "passed", "reason": ""}
    assert cards["keras3-only"]["line"] == 8 and cards["keras3-only"]["file"].endswith("versions.yaml")


def test_a_fully_cached_matrix_imports_no_tensorflow(result, old_python, cache, monkeypatch):
    class NoRunner:
        def __init__(self, *a, **k):
            raise AssertionError("a fully cached matrix started a TensorFlow runner")

    monkeypatch.setattr(verify_module, "Runner", NoRunner)
    again = matrix(load_cards([DECK]), [sys.executable, old_python], cache=cache)
    assert statuses(again) == statuses(result)
    assert "tensorflow" not in sys.modules


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
    from dataclasses import replace

    from generator.render import status_line

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
