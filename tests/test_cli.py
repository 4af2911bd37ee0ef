"""The command line as a user meets it: exit codes, one-line errors, reports, help and docs."""
from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from generator.cli import main

ROOT = Path(__file__).parent.parent
DECK = """
topic: Tensors
cards:
  - id: true-claim
    front: What does it print?
    back: a
    tags: [eager]
    code: print(tf.constant(4))
    output: tf.Tensor(4, shape=(), dtype=int32)
  - id: false-claim
    front: What does it print, really?
    back: a
    code: print(tf.constant(4))
    output: tf.Tensor(4, size=(), dtype=int32)
  - id: skipped-claim
    front: What would it print?
    back: a
    code: print(1)
    output: "1"
    skip: needs a GPU
  - id: concept
    front: q
    back: a
"""


@pytest.fixture
def project(tmp_path, monkeypatch, write_cards):
    monkeypatch.chdir(tmp_path)
    write_cards({"tensors.yaml": DECK})
    (tmp_path / "empty").mkdir()
    return tmp_path


def run(*args):
    return CliRunner().invoke(main, list(args))


def test_verify_reports_failures_summary_and_json(project):
    result = run("verify", "--report", "report.json")
    assert result.exit_code == 1
    assert "FAILED cards/tensors.yaml:9: card 'false-claim': output differs from 'output'" in result.output
    assert "+tf.Tensor(4, shape=(), dtype=int32)" in result.output
    assert re.search(r"1 passed, 1 failed, 1 skipped, 1 without code in [\d.]+ s \(TensorFlow 2\.\d+", result.output)
    report = json.loads((project / "report.json").read_text())
    assert report["tensorflow"].startswith("2.")
    rows = {c["id"]: c for c in report["cards"]}
    assert re.fullmatch(r"[0-9a-f]{16}", rows["false-claim"].pop("digest"))  # what `matrix --merge` checks
    assert "+tf.Tensor(4, shape=(), dtype=int32)" in rows["false-claim"].pop("detail")  # the diff travels too
    assert 0 < rows["false-claim"].pop("seconds") < 60  # how long its process ran: slow cards can be found
    assert "seconds" not in rows["skipped-claim"] and "seconds" not in rows["concept"]  # nothing ran
    assert rows["false-claim"] == {"id": "false-claim", "topic": "Tensors", "file": "cards/tensors.yaml",
                                   "line": 9, "status": "failed", "reason": "output differs from 'output'",
                                   "findings": []}
    assert rows["skipped-claim"]["status"] == "skipped" and rows["skipped-claim"]["reason"] == "needs a GPU"
    assert rows["concept"]["status"] == "no-code" and rows["concept"]["reason"]
    assert rows["true-claim"]["status"] == "passed"
    assert "\r" not in result.output, "no progress bar outside a terminal"

    cached = run("verify", "--tag", "eager")
    assert cached.exit_code == 0 and "1 passed, 0 failed" in cached.output and "1 cached" in cached.output


def test_bad_input_exits_2_with_one_line_and_no_traceback(project):
    (project / "cards" / "tensors.yaml").write_text(DECK.replace("output: tf.Tensor(4, size", "ouput: tf.Tensor(4, size"))
    for command in ("verify", "build", "list"):
        result = run(command)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        lines = [l for l in result.output.splitlines() if l.strip()]
        assert lines == [  # the root cause first, then what follows from it
            "error: cards/tensors.yaml:14: card 'false-claim': unknown key 'ouput' (did you mean 'output'?)",
            "error: cards/tensors.yaml:13: card 'false-claim': a card with 'code' needs 'output' or 'raises' (or both)"]


@pytest.mark.parametrize("args, words", [
    (["verify", "nope/"], "error: nope: no such file or directory"),
    (["verify", "empty"], "error: empty: no topic files (*.yaml, *.yml) found"),
    (["list", "--topic", "graphs"], "no card has topic 'graphs'; topics: Tensors"),
    (["verify", "--tag", "nope"], "no card has tag 'nope'; tags: eager"),
    (["verify", "--report", "cards/tensors.yaml"], "looks like a topic file; --report writes a report there"),
    (["verify", "--junit", "cards/tensors.yaml"], "looks like a topic file; --junit writes a report there"),
])
def test_other_bad_input_exits_2(project, args, words):
    result = run(*args)
    assert result.exit_code == 2 and words in result.output and "Traceback" not in result.output


def test_a_topic_and_a_tag_no_card_has_together_are_named_both(project):
    """`--topic tensors --tag xla` used to say "no card has tag 'xla'" while cards of another topic do."""
    (project / "cards" / "xla.yaml").write_text("topic: XLA\ncards:\n  - id: jit\n    front: q\n    back: a\n"
                                                "    tags: [xla]\n")
    assert run("list", "--tag", "xla").exit_code == 0
    result = run("verify", "--topic", "tensors", "--tag", "xla")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output == "error: no card has both topic 'tensors' and tag 'xla'; tags of that topic: eager\n"


