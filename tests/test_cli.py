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


def test_list_shows_topics_with_counts(project):
    result = run("list")
    assert result.exit_code == 0
    assert re.search(r"Tensors\s+4 cards\s+3 with code\s+cards/tensors.yaml", result.output)
    assert result.output.splitlines()[-1] == "4 cards in 1 topics"


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
