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
    front: q
    back: a
    tags: [eager]
    code: print(tf.constant(4))
    output: tf.Tensor(4, shape=(), dtype=int32)
  - id: false-claim
    front: q
    back: a
    code: print(tf.constant(4))
    output: tf.Tensor(4, size=(), dtype=int32)
  - id: skipped-claim
    front: q
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
                                   "line": 9, "status": "failed", "reason": "output differs from 'output'"}
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
        assert lines == [
            "error: cards/tensors.yaml:13: card 'false-claim': a card with 'code' needs 'output' or 'raises' (or both)",
            "error: cards/tensors.yaml:14: card 'false-claim': unknown key 'ouput' (did you mean 'output'?)"]


@pytest.mark.parametrize("args, words", [
    (["verify", "nope/"], "error: nope: no such file or directory"),
    (["verify", "empty"], "error: empty: no topic files (*.yaml, *.yml) found"),
    (["list", "--topic", "graphs"], "no card has topic 'graphs'; topics: Tensors"),
    (["verify", "--tag", "nope"], "no card has tag 'nope'; tags: eager"),
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