def test_list_shows_topics_with_counts(project):
    result = run("list")
    assert result.exit_code == 0
    assert re.search(r"Tensors\s+4 cards\s+3 with code\s+cards/tensors.yaml", result.output)
    assert result.output.splitlines()[-1] == "4 cards in 1 topic"


def test_counts_of_one_are_singular(project):
    result = run("list", "--tag", "eager")
    assert result.exit_code == 0
    assert re.search(r"Tensors\s+1 card \s+1 with code\s+cards/tensors.yaml", result.output)
    assert result.output.splitlines()[-1] == "1 card in 1 topic"


def test_list_tags_shows_each_tag_with_its_cards_and_topics(project):
    (project / "cards" / "xla.yaml").write_text("topic: XLA\ncards:\n  - id: jit\n    front: q\n    back: a\n"
                                                "    tags: [xla, eager]\n")
    result = run("list", "--tags")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["eager     2 cards  Tensors, XLA",
                                          "xla       1 card   XLA",
                                          "2 tags on 2 cards; 3 cards without a tag"]
    assert run("list", "--tags", "--topic", "xla").output.splitlines()[-1] == "2 tags on 1 card"


def test_build_refuses_when_a_card_fails_and_writes_nothing(project):
    result = run("build", "--format", "all")
    assert result.exit_code == 1
    assert "false-claim" in result.output and "nothing was built" in result.output
    assert not list((project / "build").glob("*.apkg")) and not list((project / "build").glob("*.pdf"))


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_command_and_option_has_help_and_is_documented(name):
    command = main.commands[name]
    readme = (ROOT / "README.md").read_text()
    assert command.help, name
    assert f"tfcards {name}" in readme
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{name} {param.opts}"
            assert any(opt in readme for opt in param.opts if opt.startswith("--")) or param.name in (
                "cache_dir", "help"), f"{name} {param.opts} missing from README"


def test_junit_report_has_a_case_per_card_with_the_diff(project):
    from xml.etree import ElementTree as ET

    result = run("verify", "--junit", "junit.xml")
    assert result.exit_code == 1
    root = ET.parse(project / "junit.xml").getroot()
    assert root.tag == "testsuites" and root.get("tests") == "4" and root.get("failures") == "1"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) == {"true-claim", "false-claim", "skipped-claim", "concept"}
    failure = cases["false-claim"].find("failure")
    assert failure.get("message") == "output differs from 'output'"
    assert "+tf.Tensor(4, shape=(), dtype=int32)" in failure.text
    assert cases["false-claim"].get("file") == "cards/tensors.yaml" and cases["false-claim"].get("line") == "9"
    assert cases["skipped-claim"].find("skipped").get("message") == "needs a GPU"
    assert cases["true-claim"].find("failure") is None and cases["true-claim"].find("skipped") is None


def test_a_version_range_outside_this_tensorflow_skips_the_card(project):
    (project / "cards" / "old.yaml").write_text(
        "topic: Old\ntensorflow: '<2.0'\ncards:\n  - id: tf1-only\n    front: q\n    back: a\n"
        "    code: print(tf.Session)\n    output: x\n")
    result = run("verify", "--topic", "old", "--report", "r.json")
    assert result.exit_code == 0, result.output
    row = json.loads((project / "r.json").read_text())["cards"][0]
    assert row["status"] == "skipped"
    assert re.fullmatch(r"holds for TensorFlow <2\.0; this is 2\.\d+\.\d+", row["reason"])


def test_a_timed_out_card_reports_what_it_printed_before_the_timeout(project):
    """Block-buffered into a pipe, the card's prints died with it: the report showed none."""
    (project / "cards" / "slow.yaml").write_text(
        "topic: Slow\ncards:\n  - id: slow\n    front: q\n    back: a\n    timeout: 1\n    code: |\n"
        "      print('loaded the data')\n      import time\n      time.sleep(120)\n    output: x\n")
    result = run("verify", "--topic", "slow", "--no-cache", "--junit", "j.xml")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    at = lines.index("FAILED cards/slow.yaml:3: card 'slow': timed out after 1 s (give the card a larger `timeout:`)")
    assert lines[at + 1:at + 3] == ["    printed before the timeout:", "    loaded the data"]
    assert "loaded the data" in (project / "j.xml").read_text()


