"""`verify --update` rewrites exactly the stale values and not one other byte."""
from __future__ import annotations

from click.testing import CliRunner

from generator.cli import main

SOURCE = """\
# Tensors: the article's claims, corrected by --update.
topic: Tensors   # trailing comment
cards:
  - id: block-output   # a block scalar, followed by a blank line
    front: "What does `print(tf.constant(4))` show?"
    back: 'The value, shape and dtype.'
    code: |
      print(tf.constant(4))
    output: |
      tf.Tensor(4, size=(), dtype=int32)

  # a comment between cards
  - id: plain-output
    front: Sum?
    back: Two.
    code: print(1 + 1)
    output: 3
  - id: raises-message
    front: Float into an int variable?
    back: TypeError.
    code: |
      v = tf.Variable(1)
      v.assign(4.0)
    raises: 'TypeError: cannot convert 4.0 of dtype int32 to EagerTensor'
  - id: ellipsis-kept
    front: Unchanged
    back: Its ellipsis stays.
    code: print(tf.ones([2]))
    output: tf.Tensor(...)
  - id: multi-line
    front: Several lines
    back: yes
    code: |
      print(tf.constant([[1, 2], [3, 4]]))
    output: "wrong"
  - id: unfixable
    front: Raises unexpectedly
    back: no
    code: int("x")
    output: "1"
"""

UPDATED = (SOURCE
           .replace("tf.Tensor(4, size=(), dtype=int32)", "tf.Tensor(4, shape=(), dtype=int32)")
           .replace("    output: 3\n", "    output: \"2\"\n")
           .replace("'TypeError: cannot convert 4.0 of dtype int32 to EagerTensor'",
                    '"TypeError: Cannot convert 4.0 to EagerTensor of dtype int32"')
           .replace('    output: "wrong"\n', "    output: |\n      tf.Tensor(\n      [[1 2]\n       [3 4]],"
                                             " shape=(2, 2), dtype=int32)\n"))


def _deck(tmp_path, monkeypatch, text: str, name: str = "t.yaml"):
    """TEXT as cards/NAME, with the working directory at its project."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cards" / name
    path.parent.mkdir()
    path.write_text(text)
    return path


def test_update_rewrites_only_stale_values(tmp_path, monkeypatch):
    path = _deck(tmp_path, monkeypatch, SOURCE, "tensors.yaml")
    result = CliRunner().invoke(main, ["verify", "--update", "--no-cache"])
    assert path.read_bytes().decode() == UPDATED
    assert "updated cards/tensors.yaml:4: card 'block-output': output" in result.output
    assert "updated cards/tensors.yaml:13: card 'plain-output': output" in result.output
    assert "updated cards/tensors.yaml:18: card 'raises-message': raises" in result.output
    assert "ellipsis-kept" not in result.output
    assert "FAILED cards/tensors.yaml:39: card 'unfixable': raised ValueError" in result.output
    assert result.exit_code == 1  # one card could not be fixed by an update

    again = CliRunner().invoke(main, ["verify", "--no-cache"])
    assert "5 passed, 1 failed" in again.output
    assert not list(path.parent.glob(".*tmp")), "no temp file left behind"


def test_update_keeps_crlf_line_endings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.yaml"
    crlf = SOURCE.split("  # a comment between cards")[0].replace("\n", "\r\n")
    path.write_bytes(crlf.encode())
    CliRunner().invoke(main, ["verify", "--update", "--no-cache", str(path)])
    want = crlf.replace("tf.Tensor(4, size=(), dtype=int32)", "tf.Tensor(4, shape=(), dtype=int32)")
    assert path.read_bytes().decode() == want


def test_update_summary_counts_rewritten_cards_as_updated(tmp_path, monkeypatch):
    _deck(tmp_path, monkeypatch, SOURCE.split("  - id: unfixable")[0], "tensors.yaml")
    result = CliRunner().invoke(main, ["verify", "--update", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "updated 4 values of 4 cards in 1 file" in result.output
    assert "1 passed, 4 updated, 0 failed" in result.output


def test_update_with_nothing_to_rewrite_says_so(tmp_path, monkeypatch):
    _deck(tmp_path, monkeypatch, "topic: T\ncards:\n  - id: ok\n    front: q\n    back: a\n    code: print(1)\n    output: '1'\n")
    result = CliRunner().invoke(main, ["verify", "--update", "--no-cache"])
    assert result.exit_code == 0 and "updated 0 values of 0 cards in 0 files" in result.output and "1 passed" in result.output


def test_update_shows_a_refusal_when_nothing_else_changed(tmp_path, monkeypatch):
    source = ("topic: T\ncards:\n  - id: stopped-raising\n    front: q\n    back: a\n    code: print(1)\n"
              "    raises: ValueError\n")
    path = _deck(tmp_path, monkeypatch, source)
    result = CliRunner().invoke(main, ["verify", "--update", "--no-cache"])
    assert result.exit_code == 1
    assert "FAILED cards/t.yaml:3: card 'stopped-raising': nothing was raised" in result.output
    assert "no topic files" not in result.output and path.read_text() == source


def test_update_leaves_alone_what_matches_under_the_cards_rules(tmp_path, monkeypatch):
    source = ("topic: T\ntolerance: 1e-6\ncards:\n  - id: padded\n    front: q\n    back: a\n"
              "    code: print(np.array([4.0000001, 1.5], dtype=np.float32))\n"
              "    output: |\n      [4.        1.5      ]\n"
              "  - id: wrapped\n    front: q2\n    back: a\n    code: print(tf.constant([1, 2]))\n"
              "    output: |\n      tf.Tensor([1 2],\n                shape=(2,), dtype=int32)\n")
    path = _deck(tmp_path, monkeypatch, source)
    result = CliRunner().invoke(main, ["verify", "--update", "--no-cache"])
    assert result.exit_code == 0 and path.read_text() == source, result.output


STRICT = """\
topic: T
cards:
  - id: says-float64
    front: What dtype does a Python float become?
    back: "`float64`"
    code: print(tf.constant(1.0).dtype)
    output: "<dtype: 'float32'>"
  - id: stale-and-says-float64
    front: What dtype does a Python float become, again?
    back: "`float64`"
    code: print(tf.constant(2.0).dtype)
    output: "<dtype: 'float16'>"
  - id: stale-only
    front: What does a sum print?
    back: Two.
    code: print(1 + 1)
    output: "3"
