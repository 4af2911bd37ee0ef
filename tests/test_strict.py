"""The strict checks on real TensorFlow: each rule fires on its bad card alone, `allow` silences
it, an unused `allow` is reported, and a cached run finds the same without TensorFlow."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import generator.verify as verify_module
from generator import checks
from generator.cache import Cache
from generator.cli import main
from generator.errors import CardErrors
from generator.load import load_cards
from generator.verify import verify

from conftest import DATA

RULES = DATA / "strict" / "rules.yaml"

# card id -> the rules that must fire on it (every other card in the file must be clean)
EXPECTED = {
    "api-bad": {"api"},
    "deprecated-bad": {"deprecated"},
    "deprecated-warning": {"deprecated"},
    "grounded-bad": {"grounded"},
    "atomic-long": {"atomic"},
    "atomic-two-questions": {"atomic"},
    "atomic-list": {"atomic"},
    "duplicate-bad": {"duplicate"},
    "spoiler-cloze-bad": {"spoiler"},
    "spoiler-reverse-bad": {"spoiler"},
    "allow-unused": {"allow"},
}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return Cache(tmp_path_factory.mktemp("strict-cache"))


@pytest.fixture(scope="module")
def cards():
    return load_cards([RULES])


@pytest.fixture(scope="module")
def report(cards, cache):
    return verify(cards, jobs=2, cache=cache, strict=True)


def findings(report):
    return {v.card_id: v.findings for v in report.verdicts}


def test_rules_are_the_documented_six():
    assert checks.RULE_NAMES == ("api", "deprecated", "grounded", "atomic", "duplicate", "spoiler")
    doc = (Path(__file__).parent.parent / "docs" / "card-format.md").read_text()
    for rule in checks.RULES:
        assert f"| `{rule.__name__}` | {checks.summary(rule)} |" in doc, rule.__name__


@pytest.mark.parametrize("card_id", sorted({c.id for c in load_cards([RULES])}))
def test_each_rule_fires_on_its_bad_card_alone(report, card_id):
    fired = {f.rule for f in findings(report)[card_id]}
    assert fired == EXPECTED.get(card_id, set()), findings(report)[card_id]


def test_strict_fails_the_card_with_the_rule_in_brackets(report):
    verdicts = {v.card_id: v for v in report.verdicts}
    for card_id, rules in EXPECTED.items():
        assert verdicts[card_id].status == "failed", card_id
        assert verdicts[card_id].reason.startswith(f"[{sorted(rules)[0]}] "), verdicts[card_id].reason
    assert verdicts["grounded-good"].status == "passed"
    assert verdicts["api-allowed"].status == "no-code"


@pytest.mark.parametrize("card_id, words", [
    ("api-bad", "`tf.lite.Optimize.DEFALT` does not exist in TensorFlow 2."),
    ("api-bad", "did you mean `tf.lite.Optimize.DEFAULT`?"),
    ("deprecated-bad", "disable_resource_variables (from tensorflow.python.ops.resource_variables_toggle) "
                       "is deprecated"),
    ("deprecated-warning", "UserWarning: this API is going away"),
    ("grounded-bad", "the answer says `float64`"),
    ("atomic-long", "words (at most 40)"),
    ("atomic-two-questions", "asks 2 questions"),
    ("atomic-list", "a list of 3 items"),
    ("duplicate-bad", "same question as card 'duplicate-first' (tests/data/strict/rules.yaml:"),
    ("spoiler-cloze-bad", "deletion c1 `int32`"),
    ("spoiler-reverse-bad", "asks for `tf.shape(t)`"),
    ("allow-unused", "'allow: atomic' silences nothing"),
])
def test_findings_say_what_is_wrong(report, card_id, words, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)
    assert any(words in f.message for f in findings(report)[card_id]), findings(report)[card_id]


def test_cached_strict_run_finds_the_same_without_tensorflow(cards, cache, report, monkeypatch):
    class NoRunner:
        def __init__(self, *a, **k):
            raise AssertionError("a fully cached strict run started the TensorFlow runner")

    monkeypatch.setattr(verify_module, "Runner", NoRunner)
    again = verify(cards, cache=cache, strict=True)
    assert findings(again) == findings(report)
    ran = {c.id for c in cards if c.code is not None}
    assert all(v.cached for v in again.verdicts if v.card_id in ran)
    assert "tensorflow" not in sys.modules


def test_cli_warns_without_strict_and_fails_with_it(tmp_path, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)
    runner = CliRunner()
    args = ["verify", str(RULES.relative_to(Path.cwd())), "--cache-dir", str(tmp_path / "c")]
    plain = runner.invoke(main, args + ["--report", str(tmp_path / "r.json")])
    assert plain.exit_code == 0, plain.output
    assert ("warning: tests/data/strict/rules.yaml:11: card 'api-bad': [api] `tf.lite.Optimize.DEFALT` "
            "does not exist in TensorFlow 2.") in plain.output
    rows = {c["id"]: c for c in json.loads((tmp_path / "r.json").read_text())["cards"]}
    assert rows["api-good"]["findings"] == []
    assert rows["grounded-bad"]["findings"] == [
        {"rule": "grounded", "message": "the answer says `float64`, but the code's output does not show it"}]

    strict = runner.invoke(main, args + ["--strict", "--junit", str(tmp_path / "j.xml")])
    assert strict.exit_code == 1
    line = RULES.read_text().splitlines().index("  - id: grounded-bad") + 1
    assert f"FAILED tests/data/strict/rules.yaml:{line}: card 'grounded-bad': [grounded] the answer says" in strict.output
    assert f"{len(EXPECTED)} failed" in strict.output


@pytest.mark.parametrize("allow, words", [
    ('{gruonded: "x"}', "'allow' names an unknown rule 'gruonded' (did you mean 'grounded'?)"),
    ('{grounded: ""}', "'allow: grounded' needs a reason"),
    ("[grounded]", "'allow' must map rule names to reasons"),
])
def test_loader_rejects_bad_allow(write_cards, allow, words):
    root = write_cards({"t.yaml": f"topic: T\ncards:\n  - id: c\n    front: q\n    back: a\n    allow: {allow}\n"})
    with pytest.raises(CardErrors) as e:
        load_cards([root])
    assert words in str(e.value) and "t.yaml:6: card 'c'" in str(e.value)


def test_build_with_strict_writes_nothing(tmp_path, monkeypatch, write_cards):
    root = write_cards({"t.yaml": """
        topic: T
        cards:
          - id: c
            front: What dtype?
            back: "`float64`"
            code: print(tf.constant(1.0).dtype)
            output: "<dtype: 'float32'>"
        """})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["build", str(root), "--strict", "--out", "out"])
    assert result.exit_code == 1 and "[grounded]" in result.output
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())
    lenient = CliRunner().invoke(main, ["build", str(root), "--out", "out"])
    assert lenient.exit_code == 0 and "warning: cards/t.yaml:3: card 'c': [grounded]" in lenient.output


def _strict_run(tmp_path, monkeypatch, write_cards, text: str):
    root = write_cards({"t.yaml": text})
    monkeypatch.chdir(tmp_path)
    return CliRunner().invoke(main, ["verify", str(root), "--strict", "--cache-dir", str(tmp_path / "c")])


def test_a_name_whose_lookup_raises_is_a_finding_on_its_own_card_only(tmp_path, monkeypatch, write_cards):
    """Keras 3's lazy `tf.compat.v1.layers` raises ModuleNotFoundError from `dir()`: that used to end
    the whole lookup, and every card failed with "the lookup crashed"."""
    result = _strict_run(tmp_path, monkeypatch, write_cards, """
        topic: T
        cards:
          - id: legacy-dense
            front: Which TF1 function made a dense layer?
            back: "`tf.compat.v1.layers.dense`"
          - id: constant
            front: Which function makes a constant tensor?
            back: "`tf.constant`, or `tf.ones` for ones."
        """)
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert failed == ["FAILED cards/t.yaml:3: card 'legacy-dense': [api] `tf.compat.v1.layers.dense` does not "
                      f"exist in TensorFlow {tf_version(result)}: `dense` is not available with Keras 3."]
    assert "0 passed, 1 failed, 1 without code" in result.output


def tf_version(result) -> str:
    import re

    return re.search(r"\(TensorFlow (\d[\w.]*)", result.output).group(1)


def test_api_reads_a_prose_plural_of_a_real_name_as_that_name(tmp_path, monkeypatch, write_cards):
    result = _strict_run(tmp_path, monkeypatch, write_cards, """
        topic: T
        cards:
          - id: plural-prose
            front: When do tf.functions run eagerly?
            back: When `tf.config.run_functions_eagerly(True)` was called; tf.Variables still work.
          - id: plural-in-code
            front: Which call makes a tensor of ones?
            back: "`tf.oness`, like tf.constants in prose that are not a name either: tf.nothings."
        """)
    assert result.exit_code == 1, result.output
    assert "plural-prose" not in result.output
    assert "[api] `tf.nothings` does not exist" in result.output  # no `tf.nothing` either
    assert "`tf.oness` does not exist" in result.output  # in a code span: code, never a plural
    assert "tf.constants" not in result.output  # `tf.constant` exists


def test_grounded_accepts_an_argument_quoted_from_the_cards_own_code(tmp_path, monkeypatch, write_cards):
    result = _strict_run(tmp_path, monkeypatch, write_cards, """
        topic: T
        cards:
          - id: same-padding
            front: Which padding keeps a convolution's output size?
            back: '`"same"` padding, set as `name="conv"` does the name: `(1, 4, 4, 2)`.'
            code: |
              conv = tf.keras.layers.Conv2D(2, 3, padding = "same", name="conv")
              print(conv(tf.zeros([1, 4, 4, 1])).shape)
            output: (1, 4, 4, 2)
          - id: valid-padding
            front: Which padding shrinks a convolution's output?
            back: '`"valid"` padding: `(1, 2, 2, 2)`, as `name="conv"` says.'
            code: |
              conv = tf.keras.layers.Conv2D(2, 3, padding="same", name="other")
              print(conv(tf.zeros([1, 4, 4, 1])).shape)
            output: (1, 4, 4, 2)
        """)
    assert result.exit_code == 1, result.output
    assert "same-padding" not in result.output
    findings = [line for line in result.output.splitlines() if line.startswith(("FAILED", "    "))]
    assert "FAILED cards/t.yaml:10: card 'valid-padding': [grounded] the answer says `\"valid\"`" in findings[0]
    assert any("`name=\"conv\"`" in line for line in findings) and any("`(1, 2, 2, 2)`" in line for line in findings)