def test_ctrl_c_leaves_no_card_directories_behind(project, tmp_path):
    """SIGINT to the whole foreground process group, as a terminal sends it."""
    import os
    import signal
    import subprocess
    import sys
    import time

    (project / "cards" / "hang.yaml").write_text(
        "topic: Hang\ncards:\n  - id: hangs\n    front: q\n    back: a\n    code: |\n"
        "      import time\n      open('here', 'w').close()\n      time.sleep(120)\n    output: x\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "generator.cli", "verify", "--no-cache", "--topic", "hang"],
                            cwd=project, env=dict(os.environ, TMPDIR=str(tmp), PYTHONPATH=str(ROOT)),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(tmp.glob("tfcards-run-*/tfcards-card-*/here")):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()[0]
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(timeout=60)
    assert proc.returncode != 0
    assert list(tmp.iterdir()) == [], "the run left its directories behind"


def test_templates_dir_with_one_file_overrides_that_file_alone(project, tmp_path):
    """`--templates DIR` missing a file used to end in a 40-line TemplateNotFound traceback."""
    from anki.collection import Collection, ImportAnkiPackageRequest

    front = ROOT / "templates" / "anki" / "front.html"
    mine = tmp_path / "mine" / "anki" / "front.html"
    mine.parent.mkdir(parents=True)
    mine.write_text(front.read_text().replace('<div class="tfcards q">', '<div class="tfcards q mine">'))
    result = run("build", "--tag", "eager", "--format", "all", "--templates", str(tmp_path / "mine"))
    assert result.exit_code == 0, result.output
    assert "wrote build/tensorflow--tag-eager-duplex-a4-3x5-flip-long.pdf" in result.output
    (tmp_path / "user").mkdir()
    col = Collection(str(tmp_path / "user" / "collection.anki2"))
    try:
        col.import_anki_package(ImportAnkiPackageRequest(package_path=str(project / "build" / "tensorflow--tag-eager.apkg"),
                                                         options=col._backend.get_import_anki_package_presets()))
        [note] = [col.get_note(n) for n in col.find_notes("")]
        assert 'class="tfcards q mine"' in note["Front"] and 'class="tfcards a"' in note["Back"]
    finally:
        col.close()


def test_stamps_option_keeps_the_committed_stamps_file_untouched(project):
    committed = project / "cards" / "anki-stamps.json"
    mine = project / "mine" / "stamps.json"
    result = run("build", "--tag", "eager", "--stamps", str(mine))
    assert result.exit_code == 0, result.output
    assert not committed.exists() and '"note:true-claim"' in mine.read_text()
    assert run("build", "--tag", "eager").exit_code == 0  # without it, the one beside the cards
    assert json.loads(committed.read_text())["stamps"].keys() == json.loads(mine.read_text())["stamps"].keys()
    assert run("build", "--stamps", "cards/x.yaml").exit_code == 2  # never over a topic file


def test_pdf_file_name_says_layout_paper_and_card_size(project):
    a4 = run("build", "--tag", "eager", "--format", "pdf")
    letter = run("build", "--tag", "eager", "--format", "pdf", "--paper", "letter", "--card-size", "business")
    assert a4.exit_code == 0 and letter.exit_code == 0, a4.output + letter.output
    assert "wrote build/tensorflow--tag-eager-duplex-a4-3x5-flip-long.pdf" in a4.output
    assert "wrote build/tensorflow--tag-eager-duplex-letter-business-flip-long.pdf" in letter.output
    assert "[default: 3x5]" in run("build", "--help").output


def test_progress_bar_names_the_card_running_now_on_a_terminal(monkeypatch, write_cards):
    """A card that hangs must be the one the bar names, from the moment it starts."""
    import io
    import sys

    from generator.cli import _progress
    from generator.load import load_cards

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    monkeypatch.delenv("CI", raising=False)
    one, two = load_cards([write_cards({"t.yaml": DECK})])[:2]
    with _progress([one, two], "Verifying") as callbacks:
        callbacks["on_start"](one)
        assert terminal.getvalue().rstrip().endswith("0/2  true-claim")
        callbacks["on_start"](two)
        callbacks["progress"](one, None)
        assert terminal.getvalue().rstrip().endswith("1/2  false-claim")
        callbacks["progress"](two, None)
    assert "2/2" in terminal.getvalue() and "3/2" not in terminal.getvalue()


def test_progress_bar_estimates_the_time_left_only_from_cards_that_ran(monkeypatch, write_cards):
    """The first card waits for TensorFlow's import and cached ones take no time: an estimate from
    either is wrong by minutes, so it starts once two cards have run."""
    import io
    import sys
    from dataclasses import replace

    from generator.cards import Verdict
    from generator.cli import _progress
    from generator.load import load_cards

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stderr", Terminal())
    monkeypatch.delenv("CI", raising=False)
    now = [0.0]
    cards = load_cards([write_cards({"t.yaml": DECK})])  # 4 cards
    with _progress(cards, "Verifying", clock=lambda: now[0]) as callbacks:
        shown = lambda: sys.stderr.getvalue().rsplit("\r", 1)[-1]
        callbacks["progress"](cards[0], replace(Verdict("x", "passed"), cached=True))
        now[0] = 100.0  # TensorFlow imported
        callbacks["progress"](cards[1], Verdict("x", "passed"))
        assert "left" not in shown()
        now[0] = 130.0
        callbacks["on_start"](cards[3])
        callbacks["progress"](cards[2], Verdict("x", "passed"))
        assert shown().rstrip().endswith("3/4  concept (~0:30 left)")