"""


def test_update_with_strict_fails_and_reports_cards_that_break_a_strict_check(tmp_path, monkeypatch):
    """In update mode the strict failures were neither printed nor counted: CI went green."""
    _deck(tmp_path, monkeypatch, STRICT)
    result = CliRunner().invoke(main, ["verify", "--update", "--strict", "--no-cache"])
    assert result.exit_code == 1, result.output
    assert "updated cards/t.yaml:8: card 'stale-and-says-float64': output" in result.output
    assert "updated cards/t.yaml:13: card 'stale-only': output" in result.output
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert failed == ["FAILED cards/t.yaml:3: card 'says-float64': [grounded] the answer says `float64`, but the "
                      "code's output does not show it",
                      "FAILED cards/t.yaml:8: card 'stale-and-says-float64': [grounded] the answer says `float64`, "
                      "but the code's output does not show it"]
    assert "0 passed, 1 updated, 2 failed" in result.output

    lenient = CliRunner().invoke(main, ["verify", "--update", "--no-cache"])  # the same findings: warnings
    assert lenient.exit_code == 0, lenient.output
    assert "warning: cards/t.yaml:3: card 'says-float64': [grounded]" in lenient.output
    assert "3 passed, 0 failed" in lenient.output


def test_update_reuses_the_cached_runs_of_cards_that_pass(tmp_path, monkeypatch):
    _deck(tmp_path, monkeypatch, "topic: T\ncards:\n  - id: ok\n    front: q\n    back: a\n    code: print(1)\n    output: '1'\n"
          "  - id: stale\n    front: q2\n    back: a\n    code: print(2)\n    output: '3'\n")
    first = CliRunner().invoke(main, ["verify"])
    assert first.exit_code == 1 and "1 passed, 1 failed" in first.output and "cached" not in first.output
    result = CliRunner().invoke(main, ["verify", "--update"])
    assert result.exit_code == 0, result.output
    assert "updated cards/t.yaml:8: card 'stale': output" in result.output
    assert "1 passed, 1 updated, 0 failed" in result.output
    assert "1 cached, sandboxed)" in result.output  # 'ok' from the cache; 'stale' ran again before its rewrite
